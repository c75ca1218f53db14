package dev.jgan.cuda.gpu;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The virtual GPU (native/vgpu/): host libraries with the file names and SONAMEs of NVIDIA's
 * libcuda.so.1, libcublas.so.12 and .13 and libcudnn.so.8 and .9 over one core, libjgan_vgpu.so, that holds the
 * device's state. {@link #install()} loads them by absolute path, so that JCuda's, JCublas's and
 * JCudnn's JNI libraries, whose NEEDED entries name those SONAMEs, bind to the stand-ins; the
 * real adapters then run on the host. Used only when asked for ({@link #requested()}); `--device
 * auto` never picks it.
 *
 * <p><b>Install before any JCuda class initialises</b> (JCudaDriver, JCublas2, JCudnn): a JNI
 * library that loaded against nothing stays failed for the JVM's life.
 *
 * <p>The test hooks of native/vgpu/vgpu_core.h (schedule, strictness, fault plan, last error, counters) are
 * FFM downcalls into the core; they need {@link #install()} first.
 */
public final class VirtualGpu {
    /** Where the build puts the libraries on the class path. */
    static final String RESOURCE_DIR = "/dev/jgan/native/linux-x86_64/vgpu/";
    static final String CORE = "libjgan_vgpu.so";
    /** Every library the build makes: the core, then the stand-ins that link it (both sonames of cuBLAS and cuDNN). */
    static final List<String> LIBRARIES = List.of(CORE, CudaProbe.DRIVER, "libcublas.so.12", "libcublas.so.13", "libcudnn.so.8",
            "libcudnn.so.9");

    /**
     * Which NVIDIA stack the virtual GPU plays, that is which cuBLAS and cuDNN stand-ins a JVM loads
     * (one stack per JVM): a CUDA 12 machine's (libcublas.so.12, libcudnn.so.8: what the JNI binding
     * links) or a 2026 CUDA 13 machine's (libcublas.so.13, libcudnn.so.9, with cuDNN 9's status
     * codes and version encoding). Chosen by JGAN_VGPU_STACK=cuda12|cuda13 or -Djgan.vgpu.stack.
     */
    public enum Stack {
        CUDA12("libcublas.so.12", "libcudnn.so.8"),
        CUDA13("libcublas.so.13", "libcudnn.so.9");

        private final String cublas, cudnn;

        Stack(String cublas, String cudnn) {
            this.cublas = cublas;
            this.cudnn = cudnn;
        }

        public String cublas() { return cublas; }

        public String cudnn() { return cudnn; }

        /** The stack asked for: -Djgan.vgpu.stack, else JGAN_VGPU_STACK, else cuda12; anything else is one line. */
        public static Stack current() {
            String v = System.getProperty("jgan.vgpu.stack", System.getenv("JGAN_VGPU_STACK"));
            if (v == null || v.isBlank()) return CUDA12;
            return switch (v.trim().toLowerCase(java.util.Locale.ROOT)) {
                case "cuda12" -> CUDA12;
                case "cuda13" -> CUDA13;
                default -> throw new IllegalStateException("virtual GPU: unknown stack '" + v + "' (JGAN_VGPU_STACK); use cuda12 or cuda13");
            };
        }

        /** The libraries {@link #install()} loads for this stack, in load order. */
        List<String> libraries() { return List.of(CORE, CudaProbe.DRIVER, cublas, cudnn); }
    }

    /** When queued work runs: at once on each stream's worker, or only when the host waits for it. */
    public enum Schedule {
        /** Workers run queued work at once (the default). */
        EAGER,
        /** Queued work runs only when the host waits for it: every host/stream race goes the harmful way. */
        LAZY;

        /** The schedule the library starts with: JGAN_VGPU_SCHEDULE=lazy, else eager (tests restore this one). */
        public static Schedule initial() {
            return "lazy".equals(System.getenv("JGAN_VGPU_SCHEDULE")) ? LAZY : EAGER;
        }
    }

    /** The core's counters (jgan_vgpu_counter). */
    public enum Counter {
        NULL_STREAM_USES(0), LIVE_ALLOCATIONS(1), LIVE_BYTES(2), ALLOCATIONS(3), FREES(4), LAUNCHES(5), LIVE_PINNED_ALLOCATIONS(6),
        /** The calls fault injection counts, per kind, since load (never reset). */
        ALLOC_CALLS(8), LAUNCH_CALLS(9), CUBLAS_CALLS(10), CUDNN_CALLS(11);

        final int index;

        Counter(int index) { this.index = index; }
    }

    private static final Set<String> loaded = new HashSet<>();
    private static Path directory;
    private static Hooks hooks;

    private VirtualGpu() {}

    /** Whether the virtual GPU is asked for: JGAN_VIRTUAL_GPU=1 or -Djgan.virtualGpu=true. */
    public static boolean requested() {
        return "1".equals(System.getenv("JGAN_VIRTUAL_GPU")) || Boolean.getBoolean("jgan.virtualGpu");
    }

    /**
     * The folder holding the libraries: the class path's dev/jgan/native/linux-x86_64/vgpu itself
     * when it is a directory, else (a jar) a temporary folder the libraries are extracted into together
     * (they find each other there by RPATH $ORIGIN). Empty when the build did not make the core.
     */
    public static synchronized Optional<Path> directory() {
        if (directory != null) return Optional.of(directory);
        URL core = VirtualGpu.class.getResource(RESOURCE_DIR + CORE);
        if (core == null) return Optional.empty();
        try {
            if ("file".equals(core.getProtocol())) {
                directory = Path.of(core.toURI()).getParent();
            } else {
                Path dir = Files.createTempDirectory("jgan-vgpu");
                dir.toFile().deleteOnExit();
                for (String lib : LIBRARIES) {
                    try (InputStream in = VirtualGpu.class.getResourceAsStream(RESOURCE_DIR + lib)) {
                        if (in == null) continue;
                        Path file = dir.resolve(lib);
                        Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                        file.toFile().deleteOnExit();
                    }
                }
                directory = dir;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("virtual GPU: cannot extract its libraries from the jar", e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException("virtual GPU: " + core + " is not a file path", e);
        }
        return Optional.of(directory);
    }

    /**
     * Loads the core, libcuda.so.1 and the {@link Stack#current()} stack's cuBLAS and cuDNN in that
     * order (once; later calls do nothing, and the first stack loaded stays the JVM's). Fails with
     * one line naming what the build did not make.
     */
    public static void install() {
        install(Stack.current().libraries());
    }

    /** The core and libcuda.so.1 only: enough for the driver API (JCudaDriver). */
    static void installDriver() {
        install(LIBRARIES.subList(0, 2));
    }

    private static synchronized void install(List<String> libraries) {
        Path dir = directory().orElseThrow(() -> new IllegalStateException(
                "virtual GPU: not built (" + RESOURCE_DIR + CORE + " is not on the class path; the build needs cmake and g++)"));
        List<String> missing = new ArrayList<>();
        for (String lib : libraries) if (!Files.isRegularFile(dir.resolve(lib))) missing.add(lib);
        if (!missing.isEmpty())
            throw new IllegalStateException("virtual GPU: " + String.join(", ", missing) + " not built in " + dir
                    + " (native/vgpu/; the build needs cmake and g++)");
        for (String lib : libraries) {
            if (loaded.contains(lib)) continue;
            System.load(dir.resolve(lib).toAbsolutePath().toString());
            loaded.add(lib);
        }
        if (hooks == null) hooks = new Hooks(dir.resolve(CORE));
    }

    /**
     * The stand-ins this JVM loaded (libcuda.so.1 and its stack's cuBLAS and cuDNN), as the library
     * search of {@link CudaProbe#libraries()}: nothing of the machine's own, and not the other stack's
     * files beside them.
     */
    static NvidiaLibraries.Search libraries() {
        Path dir = directory().orElseThrow();
        return NvidiaLibraries.of("virtual GPU", LIBRARIES.subList(1, LIBRARIES.size()).stream().filter(loaded::contains)
                .map(dir::resolve).toList());
    }

    /** Whether {@link #install()} (or the driver's part of it) has run. */
    public static synchronized boolean installed() {
        return loaded.contains(CORE) && loaded.contains(CudaProbe.DRIVER);
    }

    public static void setSchedule(Schedule schedule) {
        hooks().call(hooks().setSchedule, schedule.ordinal());
    }

    /** Whether any use of the NULL stream is refused (JGAN_VGPU_STRICT=1 at load); returns the previous setting. */
    public static boolean setStrict(boolean strict) {
        try {
            return (int) hooks().setStrict.invokeExact(strict ? 1 : 0) != 0;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The fault plan, "kind:N[,kind:N...]" (kinds alloc, launch, cublas, cudnn; N+ for the Nth and every later call; "" for none); restarts the counts. */
    public static void setFaults(String spec) {
        try (Arena arena = Arena.ofConfined()) {
            int rc = (int) hooks().setFaults.invokeExact(arena.allocateFrom(spec));
            if (rc != 0) throw new IllegalArgumentException("virtual GPU: fault plan \"" + spec + "\" is not kind:N[,kind:N...]");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The last error message: the sticky error's, or the last refused call's ("" when none). */
    public static String lastError() {
        try (Arena arena = Arena.ofConfined()) {
            int capacity = 4096;
            MemorySegment out = arena.allocate(capacity);
            int n = (int) hooks().lastError.invokeExact(out, capacity);
            byte[] bytes = out.asSlice(0, Math.min(n, capacity - 1)).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            return new String(bytes, StandardCharsets.UTF_8);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Clears the sticky error and the last message (one test's provoked fault must not end the JVM's device). */
    public static void clearError() {
        try {
            hooks().clearError.invokeExact();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public static long counter(Counter which) {
        try {
            return (long) hooks().counter.invokeExact(which.index);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Plays an NVIDIA driver of CUDA version {@code version} (cuDriverGetVersion's value, e.g.
     * 12000; JGAN_VGPU_DRIVER_VERSION sets it at load, 13000 otherwise): cuDriverGetVersion
     * answers it and cuModuleLoadData refuses what that driver could not load. Returns the previous one.
     */
    public static int setDriverVersion(int version) {
        hooks();
        try {
            MethodHandle h = Linker.nativeLinker().downcallHandle(
                    SymbolLookup.loaderLookup().findOrThrow("jgan_vgpu_set_driver_version"), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
            return (int) h.invokeExact(version);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static synchronized Hooks hooks() {
        if (hooks == null) throw new IllegalStateException("virtual GPU: not installed (VirtualGpu.install())");
        return hooks;
    }

    /** Downcall handles on the core's jgan_vgpu_* functions. */
    private static final class Hooks {
        final MethodHandle setSchedule, setStrict, setFaults, lastError, clearError, counter;

        Hooks(Path core) {
            Linker linker = Linker.nativeLinker();
            SymbolLookup lib = SymbolLookup.libraryLookup(core, Arena.global());
            setSchedule = linker.downcallHandle(lib.findOrThrow("jgan_vgpu_set_schedule"), FunctionDescriptor.ofVoid(JAVA_INT));
            setStrict = linker.downcallHandle(lib.findOrThrow("jgan_vgpu_set_strict"), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
            setFaults = linker.downcallHandle(lib.findOrThrow("jgan_vgpu_set_faults"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
            lastError = linker.downcallHandle(lib.findOrThrow("jgan_vgpu_last_error"), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
            clearError = linker.downcallHandle(lib.findOrThrow("jgan_vgpu_clear_error"), FunctionDescriptor.ofVoid());
            counter = linker.downcallHandle(lib.findOrThrow("jgan_vgpu_counter"), FunctionDescriptor.of(JAVA_LONG, JAVA_INT));
        }

        void call(MethodHandle h, int arg) {
            try {
                h.invokeExact(arg);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }
    }
}
