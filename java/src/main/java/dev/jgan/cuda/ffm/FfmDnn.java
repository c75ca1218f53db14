package dev.jgan.cuda.ffm;

import dev.jgan.backend.DeviceException;
import dev.jgan.cuda.Dnn;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.jgan.cuda.ffm.NativeLibrary.call;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@link Dnn} through cuDNN bound with FFM: the legacy convolution API that cuDNN 8.9 and 9.x
 * both ship (libcudnn.so.8, or libcudnn.so.9's shim over libcudnn_cnn and libcudnn_ops), call for
 * call as the JNI CudnnDnn:
 * <ul>
 *   <li>one handle, bound to the backend's stream (cudnnSetStream) before any work;</li>
 *   <li>descriptors made once per distinct shape and kept; packed NCHW float tensors, filters
 *       (K, C, R, S), CUDNN_CROSS_CORRELATION in float, math type CUDNN_FMA_MATH (no TF32);</li>
 *   <li>alpha and beta host floats in a small off-heap segment of this adapter, read when the call
 *       is made (beta 0 does not read the output).</li>
 * </ul>
 * The enumerants jgan passes have the same values in 8.9 and 9.x (CUDNN_DATA_FLOAT 0,
 * CUDNN_TENSOR_NCHW 0, CUDNN_CROSS_CORRELATION 1, CUDNN_FMA_MATH 3, CUDNN_DETERMINISTIC 1, the
 * algorithm ids); the statuses do not, so every check goes through the {@link CudnnStatus} of the
 * major that cudnnGetVersion() reports. A failure reads "call failed: NAME", plus
 * cudnnGetErrorString's text where the library has it and it says more than the name.
 */
final class FfmDnn implements Dnn {
    /** cudnnDataType_t, cudnnTensorFormat_t, cudnnConvolutionMode_t, cudnnMathType_t, cudnnDeterminism_t (8.9 and 9.x alike). */
    private static final int DATA_FLOAT = 0, TENSOR_NCHW = 0, CROSS_CORRELATION = 1, FMA_MATH = 3, DETERMINISTIC = 1;

    /**
     * cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t, one layout for the three in 8.9
     * (cudnn_cnn_infer_v8.h) and 9.x (cudnn_cnn.h): {algo enum, cudnnStatus_t status, float time
     * (ms), size_t memory, cudnnDeterminism_t determinism, cudnnMathType_t mathType, int reserved[3]},
     * 48 bytes with the C compiler's padding (4 before memory, 4 at the end to the 8-byte alignment).
     */
    static final StructLayout PERF = MemoryLayout.structLayout(
            JAVA_INT.withName("algo"), JAVA_INT.withName("status"), JAVA_FLOAT.withName("time"), MemoryLayout.paddingLayout(4),
            JAVA_LONG.withName("memory"), JAVA_INT.withName("determinism"), JAVA_INT.withName("mathType"),
            MemoryLayout.sequenceLayout(3, JAVA_INT).withName("reserved"), MemoryLayout.paddingLayout(4));
    static final long PERF_ALGO = PERF.byteOffset(groupElement("algo")), PERF_STATUS = PERF.byteOffset(groupElement("status")),
            PERF_TIME = PERF.byteOffset(groupElement("time")), PERF_MEMORY = PERF.byteOffset(groupElement("memory")),
            PERF_DETERMINISM = PERF.byteOffset(groupElement("determinism"));

    /** The algorithm enumerants' names (cudnn_cnn_infer_v8.h / cudnn_cnn.h, the same ids in both), as JCudnn's stringFor gives them. */
    static final List<String> FORWARD_ALGOS = List.of("IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT",
            "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED").stream().map(n -> "CUDNN_CONVOLUTION_FWD_ALGO_" + n).toList();
    static final List<String> BACKWARD_DATA_ALGOS = List.of("0", "1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED")
            .stream().map(n -> "CUDNN_CONVOLUTION_BWD_DATA_ALGO_" + n).toList();
    static final List<String> BACKWARD_FILTER_ALGOS = List.of("0", "1", "FFT", "3", "WINOGRAD", "WINOGRAD_NONFUSED",
            "FFT_TILING").stream().map(n -> "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_" + n).toList();

    private static final MethodHandle
            L_ = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_LONG)),
            // cudnnGetErrorString(status): a static string, never blocks or calls back
            P_I = NativeLibrary.downcall(FunctionDescriptor.of(ADDRESS, JAVA_INT), Linker.Option.critical(false)),
            I_P = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS)),
            I_PP = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS)),
            I_PI = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT)),
            I_P6 = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT)),
            I_P8 = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                    JAVA_INT, JAVA_INT, JAVA_INT)),
            // cudnnGetConvolution*WorkspaceSize(handle, desc, desc, conv, desc, algo, size_t*)
            WORKSPACE = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS)),
            // cudnnConvolution*(handle, *alpha, desc, in0, desc, in1, conv, algo, workspace, bytes, *beta, desc, out)
            CONVOLUTION = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG,
                    ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG)),
            // cudnnFind*AlgorithmEx(handle, desc, in0, desc, in1, conv, desc, out, requested, *returned, perf*, workspace, bytes)
            FIND = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS,
                    ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG));

    private final NativeLibrary library;
    private final MemorySegment cudnnCreate, cudnnDestroy, cudnnSetStream, cudnnCreateTensorDescriptor, cudnnSetTensor4dDescriptor,
            cudnnDestroyTensorDescriptor, cudnnCreateFilterDescriptor, cudnnSetFilter4dDescriptor, cudnnDestroyFilterDescriptor,
            cudnnCreateConvolutionDescriptor, cudnnSetConvolution2dDescriptor, cudnnSetConvolutionMathType,
            cudnnDestroyConvolutionDescriptor, cudnnGetConvolutionForwardWorkspaceSize, cudnnGetConvolutionBackwardDataWorkspaceSize,
            cudnnGetConvolutionBackwardFilterWorkspaceSize, cudnnConvolutionForward, cudnnConvolutionBackwardData,
            cudnnConvolutionBackwardFilter, cudnnFindConvolutionForwardAlgorithmEx, cudnnFindConvolutionBackwardDataAlgorithmEx,
            cudnnFindConvolutionBackwardFilterAlgorithmEx;
    private final Optional<MemorySegment> cudnnGetErrorString;
    private final long version;
    private final CudnnStatus status;
    private final FfmContext context;
    /** Holds the scalars; made once the library and its symbols are found, closed with the adapter. */
    private final Arena arena;
    /** alpha and beta of the three convolution calls (host memory, read when called). */
    private final MemorySegment alphaScalar, betaScalar;
    private final MemorySegment handle;
    private final Map<TensorDesc, MemorySegment> tensors = new HashMap<>();
    private final Map<FilterDesc, MemorySegment> filters = new HashMap<>();
    private final Map<ConvDesc, MemorySegment> convs = new HashMap<>();

    /** Opens cuDNN at {@code location} (soname or path) on the launcher's stream. */
    FfmDnn(FfmLauncher launcher, String location) {
        library = NativeLibrary.open(location, "install cuDNN 9 or 8.9 (e.g. pip install nvidia-cudnn-cu12)");
        MemorySegment getVersion = library.function("cudnnGetVersion");
        cudnnCreate = library.function("cudnnCreate");
        cudnnDestroy = library.function("cudnnDestroy");
        cudnnSetStream = library.function("cudnnSetStream");
        cudnnCreateTensorDescriptor = library.function("cudnnCreateTensorDescriptor");
        cudnnSetTensor4dDescriptor = library.function("cudnnSetTensor4dDescriptor");
        cudnnDestroyTensorDescriptor = library.function("cudnnDestroyTensorDescriptor");
        cudnnCreateFilterDescriptor = library.function("cudnnCreateFilterDescriptor");
        cudnnSetFilter4dDescriptor = library.function("cudnnSetFilter4dDescriptor");
        cudnnDestroyFilterDescriptor = library.function("cudnnDestroyFilterDescriptor");
        cudnnCreateConvolutionDescriptor = library.function("cudnnCreateConvolutionDescriptor");
        cudnnSetConvolution2dDescriptor = library.function("cudnnSetConvolution2dDescriptor");
        cudnnSetConvolutionMathType = library.function("cudnnSetConvolutionMathType");
        cudnnDestroyConvolutionDescriptor = library.function("cudnnDestroyConvolutionDescriptor");
        cudnnGetConvolutionForwardWorkspaceSize = library.function("cudnnGetConvolutionForwardWorkspaceSize");
        cudnnGetConvolutionBackwardDataWorkspaceSize = library.function("cudnnGetConvolutionBackwardDataWorkspaceSize");
        cudnnGetConvolutionBackwardFilterWorkspaceSize = library.function("cudnnGetConvolutionBackwardFilterWorkspaceSize");
        cudnnConvolutionForward = library.function("cudnnConvolutionForward");
        cudnnConvolutionBackwardData = library.function("cudnnConvolutionBackwardData");
        cudnnConvolutionBackwardFilter = library.function("cudnnConvolutionBackwardFilter");
        cudnnFindConvolutionForwardAlgorithmEx = library.function("cudnnFindConvolutionForwardAlgorithmEx");
        cudnnFindConvolutionBackwardDataAlgorithmEx = library.function("cudnnFindConvolutionBackwardDataAlgorithmEx");
        cudnnFindConvolutionBackwardFilterAlgorithmEx = library.function("cudnnFindConvolutionBackwardFilterAlgorithmEx");
        cudnnGetErrorString = library.optionalFunction("cudnnGetErrorString");
        try {
            version = (long) L_.invokeExact(getVersion);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
        status = CudnnStatus.forVersion(version);
        this.context = launcher.context();
        context.makeCurrent();
        arena = Arena.ofShared();
        alphaScalar = arena.allocate(JAVA_FLOAT);
        betaScalar = arena.allocate(JAVA_FLOAT);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment h = a.allocate(ADDRESS);
            check("cudnnCreate", call(I_P, cudnnCreate, h));
            handle = h.get(ADDRESS, 0);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        try {
            // bound before any work, so that nothing runs on the NULL stream
            check("cudnnSetStream", call(I_PP, cudnnSetStream, handle, launcher.stream()));
        } catch (RuntimeException e) {
            call(I_P, cudnnDestroy, handle);
            arena.close();
            throw e;
        }
    }

    @Override public String describe() {
        return "cuDNN " + CudnnStatus.describeVersion(version) + " (ffm, " + library + ")";
    }

    /** The status table in use (the major cudnnGetVersion() reported). */
    CudnnStatus status() { return status; }

    @Override public int algorithmCount(Direction d) {
        return algorithmNames(d).size();
    }

    static List<String> algorithmNames(Direction d) {
        return switch (d) {
            case FORWARD -> FORWARD_ALGOS;
            case BACKWARD_DATA -> BACKWARD_DATA_ALGOS;
            case BACKWARD_FILTER -> BACKWARD_FILTER_ALGOS;
        };
    }

    @Override public long workspaceSize(Problem p, int algo) {
        Dnn.checkProblem("cudnnGetConvolutionWorkspaceSize", p);
        context.makeCurrent();
        MemorySegment x = tensor(p.x()), y = tensor(p.y()), w = filter(p.w()), c = conv(p.conv());
        try (Arena a = Arena.ofConfined()) {
            MemorySegment bytes = a.allocate(JAVA_LONG);
            int rc = switch (p.direction()) {
                case FORWARD -> workspace(cudnnGetConvolutionForwardWorkspaceSize, x, w, c, y, algo, bytes);
                case BACKWARD_DATA -> workspace(cudnnGetConvolutionBackwardDataWorkspaceSize, w, y, c, x, algo, bytes);
                case BACKWARD_FILTER -> workspace(cudnnGetConvolutionBackwardFilterWorkspaceSize, x, y, c, w, algo, bytes);
            };
            if (status.isNotSupported(rc)) return -1; // this algorithm cannot do this problem (9: any NOT_SUPPORTED_* sub-code)
            check("cudnnGetConvolutionWorkspaceSize(" + p + ", algo " + algo + ")", rc);
            return bytes.get(JAVA_LONG, 0);
        }
    }

    @Override public List<Algo> find(Problem p, long x, long w, long y, long workspace, long workspaceBytes) {
        Dnn.checkProblem("cudnnFindConvolutionAlgorithmEx", p);
        context.makeCurrent();
        String call = "cudnnFindConvolution" + switch (p.direction()) {
            case FORWARD -> "Forward";
            case BACKWARD_DATA -> "BackwardData";
            case BACKWARD_FILTER -> "BackwardFilter";
        } + "AlgorithmEx(" + p + ", workspace " + workspaceBytes + " bytes)";
        int count = algorithmCount(p.direction());
        List<String> names = algorithmNames(p.direction());
        long ws = workspaceBytes > 0 ? workspace : 0;
        List<Algo> out = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            // returnedAlgoCount is read only after the status says success, and bounded by the array
            MemorySegment returned = a.allocate(JAVA_INT), perf = a.allocate(PERF, count);
            returned.set(JAVA_INT, 0, 0);
            // find runs each algorithm that fits the workspace on these buffers, returns them fastest
            // first, and overwrites the output operand (y, dx or dw)
            int rc = switch (p.direction()) {
                case FORWARD -> find(cudnnFindConvolutionForwardAlgorithmEx, tensor(p.x()), x, filter(p.w()), w, conv(p.conv()),
                        tensor(p.y()), y, count, returned, perf, ws, workspaceBytes);
                case BACKWARD_DATA -> find(cudnnFindConvolutionBackwardDataAlgorithmEx, filter(p.w()), w, tensor(p.y()), y,
                        conv(p.conv()), tensor(p.x()), x, count, returned, perf, ws, workspaceBytes);
                case BACKWARD_FILTER -> find(cudnnFindConvolutionBackwardFilterAlgorithmEx, tensor(p.x()), x, tensor(p.y()), y,
                        conv(p.conv()), filter(p.w()), w, count, returned, perf, ws, workspaceBytes);
            };
            check(call, rc);
            int n = Math.min(returned.get(JAVA_INT, 0), count);
            for (int i = 0; i < n; i++) {
                long at = i * PERF.byteSize();
                int algo = perf.get(JAVA_INT, at + PERF_ALGO), st = perf.get(JAVA_INT, at + PERF_STATUS);
                String name = algo >= 0 && algo < names.size() ? names.get(algo) : "algorithm " + algo;
                if (st != CudnnStatus.SUCCESS) failed.add(name + " " + status.name(st));
                else out.add(new Algo(algo, name, perf.get(JAVA_LONG, at + PERF_MEMORY), perf.get(JAVA_FLOAT, at + PERF_TIME),
                        perf.get(JAVA_INT, at + PERF_DETERMINISM) == DETERMINISTIC));
            }
        }
        if (out.isEmpty())
            throw new DeviceException(call + ": no algorithm ran (" + (failed.isEmpty() ? "cuDNN returned none"
                    : String.join(", ", failed)) + ")");
        return out;
    }

    @Override public void forward(float alpha, TensorDesc xDesc, long x, FilterDesc wDesc, long w, ConvDesc conv, int algo,
                                  long workspace, long workspaceBytes, float beta, TensorDesc yDesc, long y) {
        Problem p = new Problem(Direction.FORWARD, xDesc, wDesc, conv, yDesc);
        Dnn.checkProblem("cudnnConvolutionForward", p);
        context.makeCurrent();
        int rc = convolution(cudnnConvolutionForward, alpha, tensor(xDesc), x, filter(wDesc), w, conv(conv), algo,
                workspace, workspaceBytes, beta, tensor(yDesc), y);
        if (rc != CudnnStatus.SUCCESS) check("cudnnConvolutionForward(" + p + ", algo " + algo + ")", rc);
    }

    @Override public void backwardData(float alpha, FilterDesc wDesc, long w, TensorDesc dyDesc, long dy, ConvDesc conv, int algo,
                                       long workspace, long workspaceBytes, float beta, TensorDesc dxDesc, long dx) {
        Problem p = new Problem(Direction.BACKWARD_DATA, dxDesc, wDesc, conv, dyDesc);
        Dnn.checkProblem("cudnnConvolutionBackwardData", p);
        context.makeCurrent();
        int rc = convolution(cudnnConvolutionBackwardData, alpha, filter(wDesc), w, tensor(dyDesc), dy, conv(conv), algo,
                workspace, workspaceBytes, beta, tensor(dxDesc), dx);
        if (rc != CudnnStatus.SUCCESS) check("cudnnConvolutionBackwardData(" + p + ", algo " + algo + ")", rc);
    }

    @Override public void backwardFilter(float alpha, TensorDesc xDesc, long x, TensorDesc dyDesc, long dy, ConvDesc conv, int algo,
                                         long workspace, long workspaceBytes, float beta, FilterDesc dwDesc, long dw) {
        Problem p = new Problem(Direction.BACKWARD_FILTER, xDesc, dwDesc, conv, dyDesc);
        Dnn.checkProblem("cudnnConvolutionBackwardFilter", p);
        context.makeCurrent();
        int rc = convolution(cudnnConvolutionBackwardFilter, alpha, tensor(xDesc), x, tensor(dyDesc), dy, conv(conv), algo,
                workspace, workspaceBytes, beta, filter(dwDesc), dw);
        if (rc != CudnnStatus.SUCCESS) check("cudnnConvolutionBackwardFilter(" + p + ", algo " + algo + ")", rc);
    }

    /** One of the three convolution calls: alpha and beta through the adapter's host scalars, no workspace pointer when it has no bytes. */
    private int convolution(MemorySegment f, float alpha, MemorySegment in0Desc, long in0, MemorySegment in1Desc, long in1,
                            MemorySegment conv, int algo, long workspace, long workspaceBytes, float beta, MemorySegment outDesc, long out) {
        alphaScalar.set(JAVA_FLOAT, 0, alpha);
        betaScalar.set(JAVA_FLOAT, 0, beta);
        try {
            return (int) CONVOLUTION.invokeExact(f, handle, alphaScalar, in0Desc, in0, in1Desc, in1, conv, algo,
                    workspaceBytes > 0 ? workspace : 0L, workspaceBytes, betaScalar, outDesc, out);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }

    private int workspace(MemorySegment f, MemorySegment d0, MemorySegment d1, MemorySegment conv, MemorySegment d2, int algo,
                          MemorySegment bytes) {
        try {
            return (int) WORKSPACE.invokeExact(f, handle, d0, d1, conv, d2, algo, bytes);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }

    private int find(MemorySegment f, MemorySegment d0, long in0, MemorySegment d1, long in1, MemorySegment conv, MemorySegment d2,
                     long out, int requested, MemorySegment returned, MemorySegment perf, long workspace, long workspaceBytes) {
        try {
            return (int) FIND.invokeExact(f, handle, d0, in0, d1, in1, conv, d2, out, requested, returned, perf, workspace, workspaceBytes);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }

    private MemorySegment tensor(TensorDesc d) {
        return tensors.computeIfAbsent(d, k -> {
            MemorySegment t = create("cudnnCreateTensorDescriptor", cudnnCreateTensorDescriptor);
            // packed NCHW float: strides (C H W, H W, W, 1)
            check("cudnnSetTensor4dDescriptor" + k, set6(cudnnSetTensor4dDescriptor, t, TENSOR_NCHW, DATA_FLOAT, k.n(), k.c(), k.h(), k.w()));
            return t;
        });
    }

    private MemorySegment filter(FilterDesc d) {
        return filters.computeIfAbsent(d, k -> {
            MemorySegment f = create("cudnnCreateFilterDescriptor", cudnnCreateFilterDescriptor);
            // NCHW for a filter is (K, C, R, S), packed; note the data type comes before the format here
            check("cudnnSetFilter4dDescriptor" + k, set6(cudnnSetFilter4dDescriptor, f, DATA_FLOAT, TENSOR_NCHW, k.k(), k.c(), k.r(), k.s()));
            return f;
        });
    }

    private MemorySegment conv(ConvDesc d) {
        return convs.computeIfAbsent(d, k -> {
            MemorySegment c = create("cudnnCreateConvolutionDescriptor", cudnnCreateConvolutionDescriptor);
            int rc;
            try {
                // CROSS_CORRELATION: no kernel flip, as PyTorch and the Backend contract
                rc = (int) I_P8.invokeExact(cudnnSetConvolution2dDescriptor, c, k.padH(), k.padW(), k.strideH(), k.strideW(),
                        k.dilationH(), k.dilationW(), CROSS_CORRELATION, DATA_FLOAT);
            } catch (Throwable t) {
                throw NativeLibrary.rethrow(t);
            }
            check("cudnnSetConvolution2dDescriptor(" + k + ")", rc);
            try {
                rc = (int) I_PI.invokeExact(cudnnSetConvolutionMathType, c, FMA_MATH);
            } catch (Throwable t) {
                throw NativeLibrary.rethrow(t);
            }
            check("cudnnSetConvolutionMathType", rc);
            return c;
        });
    }

    private MemorySegment create(String call, MemorySegment f) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check(call, call(I_P, f, out));
            return out.get(ADDRESS, 0);
        }
    }

    private static int set6(MemorySegment f, MemorySegment desc, int a, int b, int c, int d, int e, int g) {
        try {
            return (int) I_P6.invokeExact(f, desc, a, b, c, d, e, g);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }

    @Override public void close() {
        context.makeCurrent();
        try {
            for (MemorySegment t : tensors.values()) check("cudnnDestroyTensorDescriptor", call(I_P, cudnnDestroyTensorDescriptor, t));
            for (MemorySegment f : filters.values()) check("cudnnDestroyFilterDescriptor", call(I_P, cudnnDestroyFilterDescriptor, f));
            for (MemorySegment c : convs.values())
                check("cudnnDestroyConvolutionDescriptor", call(I_P, cudnnDestroyConvolutionDescriptor, c));
            tensors.clear();
            filters.clear();
            convs.clear();
            check("cudnnDestroy", call(I_P, cudnnDestroy, handle));
        } finally {
            arena.close();
        }
    }

    /** Throws the one-line failure unless {@code rc} is CUDNN_STATUS_SUCCESS. */
    private void check(String call, int rc) {
        if (rc != CudnnStatus.SUCCESS) throw new DeviceException(call + " failed: " + describeStatus(rc));
    }

    /** The status's name in this major's table, and cudnnGetErrorString's text when the library has it and it differs. */
    String describeStatus(int rc) {
        String name = status.name(rc);
        if (cudnnGetErrorString.isEmpty()) return name;
        try {
            MemorySegment s = (MemorySegment) P_I.invokeExact(cudnnGetErrorString.get(), rc);
            String text = s.equals(MemorySegment.NULL) ? "" : s.reinterpret(Long.MAX_VALUE).getString(0);
            return text.isEmpty() || text.equals(name) ? name : name + " (" + text + ")";
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }
}
