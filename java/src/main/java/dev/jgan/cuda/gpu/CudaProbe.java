package dev.jgan.cuda.gpu;

import dev.jgan.cuda.KernelImages;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Finds out, without loading JCuda, whether this machine can run the CUDA backend: an NVIDIA
 * driver (libcuda.so.1) that sees a GPU, cuBLAS (libcublas.so.12), cuDNN 8 (libcudnn.so.8) and
 * jgan's compiled kernels. Each missing piece is named with what to install. What it looks at is
 * an {@link Environment}, so that tests can play every "not found" path on any machine.
 */
public final class CudaProbe {
    /** Where the build puts the fatbin of kernels/ inside the jar. */
    public static final String DRIVER = "libcuda.so.1", CUBLAS = "libcublas.so.12", CUDNN = "libcudnn.so.8";

    private CudaProbe() {}

    /** What the probe looks at. */
    public interface Environment {
        /** Whether the dynamic linker finds {@code library} (e.g. "libcublas.so.12"). */
        boolean libraryPresent(String library);

        /** GPUs the driver sees (cuInit, cuDeviceGetCount); called only when the driver is present. */
        int deviceCount();

        /** Whether jgan's kernels (the fatbin) are built into this jar. */
        boolean kernelsBuilt();
    }

    /** This machine. */
    public static final Environment SYSTEM = new Environment() {
        @Override public boolean libraryPresent(String library) { return CudaProbe.libraryPresent(library); }

        @Override public int deviceCount() { return CudaProbe.deviceCount(); }

        @Override public boolean kernelsBuilt() { return CudaProbe.class.getResource(KernelImages.FATBIN_RESOURCE) != null; }
    };

    /** What was found: the missing pieces (empty when all is there) and the GPU count. */
    public record Status(List<String> missing, int devices) {
        public boolean usable() { return missing.isEmpty(); }

        /** One line: why CUDA cannot be used, or "ready". */
        public String reason() {
            return usable() ? "ready (" + devices + " GPU" + (devices == 1 ? "" : "s") + ")" : String.join("; ", missing);
        }
    }

    public static Status probe() { return probe(SYSTEM); }

    public static Status probe(Environment env) {
        List<String> missing = new ArrayList<>();
        int devices = 0;
        if (!env.libraryPresent(DRIVER)) {
            missing.add("no NVIDIA driver (" + DRIVER + " not found; install the NVIDIA driver, 525 or newer for CUDA 12)");
        } else {
            devices = env.deviceCount();
            if (devices == 0) missing.add("no GPU visible to the NVIDIA driver (cuInit/cuDeviceGetCount found none)");
        }
        if (!env.libraryPresent(CUBLAS))
            missing.add(CUBLAS + " not found (install cuBLAS for CUDA 12, e.g. apt-get install libcublas-12-x, and put it on LD_LIBRARY_PATH)");
        if (!env.libraryPresent(CUDNN))
            missing.add(CUDNN + " not found (install cuDNN 8.9 for CUDA 12, e.g. apt-get install libcudnn8)");
        if (!env.kernelsBuilt())
            missing.add("jgan's CUDA kernels are not built into this jar (build on a machine with nvcc and CMake)");
        return new Status(List.copyOf(missing), devices);
    }

    /**
     * Lines for `gan info` about what is installed, each library independently: the driver's
     * version and every GPU (name, compute capability, memory), cuBLAS's and cuDNN's versions,
     * or "not found". Through the libraries' C APIs (FFM), without JCuda.
     */
    public static List<String> details() {
        List<String> out = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            Linker linker = Linker.nativeLinker();
            if (!libraryPresent(DRIVER)) {
                out.add("driver:    not found (" + DRIVER + ")");
            } else {
                SymbolLookup cuda = SymbolLookup.libraryLookup(DRIVER, arena);
                MemorySegment v = arena.allocate(ValueLayout.JAVA_INT);
                int rc = (int) call(linker, cuda, "cuDriverGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS), v);
                out.add("driver:    " + (rc == 0 ? "CUDA " + v.get(JAVA_INT, 0) / 1000 + "." + v.get(JAVA_INT, 0) % 1000 / 10 : "cuDriverGetVersion failed (" + rc + ")"));
                int n = deviceCount();
                for (int d = 0; d < n; d++) out.add("gpu " + d + ":     " + device(linker, cuda, arena, d));
                if (n == 0) out.add("gpu:       none visible to the driver");
            }
            if (!libraryPresent(CUBLAS)) {
                out.add("cublas:    not found (" + CUBLAS + ")");
            } else {
                // cublasGetProperty(MAJOR_VERSION = 0 | MINOR_VERSION = 1 | PATCH_LEVEL = 2, int*)
                SymbolLookup lib = SymbolLookup.libraryLookup(CUBLAS, arena);
                int[] parts = new int[3];
                for (int i = 0; i < 3; i++) {
                    MemorySegment v = arena.allocate(ValueLayout.JAVA_INT);
                    call(linker, lib, "cublasGetProperty", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), i, v);
                    parts[i] = v.get(JAVA_INT, 0);
                }
                out.add("cublas:    " + parts[0] + "." + parts[1] + "." + parts[2]);
            }
            if (!libraryPresent(CUDNN)) {
                out.add("cudnn:     not found (" + CUDNN + ")");
            } else {
                SymbolLookup lib = SymbolLookup.libraryLookup(CUDNN, arena);
                long v = (long) call(linker, lib, "cudnnGetVersion", FunctionDescriptor.of(JAVA_LONG));
                out.add("cudnn:     " + v / 1000 + "." + v / 100 % 10 + "." + v % 100);
            }
        } catch (Throwable t) {
            out.add("cuda:      probing failed: " + t);
        }
        return out;
    }

    /** "NAME, compute capability X.Y, N MiB" of device {@code ordinal} (cuInit already done by deviceCount). */
    private static String device(Linker linker, SymbolLookup cuda, Arena arena, int ordinal) throws Throwable {
        MemorySegment dev = arena.allocate(JAVA_INT), name = arena.allocate(256), major = arena.allocate(JAVA_INT),
                minor = arena.allocate(JAVA_INT), bytes = arena.allocate(JAVA_LONG);
        call(linker, cuda, "cuDeviceGet", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), dev, ordinal);
        int d = dev.get(JAVA_INT, 0);
        call(linker, cuda, "cuDeviceGetName", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), name, 256, d);
        // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75, _MINOR = 76
        call(linker, cuda, "cuDeviceGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), major, 75, d);
        call(linker, cuda, "cuDeviceGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), minor, 76, d);
        call(linker, cuda, "cuDeviceTotalMem_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), bytes, d);
        return name.getString(0) + ", compute capability " + major.get(JAVA_INT, 0) + "." + minor.get(JAVA_INT, 0) + ", "
                + (bytes.get(JAVA_LONG, 0) >> 20) + " MiB";
    }

    private static Object call(Linker linker, SymbolLookup lib, String function, FunctionDescriptor fd, Object... args) throws Throwable {
        return linker.downcallHandle(lib.findOrThrow(function), fd).invokeWithArguments(args);
    }

    /** Whether the dynamic linker finds {@code name} (e.g. "libcudnn.so.8"). */
    public static boolean libraryPresent(String name) {
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup.libraryLookup(name, arena);
            return true;
        } catch (IllegalArgumentException notFound) {
            return false;
        }
    }

    /** cuInit(0) then cuDeviceGetCount through the driver API; 0 on any error. */
    static int deviceCount() {
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup cuda = SymbolLookup.libraryLookup("libcuda.so.1", arena);
            Linker linker = Linker.nativeLinker();
            MethodHandle init = linker.downcallHandle(cuda.findOrThrow("cuInit"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            MethodHandle count = linker.downcallHandle(cuda.findOrThrow("cuDeviceGetCount"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
            if ((int) init.invokeExact(0) != 0) return 0;
            MemorySegment n = arena.allocate(ValueLayout.JAVA_INT);
            if ((int) count.invokeExact(n) != 0) return 0;
            return n.get(ValueLayout.JAVA_INT, 0);
        } catch (Throwable e) {
            return 0;
        }
    }
}
