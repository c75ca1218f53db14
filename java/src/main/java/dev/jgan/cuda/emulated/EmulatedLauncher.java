package dev.jgan.cuda.emulated;

import dev.jgan.cuda.Dim3;
import dev.jgan.cuda.KernelArgs;
import dev.jgan.cuda.KernelImages;
import dev.jgan.cuda.KernelLauncher;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Runs jgan's kernels on the host: the emulation library (native/, built by CMake from the same
 * kernels/*.cu with g++) loaded through the FFM API. Pointers in the packed arguments are host
 * addresses (e.g. of off-heap {@link MemorySegment}s). A launch runs to completion before it
 * returns, one at a time per library; blocks run in parallel on one OS thread per core, a block's
 * threads as fibers with a real {@code __syncthreads} barrier among them (see
 * native/cuda_emulation.h).
 *
 * <p>The library is found as the class-path resource {@link KernelImages#EMULATION_RESOURCE} (packed
 * into the jar by the Maven build when g++ and CMake are present) or given as a path. A library stays
 * loaded for the life of the JVM: its worker threads cannot be unloaded safely.
 */
public final class EmulatedLauncher implements KernelLauncher {
    /** Order in which a block's threads run between two synchronisation points. */
    public enum Schedule { ASCENDING, DESCENDING }

    private static final int ERROR_CAPACITY = 1024;
    private static final Map<Path, Library> LOADED = new ConcurrentHashMap<>();

    private final Library library;
    private final Map<KernelArgs, Site> sites = new IdentityHashMap<>();
    private final MemorySegment gridDims, blockDims, error;

    private EmulatedLauncher(Library library) {
        this.library = library;
        Arena arena = Arena.ofAuto();
        gridDims = arena.allocate(JAVA_INT, 3);
        blockDims = arena.allocate(JAVA_INT, 3);
        error = arena.allocate(ERROR_CAPACITY);
    }

    /** The emulation library built into the class path; fails with the reason when it is absent. */
    public static EmulatedLauncher load() {
        return load(bundledLibrary().orElseThrow(() -> new IllegalStateException(
                "the CUDA host emulation library is not built into this jar (" + KernelImages.EMULATION_RESOURCE
                        + "): build with g++ and CMake installed")));
    }

    /** The emulation library at {@code path} (e.g. a build directory's libjgan_emu_nosync.so). */
    public static EmulatedLauncher load(Path path) {
        Path key = path.toAbsolutePath().normalize();
        return new EmulatedLauncher(LOADED.computeIfAbsent(key, Library::open));
    }

    /** The library resource as a file: itself when the class path is a directory, else extracted to a temporary file. */
    public static Optional<Path> bundledLibrary() {
        return bundled(KernelImages.EMULATION_RESOURCE);
    }

    /**
     * The kernel lab's emulation library (kernels/lab/, built apart from the production one):
     * runs on the same host memory, so a lab launch reads and writes the production backend's tensors.
     */
    @Override public KernelLauncher lab() {
        Path path = bundled(KernelImages.LAB_EMULATION_RESOURCE).orElseThrow(() -> new IllegalStateException(
                "the kernel lab's emulation library is not built into this jar (" + KernelImages.LAB_EMULATION_RESOURCE
                        + "): kernels/lab/ needs g++ and CMake; see the build's output"));
        return load(path);
    }

    private static Optional<Path> bundled(String resource) {
        URL url = EmulatedLauncher.class.getResource(resource);
        if (url == null) return Optional.empty();
        try {
            if ("file".equals(url.getProtocol())) return Optional.of(Path.of(url.toURI()));
            Path tmp = Files.createTempFile(Path.of(resource).getFileName().toString().replace(".so", ""), ".so");
            tmp.toFile().deleteOnExit();
            try (InputStream in = url.openStream()) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            return Optional.of(tmp);
        } catch (IOException | URISyntaxException e) {
            throw new IllegalStateException("cannot extract " + resource + ": " + e.getMessage(), e);
        }
    }

    /** Kernel name to its parameter signature (see {@link KernelArgs#signature()}), in the library's order. */
    public Map<String, String> kernels() {
        return library.kernels;
    }

    /**
     * Worker threads (0: one per core; takes effect only before the library's first launch) and
     * the thread schedule (for later launches). Both are the library's, shared by its launchers.
     */
    public void configure(int workers, Schedule schedule) {
        try {
            library.configure.invokeExact(workers, schedule.ordinal());
        } catch (Throwable t) {
            throw new IllegalStateException("jgan_emu_configure failed: " + t, t);
        }
    }

    @Override public String describe() {
        return "emulated: " + library.path.getFileName() + " (" + library.kernels.size() + " kernels, "
                + multiprocessors() + " worker threads)";
    }

    @Override public int multiprocessors() {
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * Runs {@code kernel} to completion. A launch site's packed values are passed in place (its
     * direct buffer as a segment, with the name and signature, made once per site); grid, block
     * and the error message use this launcher's own buffers, so launches are one at a time.
     */
    @Override public synchronized void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {
        if (!args.isSite()) {
            launch(kernel, grid, block, sharedBytes, args, new Site(kernel, args, Arena.ofAuto()));
            return;
        }
        Site site = sites.get(args);
        if (site == null || !site.kernel.equals(kernel)) sites.put(args, site = new Site(kernel, args, Arena.ofAuto()));
        launch(kernel, grid, block, sharedBytes, args, site);
    }

    private void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args, Site site) {
        int rc;
        try {
            gridDims.setAtIndex(JAVA_INT, 0, grid.x());
            gridDims.setAtIndex(JAVA_INT, 1, grid.y());
            gridDims.setAtIndex(JAVA_INT, 2, grid.z());
            blockDims.setAtIndex(JAVA_INT, 0, block.x());
            blockDims.setAtIndex(JAVA_INT, 1, block.y());
            blockDims.setAtIndex(JAVA_INT, 2, block.z());
            rc = (int) library.launch.invokeExact(site.name, gridDims, blockDims, sharedBytes, site.packed, (long) args.size(),
                    site.signature, error, (long) ERROR_CAPACITY);
        } catch (Throwable t) {
            throw new IllegalStateException("kernel " + kernel + ": emulated launch failed: " + t, t);
        }
        if (rc != 0) throw new IllegalStateException("kernel " + kernel + " (emulated): " + error.getString(0));
    }

    /** What a launch site passes every time: the kernel's name, the signature, and its packed values in place. */
    private static final class Site {
        final String kernel;
        final MemorySegment name, signature, packed;

        Site(String kernel, KernelArgs args, Arena arena) {
            this.kernel = kernel;
            this.name = arena.allocateFrom(kernel);
            this.signature = arena.allocateFrom(args.signature());
            this.packed = MemorySegment.ofBuffer(args.values());
        }
    }

    @Override public void synchronize() {}

    @Override public String toString() { return describe(); }

    /** One loaded library and its entry points. */
    private static final class Library {
        final Path path;
        final MethodHandle launch, configure;
        final Map<String, String> kernels;

        private Library(Path path, MethodHandle launch, MethodHandle configure, Map<String, String> kernels) {
            this.path = path;
            this.launch = launch;
            this.configure = configure;
            this.kernels = kernels;
        }

        static Library open(Path path) {
            if (!Files.isRegularFile(path))
                throw new IllegalStateException("the CUDA host emulation library " + path + " does not exist");
            Linker linker = Linker.nativeLinker();
            SymbolLookup lib = SymbolLookup.libraryLookup(path, Arena.global());
            MethodHandle launch = linker.downcallHandle(lib.findOrThrow("jgan_emu_launch"), FunctionDescriptor.of(JAVA_INT,
                    ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG));
            MethodHandle configure = linker.downcallHandle(lib.findOrThrow("jgan_emu_configure"),
                    FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT));
            MethodHandle count = linker.downcallHandle(lib.findOrThrow("jgan_emu_kernel_count"), FunctionDescriptor.of(JAVA_INT));
            MethodHandle name = linker.downcallHandle(lib.findOrThrow("jgan_emu_kernel_name"), FunctionDescriptor.of(ADDRESS, JAVA_INT));
            MethodHandle signature = linker.downcallHandle(lib.findOrThrow("jgan_emu_kernel_signature"),
                    FunctionDescriptor.of(ADDRESS, JAVA_INT));
            Map<String, String> kernels = new LinkedHashMap<>();
            try {
                int n = (int) count.invokeExact();
                for (int i = 0; i < n; i++) {
                    MemorySegment k = ((MemorySegment) name.invokeExact(i)).reinterpret(Long.MAX_VALUE);
                    MemorySegment s = ((MemorySegment) signature.invokeExact(i)).reinterpret(Long.MAX_VALUE);
                    kernels.put(k.getString(0), s.getString(0));
                }
            } catch (Throwable t) {
                throw new IllegalStateException("cannot list the kernels of " + path + ": " + t, t);
            }
            return new Library(path, launch, configure, Collections.unmodifiableMap(kernels));
        }
    }
}
