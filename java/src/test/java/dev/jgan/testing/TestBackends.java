package dev.jgan.testing;

import dev.jgan.backend.Backend;
import dev.jgan.cpu.CpuBackend;
import dev.jgan.cuda.CudaBackend;
import dev.jgan.cuda.emulated.EmulatedDevice;
import dev.jgan.cuda.emulated.EmulatedLauncher;
import dev.jgan.cuda.gpu.VirtualGpu;
import dev.jgan.selection.Backends;
import dev.jgan.selection.CudaBinding;

import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.provider.Arguments;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * The backends every op test runs on, for {@code @ParameterizedTest @MethodSource(
 * "dev.jgan.testing.TestBackends#all")}. Each backend is made once per test JVM and shared.
 *
 * <p>A backend that cannot run here is not in {@link #all()}; {@link #absent()} names it with the
 * reason, and {@code BackendPresenceTest} reports it as skipped, so it is never silently passed.
 * The CUDA backend is here on the emulated device (host memory, the kernels' host build, host
 * BLAS and DNN with cuBLAS's and cuDNN's contracts): every line of its orchestration runs in CI.
 * It is absent only where the emulation library was not built (no CMake or g++), which fails
 * under CI=true instead.
 *
 * <p>In the virtual-GPU test JVM (surefire's execution {@code virtual-gpu}, where
 * {@link VirtualGpu#requested()}), {@link #all()} is instead the CUDA backend over the real GPU
 * adapters (JCuda, JCublas, JCudnn and their JNI libraries) on the virtual GPU of native/vgpu: the
 * same op suite then runs the third backend. The CPU backend stays the reference ({@link #cpu()}),
 * but is not in {@link #all()} there: the default JVM tests it already. It is opened as `--device
 * cuda` opens it ({@link Backends#select}), through the binding JGAN_CUDA_BINDING names: the JNI
 * adapters in surefire's execution {@code virtual-gpu}, the FFM ones ({@code dev.jgan.cuda.ffm}) in
 * {@code virtual-gpu-ffm}, each over the stand-ins of its JVM's virtual GPU stack.
 */
public final class TestBackends {
    /** Two threads: enough to exercise OpenBLAS's threading on the 2-core CI machines. */
    public static final int CPU_THREADS = 2;

    /** cuDNN workspace limit of the emulated CUDA backend: 64 MiB, more than any test problem's im2col columns. */
    public static final long CUDA_WORKSPACE_LIMIT = 64L << 20;

    private static List<Backend> present;
    private static List<String> absent;
    private static CpuBackend cpu;

    private TestBackends() {}

    public static Stream<Backend> all() {
        init();
        return present.stream();
    }

    /** Every backend with every size: arguments (backend, n) for size-sweeping tests. */
    public static Stream<Arguments> withSizes(int... sizes) {
        return all().flatMap(b -> IntStream.of(sizes).mapToObj(n -> Arguments.of(Named.of(b.name(), b), n)));
    }

    /** Every backend with {@link TestData#AWKWARD_SIZES}. */
    public static Stream<Arguments> withAwkwardSizes() {
        return withSizes(TestData.AWKWARD_SIZES);
    }

    /** "name: reason" for each known backend that could not be made here. */
    public static Stream<String> absent() {
        init();
        return absent.stream();
    }

    /** The CPU backend, present everywhere. */
    public static CpuBackend cpu() {
        init();
        return cpu;
    }

    private static synchronized void init() {
        if (present != null) return;
        List<Backend> p = new ArrayList<>();
        List<String> a = new ArrayList<>();
        cpu = new CpuBackend(CPU_THREADS);
        if (VirtualGpu.requested()) {
            if (VirtualGpu.directory().isPresent()) {
                // through the CLI's own selection: the library search of the virtual GPU's stack and
                // the binding of JGAN_CUDA_BINDING (surefire sets jni or ffm per execution)
                p.add(Backends.select("cuda", CPU_THREADS, CUDA_WORKSPACE_LIMIT, false, CudaBinding.fromEnvironment(), line -> {}));
            } else if ("true".equals(System.getenv("CI"))) {
                throw new IllegalStateException("cuda (virtual GPU): the stand-ins of native/vgpu were not built; CI=true requires them");
            } else {
                a.add("cuda (virtual GPU): the stand-ins of native/vgpu were not built (needs CMake and g++)");
            }
            present = List.copyOf(p);
            absent = List.copyOf(a);
            return;
        }
        p.add(cpu);
        if (EmulatedLauncher.bundledLibrary().isPresent()) p.add(EmulatedDevice.open(CUDA_WORKSPACE_LIMIT));
        else if ("true".equals(System.getenv("CI"))) throw new IllegalStateException("cuda: the host emulation library was not built; CI=true requires it");
        else a.add("cuda: the CUDA host emulation library was not built (needs CMake and g++)");
        present = List.copyOf(p);
        absent = List.copyOf(a);
    }
}
