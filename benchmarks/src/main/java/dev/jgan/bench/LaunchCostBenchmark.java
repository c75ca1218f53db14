package dev.jgan.bench;

import dev.jgan.backend.Backend;
import dev.jgan.cuda.CudaBackend;
import dev.jgan.cuda.KernelImages;
import dev.jgan.cuda.ffm.FfmDevice;
import dev.jgan.cuda.gpu.GpuDevice;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The host cost of one kernel launch, on the virtual GPU (native/vgpu: host stand-ins for
 * libcuda.so.1, libcublas.so.12 and libcudnn.so.8, loaded by {@code dev.jgan.cuda.gpu.VirtualGpu.install()}
 * before JCuda's classes). Two benchmarks over the same kernel ({@code relu_forward}, one block of
 * 256 threads) on a tiny tensor, each {@value #BURST} launches, reported per launch, for each
 * {@link #binding} (jni: JCuda; ffm: java.lang.foreign, dev.jgan.cuda.ffm):
 * <ul>
 *   <li>{@code jgan}: {@link Backend#relu} through CudaBackend, Kernels (argument checks, packing)
 *       and the binding's launcher (CudaLauncher or FfmLauncher: kernelParams, cuLaunchKernel);</li>
 *   <li>{@code raw}: cuLaunchKernel of the same kernel with kernelParams built once, through the
 *       same binding (a JCuda call, or one downcall of a static final FFM handle): the stand-in's
 *       own cost of taking a launch (the binding's transition, copying the parameters, queueing).</li>
 * </ul>
 * {@code jgan - raw} is jgan's host cost per launch; {@code raw(jni) - raw(ffm)} what the binding
 * itself costs more or less. A third, {@code gemm}, is a cuBLAS call's host path through jgan
 * (Backend.gemm of 2 x 2 matrices), for each binding. The virtual GPU runs the kernels themselves on
 * the host (tens of microseconds for 256 emulated threads), which would hide the host path behind
 * the stream's worker, so it runs with the lazy schedule (queued work runs only when the host
 * waits) and the stream is synchronised after every burst in an untimed {@code Level.Invocation}
 * teardown: the time is the host's alone, and the queue stays {@value #BURST} launches short.
 *
 * <p>Without the virtual GPU built (no native/vgpu libraries on the class path, or no
 * VirtualGpu class) the setup fails with one line saying so, and JMH skips the benchmark.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar LaunchCost -rf json -rff launch.json}
 * (add {@code -prof gc} for the bytes allocated per launch).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
// 5 x 1 s warm-up: a burst is some tens of microseconds, so C2 has compiled the launch path after a few thousand.
@Warmup(iterations = 5, time = 1)
// 5 x 1 s measured: tens of thousands of launches per iteration.
@Measurement(iterations = 5, time = 1)
// One fork, as the launcher runs the JVM; the virtual GPU's worker thread shares the 2 cores.
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class LaunchCostBenchmark {
    /** Launches between two stream synchronisations. */
    static final int BURST = 64;
    private static final String KERNEL = "relu_forward";

    /** Elements of the tensor: one block of 256 threads, so the kernel itself is as cheap as it gets. */
    @Param({"256"})
    public int elements;

    /** The CUDA binding under test: JCuda's JNI, or the FFM adapters. */
    @Param({"jni", "ffm"})
    public String binding;

    private Backend b;
    private Tensor x, y;
    /** 2 x 2 operands of the cuBLAS call ({@link #gemm}): C = A B, so that cuBLAS's own work is nothing. */
    private Tensor ga, gb, gc;

    private CUmodule module;
    private CUfunction function;
    private CUstream stream;
    private Address rawX, rawY;
    private Pointer rawParams;
    private ByteBuffer rawValues, rawAddresses; // kept reachable: rawParams points into them
    private RawFfm rawFfm;

    @Setup(Level.Trial)
    public void setUp() {
        installVirtualGpu();
        lazySchedule();
        b = switch (binding) {
            case "jni" -> GpuDevice.open(0, CudaBackend.DEFAULT_WORKSPACE_LIMIT);
            case "ffm" -> FfmDevice.open(0, CudaBackend.DEFAULT_WORKSPACE_LIMIT, false, new FfmDevice.Libraries(
                    virtualGpuLibrary("libcuda.so.1"), virtualGpuLibrary("libcublas.so.12"), virtualGpuLibrary("libcudnn.so.8")));
            default -> throw new IllegalArgumentException("launch-cost benchmark: binding " + binding + " is not jni or ffm");
        };
        Shape s = Shape.of(elements);
        float[] hx = new float[elements];
        for (int i = 0; i < elements; i++) hx[i] = i % 2 == 0 ? i : -i;
        x = b.fromHost(hx, s);
        y = b.allocate(s);
        jgan();
        b.synchronize();
        float[] hy = new float[elements];
        b.toHost(y, hy);
        for (int i = 0; i < elements; i++) check("jgan relu y[" + i + "]", hy[i], Math.max(hx[i], 0f));
        ga = b.fromHost(new float[] {1, 2, 3, 4}, Shape.of(2, 2));
        gb = b.fromHost(new float[] {5, 6, 7, 8}, Shape.of(2, 2));
        gc = b.allocate(Shape.of(2, 2));
        gemm();
        b.synchronize();
        float[] hc = new float[4];
        b.toHost(gc, hc);
        float[] expected = {19, 22, 43, 50}; // [[1, 2], [3, 4]] [[5, 6], [7, 8]]
        for (int i = 0; i < 4; i++) check("jgan gemm c[" + i + "]", hc[i], expected[i]);

        // the same kernel with everything built once: module, function, stream, buffers, kernelParams
        byte[] image = KernelImages.fatbin().orElseThrow(() -> new IllegalStateException(
                "launch-cost benchmark: jgan's kernels are not built into this jar (needs nvcc at build time)"));
        if (binding.equals("ffm")) {
            rawFfm = new RawFfm(virtualGpuLibrary("libcuda.so.1"), image, elements);
            raw();
            drain();
            float[] rawY = rawFfm.y();
            for (int i = 0; i < elements; i++) check("raw ffm relu y[" + i + "]", rawY[i], 2f);
            return;
        }
        module = new CUmodule();
        JCudaDriver.cuModuleLoadData(module, image);
        function = new CUfunction();
        JCudaDriver.cuModuleGetFunction(function, module, KERNEL);
        stream = new CUstream();
        JCudaDriver.cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING);
        rawX = new Address();
        rawY = new Address();
        JCudaDriver.cuMemAlloc(rawX, 4L * elements);
        JCudaDriver.cuMemAlloc(rawY, 4L * elements);
        JCudaDriver.cuMemsetD32Async(rawX, Float.floatToRawIntBits(2f), elements, stream);
        // relu_forward(const float* x, float* y, int64_t n)
        // as jgan's launcher passes them (a Pointer to a direct buffer of the arguments' native
        // addresses, which JCuda hands over as void** without converting anything per call):
        // Pointer.to(Pointer...) instead would make JCuda's JNI convert the nested pointers on
        // every launch, which is not the stand-in's cost
        rawValues = ByteBuffer.allocateDirect(24).order(ByteOrder.nativeOrder());
        rawValues.putLong(0, rawX.value()).putLong(8, rawY.value()).putLong(16, elements);
        long base = java.lang.foreign.MemorySegment.ofBuffer(rawValues).address();
        rawAddresses = ByteBuffer.allocateDirect(24).order(ByteOrder.nativeOrder());
        rawAddresses.putLong(0, base).putLong(8, base + 8).putLong(16, base + 16);
        rawParams = Pointer.to(rawAddresses);
        raw();
        drain();
        ByteBuffer out = ByteBuffer.allocateDirect(4 * elements).order(ByteOrder.nativeOrder());
        JCudaDriver.cuMemcpyDtoHAsync(Pointer.to(out), rawY, 4L * elements, stream);
        JCudaDriver.cuStreamSynchronize(stream);
        for (int i = 0; i < elements; i++) check("raw relu y[" + i + "]", out.getFloat(4 * i), 2f);
    }

    /** A CUdeviceptr that cuMemAlloc fills, and its numeric address. */
    private static final class Address extends CUdeviceptr {
        long value() { return getNativePointer() + getByteOffset(); }
    }

    /** jgan's whole host path: CudaBackend.relu, Kernels, CudaLauncher, cuLaunchKernel. */
    @Benchmark
    @OperationsPerInvocation(BURST)
    public void jgan() {
        for (int i = 0; i < BURST; i++) b.relu(x, y);
    }

    /**
     * A cuBLAS call's host path through jgan: Backend.gemm of 2 x 2 matrices (CudaBackend's checks,
     * the row-major translation, the binding's Blas: JCublas2.cublasSgemm or the cublasSgemm_v2
     * downcall with alpha and beta in host memory), queued on the stream.
     */
    @Benchmark
    @OperationsPerInvocation(BURST)
    public void gemm() {
        for (int i = 0; i < BURST; i++) b.gemm(false, false, 2, 2, 2, 1f, ga, gb, 0f, gc);
    }

    /** The stand-in's own cost: cuLaunchKernel with kernelParams built once. */
    @Benchmark
    @OperationsPerInvocation(BURST)
    public void raw() {
        if (rawFfm != null) {
            for (int i = 0; i < BURST; i++) rawFfm.launch();
            return;
        }
        for (int i = 0; i < BURST; i++)
            JCudaDriver.cuLaunchKernel(function, 1, 1, 1, 256, 1, 1, 0, stream, rawParams, null);
    }

    /** Runs the burst just queued (untimed), so the next burst starts with empty queues. */
    @TearDown(Level.Invocation)
    public void drain() {
        b.synchronize();
        if (rawFfm != null) rawFfm.synchronize();
        else JCudaDriver.cuStreamSynchronize(stream);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (rawFfm != null) rawFfm.close();
        if (stream != null) {
            JCudaDriver.cuStreamSynchronize(stream);
            JCudaDriver.cuMemFree(rawX);
            JCudaDriver.cuMemFree(rawY);
            JCudaDriver.cuStreamDestroy(stream);
            JCudaDriver.cuModuleUnload(module);
        }
        if (b != null) b.close();
    }

    /** The absolute path of a virtual-GPU stand-in (VirtualGpu.directory(), found by name like install()). */
    private static String virtualGpuLibrary(String soname) {
        try {
            Object dir = ((java.util.Optional<?>) Class.forName("dev.jgan.cuda.gpu.VirtualGpu").getMethod("directory").invoke(null)).orElseThrow();
            return ((Path) dir).resolve(soname).toString();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("launch-cost benchmark: cannot find the virtual GPU's folder: " + e, e);
        }
    }

    /**
     * The raw launch through FFM: the same kernel, module, stream and buffers as the JCuda raw one,
     * made with the driver's own entry points; cuLaunchKernel is a static final downcall handle taking
     * the function's address first (as dev.jgan.cuda.ffm binds it), kernelParams built once.
     */
    private static final class RawFfm {
        private static final Linker LINKER = Linker.nativeLinker();
        private static final MethodHandle LAUNCH = LINKER.downcallHandle(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        /** cuStreamSynchronize, run by every drain: a constant handle too, so the drain allocates nothing the gc profiler would count. */
        private static final MethodHandle SYNCHRONIZE = LINKER.downcallHandle(FunctionDescriptor.of(JAVA_INT, ADDRESS));
        /** cuMemFree_v2(CUdeviceptr). */
        private static final MethodHandle FREE = LINKER.downcallHandle(FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        private final Arena arena = Arena.ofShared();
        private final SymbolLookup cuda;
        private final MemorySegment cuLaunchKernel, cuStreamSynchronize, function, stream, params, module;
        private final long x, y;
        private final int elements;

        RawFfm(String driver, byte[] image, int elements) {
            this.elements = elements;
            cuda = SymbolLookup.libraryLookup(Path.of(driver), Arena.global());
            cuLaunchKernel = cuda.findOrThrow("cuLaunchKernel");
            cuStreamSynchronize = cuda.findOrThrow("cuStreamSynchronize");
            MemorySegment out = arena.allocate(JAVA_LONG);
            call("cuModuleLoadData", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), out, arena.allocateFrom(JAVA_BYTE, image));
            module = out.get(ADDRESS, 0);
            call("cuModuleGetFunction", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS), out, module, arena.allocateFrom(KERNEL));
            function = out.get(ADDRESS, 0);
            call("cuStreamCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), out, 1); // CU_STREAM_NON_BLOCKING
            stream = out.get(ADDRESS, 0);
            call("cuMemAlloc_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), out, 4L * elements);
            x = out.get(JAVA_LONG, 0);
            call("cuMemAlloc_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), out, 4L * elements);
            y = out.get(JAVA_LONG, 0);
            call("cuMemsetD32Async", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS), x,
                    Float.floatToRawIntBits(2f), (long) elements, stream);
            // relu_forward(const float* x, float* y, int64_t n): the values once, and the void** pointing at them
            MemorySegment values = arena.allocate(24, 8);
            values.set(JAVA_LONG, 0, x);
            values.set(JAVA_LONG, 8, y);
            values.set(JAVA_LONG, 16, elements);
            params = arena.allocate(JAVA_LONG, 3);
            for (int i = 0; i < 3; i++) params.setAtIndex(JAVA_LONG, i, values.address() + 8L * i);
        }

        private final java.util.Map<String, MethodHandle> handles = new java.util.HashMap<>();

        private MethodHandle handle(String name, FunctionDescriptor d) {
            return handles.computeIfAbsent(name, n -> LINKER.downcallHandle(cuda.findOrThrow(n), d));
        }

        void launch() {
            int rc;
            try {
                rc = (int) LAUNCH.invokeExact(cuLaunchKernel, function, 1, 1, 1, 256, 1, 1, 0, stream, params, MemorySegment.NULL);
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
            if (rc != 0) throw new IllegalStateException("raw ffm cuLaunchKernel failed: CUresult " + rc);
        }

        void synchronize() {
            int rc;
            try {
                rc = (int) SYNCHRONIZE.invokeExact(cuStreamSynchronize, stream);
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
            if (rc != 0) throw new IllegalStateException("raw ffm cuStreamSynchronize failed: CUresult " + rc);
        }

        float[] y() {
            MemorySegment host = arena.allocate(JAVA_FLOAT, elements);
            call("cuMemcpyDtoHAsync_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS), host, y, 4L * elements, stream);
            synchronize();
            return host.toArray(JAVA_FLOAT);
        }

        /** Exact invocations of constant handles: the gc profiler counts this trial teardown into the last iteration. */
        void close() {
            synchronize();
            try {
                int rc = (int) FREE.invokeExact(cuda.findOrThrow("cuMemFree_v2"), x) | (int) FREE.invokeExact(cuda.findOrThrow("cuMemFree_v2"), y)
                        | (int) SYNCHRONIZE.invokeExact(cuda.findOrThrow("cuStreamDestroy_v2"), stream)
                        | (int) SYNCHRONIZE.invokeExact(cuda.findOrThrow("cuModuleUnload"), module);
                if (rc != 0) throw new IllegalStateException("raw ffm teardown failed: CUresult bits " + rc);
            } catch (Throwable t) {
                throw new IllegalStateException("raw ffm teardown: " + t, t);
            }
            arena.close();
        }

        /** A setup call (not timed), the status checked. */
        private void call(String name, FunctionDescriptor d, Object... args) {
            int rc;
            try {
                rc = (int) handle(name, d).invokeWithArguments(args);
            } catch (Throwable t) {
                throw new IllegalStateException("raw ffm " + name + ": " + t, t);
            }
            if (rc != 0) throw new IllegalStateException("raw ffm " + name + " failed: CUresult " + rc);
        }
    }

    /**
     * dev.jgan.cuda.gpu.VirtualGpu.install(), found by name: the stand-ins must be loaded before
     * any JCuda class, and the benchmark must still build where the virtual GPU is not.
     */
    private static void installVirtualGpu() {
        try {
            Class.forName("dev.jgan.cuda.gpu.VirtualGpu").getMethod("install").invoke(null);
        } catch (ClassNotFoundException | NoSuchMethodException e) {
            throw new IllegalStateException("launch-cost benchmark skipped: this jar has no virtual GPU (dev.jgan.cuda.gpu.VirtualGpu)");
        } catch (ReflectiveOperationException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IllegalStateException("launch-cost benchmark skipped: the virtual GPU is not built or does not load ("
                    + cause.getMessage() + "); build native/vgpu with CMake", cause);
        }
    }

    /** VirtualGpu.setSchedule(LAZY): queued work runs when the host waits for it, not on the worker meanwhile. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void lazySchedule() {
        try {
            Class<? extends Enum> schedule = (Class<? extends Enum>) Class.forName("dev.jgan.cuda.gpu.VirtualGpu$Schedule");
            Class.forName("dev.jgan.cuda.gpu.VirtualGpu").getMethod("setSchedule", schedule).invoke(null, Enum.valueOf(schedule, "LAZY"));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("launch-cost benchmark: cannot set the virtual GPU's schedule: " + e, e);
        }
    }

    private static void check(String what, float got, float ref) {
        if (got != ref)
            throw new IllegalStateException("benchmark self-check failed, not timing a wrong result: " + what + " = " + got
                    + ", expected " + ref);
    }
}
