package dev.jgan.cuda.gpu;

import dev.jgan.cuda.KernelImages;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Finds out, without loading JCuda, whether this machine can run the CUDA backend: an NVIDIA
 * driver (libcuda.so.1) that sees a GPU, cuBLAS (libcublas.so.13 or .12), cuDNN (libcudnn.so.9 or
 * .8) and jgan's compiled kernels, the libraries wherever {@link NvidiaLibraries} finds them. Each
 * missing piece is named with what to install. What it looks at is an {@link Environment}, so
 * that tests can play every "not found" path on any machine.
 */
public final class CudaProbe {
    /** The driver's soname, and the sonames the JNI binding links (JCublas 12.0, JCudnn 11.7). */
    public static final String DRIVER = "libcuda.so.1", CUBLAS = "libcublas.so.12", CUDNN = "libcudnn.so.8";

    private CudaProbe() {}

    /** What the probe looks at. */
    public interface Environment {
        /** Whether a library of this soname is found (e.g. "libcublas.so.12"). */
        boolean libraryPresent(String library);

        /** GPUs the driver sees (cuInit, cuDeviceGetCount); called only when the driver is present. */
        int deviceCount();

        /** Whether jgan's kernels (the fatbin) are built into this jar. */
        boolean kernelsBuilt();
    }

    /** This machine: the libraries {@link #libraries()} finds. */
    public static final Environment SYSTEM = new Environment() {
        @Override public boolean libraryPresent(String library) { return libraries().first(library).isPresent(); }

        @Override public int deviceCount() { return CudaProbe.deviceCount(); }

        @Override public boolean kernelsBuilt() { return CudaProbe.class.getResource(KernelImages.FATBIN_RESOURCE) != null; }
    };

    private static NvidiaLibraries.Search systemSearch;

    /**
     * The NVIDIA libraries of this process: the virtual GPU's stand-ins of its stack once it is
     * installed (nothing of the machine's own mixes in), else this machine's search (made once: the
     * folders do not change under a running JVM).
     */
    public static synchronized NvidiaLibraries.Search libraries() {
        if (VirtualGpu.installed()) return VirtualGpu.libraries();
        if (systemSearch == null) systemSearch = NvidiaLibraries.search();
        return systemSearch;
    }

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
            missing.add("no NVIDIA driver (" + DRIVER + " not found; install the NVIDIA driver, " + KernelImages.minimumDriver() + " or newer)");
        } else {
            devices = env.deviceCount();
            if (devices == 0) missing.add("no GPU visible to the NVIDIA driver (cuInit/cuDeviceGetCount found none)");
        }
        for (NvidiaLibraries.Library lib : List.of(NvidiaLibraries.Library.CUBLAS, NvidiaLibraries.Library.CUDNN))
            if (lib.sonames.stream().noneMatch(env::libraryPresent))
                missing.add((lib == NvidiaLibraries.Library.CUBLAS ? "cuBLAS" : "cuDNN") + " not found (" + lib.names() + "; "
                        + lib.install + ", or name its folder in " + NvidiaLibraries.FOLDERS_VARIABLE + ")");
        if (!env.kernelsBuilt())
            missing.add("jgan's CUDA kernels are not built into this jar (build on a machine with nvcc and CMake)");
        return new Status(List.copyOf(missing), devices);
    }

    /**
     * The CUDA major version the driver supports (cuDriverGetVersion / 1000: 12 for a CUDA 12.x
     * driver), 0 when there is no driver or it does not answer.
     */
    public static int driverMajor() {
        return driverVersion() / 1000;
    }

    /** cuDriverGetVersion of the driver {@link #libraries()} finds (12040 for CUDA 12.4), 0 when none answers. */
    public static int driverVersion() {
        var driver = libraries().first(NvidiaLibraries.Library.DRIVER);
        if (driver.isEmpty()) return 0;
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup cuda = SymbolLookup.libraryLookup(driver.get().location(), arena);
            MemorySegment v = arena.allocate(JAVA_INT);
            int rc = (int) Linker.nativeLinker().downcallHandle(cuda.findOrThrow("cuDriverGetVersion"),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS)).invokeExact(v);
            return rc == 0 ? v.get(JAVA_INT, 0) : 0;
        } catch (Throwable t) {
            return 0;
        }
    }

    /**
     * Lines for `gan info` about what is installed, each library independently: the driver's
     * version and every GPU (name, compute capability, memory); cuBLAS's and cuDNN's file and
     * version, or "not found"; then every place the search looked in and what it held there.
     * Through the libraries' C APIs (FFM), without JCuda.
     */
    public static List<String> details() {
        List<String> out = new ArrayList<>();
        NvidiaLibraries.Search s = libraries();
        try (Arena arena = Arena.ofConfined()) {
            Linker linker = Linker.nativeLinker();
            var driver = s.first(NvidiaLibraries.Library.DRIVER);
            if (driver.isEmpty()) {
                out.add("driver:    not found (" + DRIVER + ")");
            } else {
                out.add("driver:    " + NvidiaLibraries.version(driver.get()) + " (" + where(driver.get()) + "); jgan needs "
                        + KernelImages.driverFloor());
                SymbolLookup cuda = SymbolLookup.libraryLookup(driver.get().location(), arena);
                int n = deviceCount();
                for (int d = 0; d < n; d++) out.add("gpu " + d + ":     " + device(linker, cuda, arena, d));
                if (n == 0) out.add("gpu:       none visible to the driver");
            }
            for (NvidiaLibraries.Library lib : List.of(NvidiaLibraries.Library.CUBLAS, NvidiaLibraries.Library.CUDNN)) {
                String label = String.format("%-11s", lib.label + ":");
                List<NvidiaLibraries.Found> all = s.all(lib);
                if (all.isEmpty()) out.add(label + "not found (" + lib.names() + ")");
                for (NvidiaLibraries.Found f : all) out.add(label + NvidiaLibraries.version(f) + " (" + where(f) + ")");
            }
        } catch (Throwable t) {
            out.add("cuda:      probing failed: " + t);
        }
        out.add("looked in: (first found wins; " + NvidiaLibraries.FOLDERS_VARIABLE + " names folders to look in first)");
        for (NvidiaLibraries.Folder f : s.looked()) {
            List<String> held = s.found().stream().filter(x -> x.origin().equals(f.origin())
                    && (x.byLinker() || Path.of(x.location()).getParent().equals(f.path()))).map(NvidiaLibraries.Found::soname).toList();
            boolean linker = f.origin().equals(NvidiaLibraries.LINKER);
            String place = linker ? f.origin() : f.path() + " (" + f.origin() + ")";
            String what = !linker && !Files.isDirectory(f.path()) ? "not there" : held.isEmpty() ? "none of them" : String.join(", ", held);
            out.add("  " + place + ": " + what);
        }
        return out;
    }

    /** "libcublas.so.13 at /path" or "libcuda.so.1 from the dynamic linker". */
    private static String where(NvidiaLibraries.Found f) {
        return f.byLinker() ? f.soname() + " from the dynamic linker" : f.soname() + " at " + f.location();
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
        var driver = libraries().first(NvidiaLibraries.Library.DRIVER);
        if (driver.isEmpty()) return 0;
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup cuda = SymbolLookup.libraryLookup(driver.get().location(), arena);
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
