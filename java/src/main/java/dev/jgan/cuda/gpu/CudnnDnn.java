package dev.jgan.cuda.gpu;

import dev.jgan.backend.DeviceException;
import dev.jgan.cuda.Dnn;
import jcuda.Pointer;
import jcuda.driver.CUstream;
import jcuda.jcudnn.JCudnn;
import jcuda.jcudnn.cudnnConvolutionBwdDataAlgo;
import jcuda.jcudnn.cudnnConvolutionBwdDataAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionBwdFilterAlgo;
import jcuda.jcudnn.cudnnConvolutionBwdFilterAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionDescriptor;
import jcuda.jcudnn.cudnnConvolutionFwdAlgo;
import jcuda.jcudnn.cudnnConvolutionFwdAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionMode;
import jcuda.jcudnn.cudnnDataType;
import jcuda.jcudnn.cudnnDeterminism;
import jcuda.jcudnn.cudnnFilterDescriptor;
import jcuda.jcudnn.cudnnHandle;
import jcuda.jcudnn.cudnnMathType;
import jcuda.jcudnn.cudnnStatus;
import jcuda.jcudnn.cudnnTensorDescriptor;
import jcuda.jcudnn.cudnnTensorFormat;
import jcuda.runtime.cudaStream_t;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.jgan.cuda.gpu.CudaMemory.at;

/**
 * {@link Dnn} on a GPU: cuDNN 8.9 (libcudnn.so.8) through JCudnn. Only a GPU runs this.
 * <ul>
 *   <li>One handle, bound to the backend's stream (cudnnSetStream).</li>
 *   <li>Descriptors are made once per distinct shape and kept (the records are the keys).</li>
 *   <li>Convolution descriptors: CUDNN_CROSS_CORRELATION, float compute, math type
 *       CUDNN_FMA_MATH: cuDNN 8's default allows TF32 tensor cores on Ampere and Hopper, which
 *       rounds inputs to 10 mantissa bits; FMA keeps full FP32, as the CPU backend.</li>
 *   <li>alpha and beta are host floats (the pointer mode of cuDNN for float data): out = alpha
 *       result + beta out; beta 0 does not read out.</li>
 * </ul>
 */
final class CudnnDnn implements Dnn {
    private final cudnnHandle handle = new cudnnHandle();
    private final Map<TensorDesc, cudnnTensorDescriptor> tensors = new HashMap<>();
    private final Map<FilterDesc, cudnnFilterDescriptor> filters = new HashMap<>();
    private final Map<ConvDesc, cudnnConvolutionDescriptor> convs = new HashMap<>();
    private final CudaContext context;

    CudnnDnn(CudaLauncher launcher) {
        this(launcher.context(), launcher.stream());
    }

    private CudnnDnn(CudaContext context, CUstream stream) {
        this.context = context;
        context.makeCurrent();
        Checked.cudnn("cudnnCreate", () -> JCudnn.cudnnCreate(handle));
        try {
            // bound before any work, so that nothing runs on the NULL stream
            Checked.cudnn("cudnnSetStream", () -> JCudnn.cudnnSetStream(handle, new cudaStream_t(stream)));
        } catch (RuntimeException e) {
            JCudnn.cudnnDestroy(handle);
            throw e;
        }
    }

    @Override public String describe() {
        long v = JCudnn.cudnnGetVersion(); // cuDNN 8: major * 1000 + minor * 100 + patch
        return "cuDNN " + v / 1000 + "." + v / 100 % 10 + "." + v % 100 + " (jni: JCudnn)";
    }

    @Override public int algorithmCount(Direction d) {
        return switch (d) {
            case FORWARD -> cudnnConvolutionFwdAlgo.CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
            case BACKWARD_DATA -> cudnnConvolutionBwdDataAlgo.CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
            case BACKWARD_FILTER -> cudnnConvolutionBwdFilterAlgo.CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
        };
    }

    @Override public long workspaceSize(Problem p, int algo) {
        Dnn.checkProblem("cudnnGetConvolutionWorkspaceSize", p);
        context.makeCurrent();
        long[] bytes = new long[1];
        cudnnTensorDescriptor x = tensor(p.x()), y = tensor(p.y());
        cudnnFilterDescriptor w = filter(p.w());
        cudnnConvolutionDescriptor c = conv(p.conv());
        int rc = switch (p.direction()) {
            case FORWARD -> JCudnn.cudnnGetConvolutionForwardWorkspaceSize(handle, x, w, c, y, algo, bytes);
            case BACKWARD_DATA -> JCudnn.cudnnGetConvolutionBackwardDataWorkspaceSize(handle, w, y, c, x, algo, bytes);
            case BACKWARD_FILTER -> JCudnn.cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, x, y, c, w, algo, bytes);
        };
        if (rc == cudnnStatus.CUDNN_STATUS_NOT_SUPPORTED) return -1; // this algorithm cannot do this problem
        Checked.cudnn("cudnnGetConvolutionWorkspaceSize(" + p + ", algo " + algo + ")", () -> rc);
        return bytes[0];
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
        // JCudnn copies returnedAlgoCount back even when cuDNN fails, and cuDNN does not write it
        // then: the count is initialised, read only after the status says success, and bounded by
        // the array (cuDNN documents it as at most requestedAlgoCount)
        int[] returned = {0};
        Pointer ws = workspaceBytes > 0 ? at(workspace) : null;
        List<Algo> out = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        // find runs each algorithm that fits the workspace on these buffers, returns them fastest
        // first (perf[i].status per algorithm, perf[i].determinism CUDNN_DETERMINISTIC or
        // CUDNN_NON_DETERMINISTIC), and overwrites the output operand (y, dx or dw)
        switch (p.direction()) {
            case FORWARD -> {
                cudnnConvolutionFwdAlgoPerf[] perf = new cudnnConvolutionFwdAlgoPerf[count];
                for (int i = 0; i < count; i++) perf[i] = new cudnnConvolutionFwdAlgoPerf();
                int rc = JCudnn.cudnnFindConvolutionForwardAlgorithmEx(handle, tensor(p.x()), at(x), filter(p.w()),
                        at(w), conv(p.conv()), tensor(p.y()), at(y), count, returned, perf, ws, workspaceBytes);
                Checked.cudnn(call, () -> rc);
                for (int i = 0; i < Math.min(returned[0], count); i++) {
                    String name = cudnnConvolutionFwdAlgo.stringFor(perf[i].algo);
                    if (perf[i].status != cudnnStatus.CUDNN_STATUS_SUCCESS) failed.add(name + " " + cudnnStatus.stringFor(perf[i].status));
                    else out.add(new Algo(perf[i].algo, name, perf[i].memory, perf[i].time, deterministic(perf[i].determinism)));
                }
            }
            case BACKWARD_DATA -> {
                cudnnConvolutionBwdDataAlgoPerf[] perf = new cudnnConvolutionBwdDataAlgoPerf[count];
                for (int i = 0; i < count; i++) perf[i] = new cudnnConvolutionBwdDataAlgoPerf();
                int rc = JCudnn.cudnnFindConvolutionBackwardDataAlgorithmEx(handle, filter(p.w()), at(w), tensor(p.y()),
                        at(y), conv(p.conv()), tensor(p.x()), at(x), count, returned, perf, ws, workspaceBytes);
                Checked.cudnn(call, () -> rc);
                for (int i = 0; i < Math.min(returned[0], count); i++) {
                    String name = cudnnConvolutionBwdDataAlgo.stringFor(perf[i].algo);
                    if (perf[i].status != cudnnStatus.CUDNN_STATUS_SUCCESS) failed.add(name + " " + cudnnStatus.stringFor(perf[i].status));
                    else out.add(new Algo(perf[i].algo, name, perf[i].memory, perf[i].time, deterministic(perf[i].determinism)));
                }
            }
            case BACKWARD_FILTER -> {
                cudnnConvolutionBwdFilterAlgoPerf[] perf = new cudnnConvolutionBwdFilterAlgoPerf[count];
                for (int i = 0; i < count; i++) perf[i] = new cudnnConvolutionBwdFilterAlgoPerf();
                int rc = JCudnn.cudnnFindConvolutionBackwardFilterAlgorithmEx(handle, tensor(p.x()), at(x), tensor(p.y()),
                        at(y), conv(p.conv()), filter(p.w()), at(w), count, returned, perf, ws, workspaceBytes);
                Checked.cudnn(call, () -> rc);
                for (int i = 0; i < Math.min(returned[0], count); i++) {
                    String name = cudnnConvolutionBwdFilterAlgo.stringFor(perf[i].algo);
                    if (perf[i].status != cudnnStatus.CUDNN_STATUS_SUCCESS) failed.add(name + " " + cudnnStatus.stringFor(perf[i].status));
                    else out.add(new Algo(perf[i].algo, name, perf[i].memory, perf[i].time, deterministic(perf[i].determinism)));
                }
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
        Checked.cudnn("cudnnConvolutionForward(" + p + ", algo " + algo + ")", () -> JCudnn.cudnnConvolutionForward(handle,
                Pointer.to(new float[] {alpha}), tensor(xDesc), at(x), filter(wDesc), at(w), conv(conv), algo,
                workspaceBytes > 0 ? at(workspace) : null, workspaceBytes, Pointer.to(new float[] {beta}), tensor(yDesc), at(y)));
    }

    @Override public void backwardData(float alpha, FilterDesc wDesc, long w, TensorDesc dyDesc, long dy, ConvDesc conv, int algo,
                                       long workspace, long workspaceBytes, float beta, TensorDesc dxDesc, long dx) {
        Problem p = new Problem(Direction.BACKWARD_DATA, dxDesc, wDesc, conv, dyDesc);
        Dnn.checkProblem("cudnnConvolutionBackwardData", p);
        context.makeCurrent();
        Checked.cudnn("cudnnConvolutionBackwardData(" + p + ", algo " + algo + ")", () -> JCudnn.cudnnConvolutionBackwardData(handle,
                Pointer.to(new float[] {alpha}), filter(wDesc), at(w), tensor(dyDesc), at(dy), conv(conv), algo,
                workspaceBytes > 0 ? at(workspace) : null, workspaceBytes, Pointer.to(new float[] {beta}), tensor(dxDesc), at(dx)));
    }

    @Override public void backwardFilter(float alpha, TensorDesc xDesc, long x, TensorDesc dyDesc, long dy, ConvDesc conv, int algo,
                                         long workspace, long workspaceBytes, float beta, FilterDesc dwDesc, long dw) {
        Problem p = new Problem(Direction.BACKWARD_FILTER, xDesc, dwDesc, conv, dyDesc);
        Dnn.checkProblem("cudnnConvolutionBackwardFilter", p);
        context.makeCurrent();
        Checked.cudnn("cudnnConvolutionBackwardFilter(" + p + ", algo " + algo + ")", () -> JCudnn.cudnnConvolutionBackwardFilter(handle,
                Pointer.to(new float[] {alpha}), tensor(xDesc), at(x), tensor(dyDesc), at(dy), conv(conv), algo,
                workspaceBytes > 0 ? at(workspace) : null, workspaceBytes, Pointer.to(new float[] {beta}), filter(dwDesc), at(dw)));
    }

    /** perf.determinism: CUDNN_DETERMINISTIC (1) or CUDNN_NON_DETERMINISTIC (0) (cudnnDeterminism_t). */
    static boolean deterministic(int determinism) {
        return determinism == cudnnDeterminism.CUDNN_DETERMINISTIC;
    }

    private cudnnTensorDescriptor tensor(TensorDesc d) {
        return tensors.computeIfAbsent(d, k -> {
            cudnnTensorDescriptor t = new cudnnTensorDescriptor();
            Checked.cudnn("cudnnCreateTensorDescriptor", () -> JCudnn.cudnnCreateTensorDescriptor(t));
            // packed NCHW float: strides (C H W, H W, W, 1)
            Checked.cudnn("cudnnSetTensor4dDescriptor" + k, () -> JCudnn.cudnnSetTensor4dDescriptor(t, cudnnTensorFormat.CUDNN_TENSOR_NCHW,
                    cudnnDataType.CUDNN_DATA_FLOAT, k.n(), k.c(), k.h(), k.w()));
            return t;
        });
    }

    private cudnnFilterDescriptor filter(FilterDesc d) {
        return filters.computeIfAbsent(d, k -> {
            cudnnFilterDescriptor f = new cudnnFilterDescriptor();
            Checked.cudnn("cudnnCreateFilterDescriptor", () -> JCudnn.cudnnCreateFilterDescriptor(f));
            // NCHW for a filter is (K, C, R, S), packed
            Checked.cudnn("cudnnSetFilter4dDescriptor" + k, () -> JCudnn.cudnnSetFilter4dDescriptor(f, cudnnDataType.CUDNN_DATA_FLOAT,
                    cudnnTensorFormat.CUDNN_TENSOR_NCHW, k.k(), k.c(), k.r(), k.s()));
            return f;
        });
    }

    private cudnnConvolutionDescriptor conv(ConvDesc d) {
        return convs.computeIfAbsent(d, k -> {
            cudnnConvolutionDescriptor c = new cudnnConvolutionDescriptor();
            Checked.cudnn("cudnnCreateConvolutionDescriptor", () -> JCudnn.cudnnCreateConvolutionDescriptor(c));
            // CROSS_CORRELATION: no kernel flip, as PyTorch and the Backend contract
            Checked.cudnn("cudnnSetConvolution2dDescriptor(" + k + ")", () -> JCudnn.cudnnSetConvolution2dDescriptor(c, k.padH(), k.padW(),
                    k.strideH(), k.strideW(), k.dilationH(), k.dilationW(), cudnnConvolutionMode.CUDNN_CROSS_CORRELATION,
                    cudnnDataType.CUDNN_DATA_FLOAT));
            Checked.cudnn("cudnnSetConvolutionMathType", () -> JCudnn.cudnnSetConvolutionMathType(c, cudnnMathType.CUDNN_FMA_MATH));
            return c;
        });
    }

    @Override public void close() {
        context.makeCurrent();
        for (cudnnTensorDescriptor t : tensors.values()) Checked.cudnn("cudnnDestroyTensorDescriptor", () -> JCudnn.cudnnDestroyTensorDescriptor(t));
        for (cudnnFilterDescriptor f : filters.values()) Checked.cudnn("cudnnDestroyFilterDescriptor", () -> JCudnn.cudnnDestroyFilterDescriptor(f));
        for (cudnnConvolutionDescriptor c : convs.values())
            Checked.cudnn("cudnnDestroyConvolutionDescriptor", () -> JCudnn.cudnnDestroyConvolutionDescriptor(c));
        tensors.clear();
        filters.clear();
        convs.clear();
        Checked.cudnn("cudnnDestroy", () -> JCudnn.cudnnDestroy(handle));
    }
}
