package dev.jgan.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds out, without loading JCuda, whether this machine can run the CUDA backend: an NVIDIA
 * driver (libcuda.so.1) that sees a GPU, cuBLAS (libcublas.so.12), cuDNN 8 (libcudnn.so.8) and
 * jgan's compiled kernels. Each missing piece is named with what to install.
 */
public final class CudaProbe {
    /** Where the build puts the fatbin of kernels/ inside the jar. */
    public static final String KERNELS_RESOURCE = "/dev/jgan/kernels/jgan_kernels.fatbin";

    private CudaProbe() {}

    /** What was found: the missing pieces (empty when all is there) and the GPU count. */
    public record Status(List<String> missing, int devices) {
        public boolean usable() { return missing.isEmpty(); }

        /** One line: why CUDA cannot be used, or "ready". */
        public String reason() {
            return usable() ? "ready (" + devices + " GPU" + (devices == 1 ? "" : "s") + ")" : String.join("; ", missing);
        }
    }

    public static Status probe() {
        List<String> missing = new ArrayList<>();
        int devices = 0;
        if (!libraryPresent("libcuda.so.1")) {
            missing.add("no NVIDIA driver (libcuda.so.1 not found; install the NVIDIA driver)");
        } else {
            devices = deviceCount();
            if (devices == 0) missing.add("no GPU visible to the NVIDIA driver (cuInit/cuDeviceGetCount found none)");
        }
        if (!libraryPresent("libcublas.so.12"))
            missing.add("libcublas.so.12 not found (install cuBLAS for CUDA 12, e.g. the libcublas-12-x package)");
        if (!libraryPresent("libcudnn.so.8"))
            missing.add("libcudnn.so.8 not found (install cuDNN 8.9 for CUDA 12, e.g. libcudnn8)");
        if (CudaProbe.class.getResource(KERNELS_RESOURCE) == null)
            missing.add("jgan's CUDA kernels are not built into this jar (build on a machine with nvcc)");
        else
            missing.add("the CUDA backend is not part of this build yet");
        return new Status(List.copyOf(missing), devices);
    }

    /**
     * One line on jgan's kernels in this jar, from the build's ptxas report: how many, for which
     * architectures, the register range and the spills (the build refuses any), and whether the
     * host emulation library is there; or that they were not built.
     */
    public static String kernelsSummary() {
        boolean emulation = CudaProbe.class.getResource(EmulatedLauncher.LIBRARY_RESOURCE) != null;
        String emu = emulation ? "host emulation built in" : "no host emulation (built when g++ and CMake are present)";
        List<KernelImages.KernelReport> report = KernelImages.report();
        if (CudaProbe.class.getResource(KERNELS_RESOURCE) == null || report.isEmpty())
            return "absent (not built: needs nvcc and CMake at build time); " + emu;
        java.util.Set<String> kernels = new java.util.TreeSet<>(), archs = new java.util.TreeSet<>();
        int min = Integer.MAX_VALUE, max = 0, spills = 0;
        for (KernelImages.KernelReport r : report) {
            kernels.add(r.kernel());
            archs.add(r.arch());
            min = Math.min(min, r.registers());
            max = Math.max(max, r.registers());
            spills += r.spillStores() + r.spillLoads();
        }
        return kernels.size() + " kernels built into the jar (" + String.join(", ", archs) + ", compute_90 PTX), "
                + min + "-" + max + " registers, " + (spills == 0 ? "no spills" : spills + " bytes spilled")
                + " (per kernel: " + KernelImages.REPORT_RESOURCE + "); " + emu;
    }

    static boolean libraryPresent(String name) {
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup.libraryLookup(name, arena);
            return true;
        } catch (IllegalArgumentException notFound) {
            return false;
        }
    }

    /** cuInit(0) then cuDeviceGetCount through the driver API; 0 on any error. */
    private static int deviceCount() {
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
