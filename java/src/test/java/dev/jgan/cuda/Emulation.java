package dev.jgan.cuda;

import dev.jgan.cuda.emulated.EmulatedLauncher;
import java.io.File;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * The emulated CUDA path for the kernel tests: the emulation library the build packed into the
 * class path, {@link Kernels} over it, and host memory standing in for device memory.
 *
 * <p>Without the library (no cmake or g++) the tests are skipped with the reason; with
 * CI=true they fail instead, so CI never skips them silently. Likewise the fatbin and nvcc.
 */
public final class Emulation {
    private static EmulatedLauncher launcher;
    private static Kernels kernels;

    private Emulation() {}

    static synchronized EmulatedLauncher launcher() {
        if (launcher == null) {
            if (EmulatedLauncher.class.getResource(KernelImages.EMULATION_RESOURCE) == null)
                unavailable("the CUDA host emulation library was not built (" + missingTools("cmake", "g++") + ")");
            launcher = EmulatedLauncher.load();
        }
        return launcher;
    }

    static synchronized Kernels kernels() {
        if (kernels == null) kernels = new Kernels(launcher());
        return kernels;
    }

    /** The CMake build directory (java/target/cmake), for the test-only barrier-free library. */
    static Path buildDir() {
        return Path.of(System.getProperty("jgan.cmake.dir", "target/cmake"));
    }

    public static byte[] fatbin() {
        return KernelImages.fatbin().orElseGet(() -> {
            unavailable("the CUDA kernels' fatbin was not built (" + missingTools("cmake", "nvcc") + ")");
            return null;
        });
    }

    /** Skips with the reason, or fails under CI=true. */
    static void unavailable(String reason) {
        if ("true".equals(System.getenv("CI"))) fail(reason + "; CI=true requires it");
        abort(reason);
    }

    static String missingTools(String... tools) {
        List<String> missing = new ArrayList<>();
        for (String t : tools) if (!onPath(t)) missing.add(t);
        return missing.isEmpty() ? "the tools are on the PATH; see the Maven build log" : "not on the PATH: " + String.join(", ", missing);
    }

    private static boolean onPath(String tool) {
        String path = System.getenv("PATH");
        if (path == null) return false;
        for (String dir : path.split(File.pathSeparator)) if (Files.isExecutable(Path.of(dir, tool))) return true;
        return false;
    }

    /** Host memory in the role of device memory: 256-byte aligned as cudaMalloc's, freed with the arena. */
    static final class Buffer {
        final MemorySegment segment;
        final int floats;

        Buffer(int floats) {
            this.floats = floats;
            this.segment = Arena.ofAuto().allocate(Math.max(1, (long) floats) * Float.BYTES, 256);
        }

        static Buffer of(float[] data) {
            Buffer b = new Buffer(data.length);
            MemorySegment.copy(data, 0, b.segment, ValueLayout.JAVA_FLOAT, 0, data.length);
            return b;
        }

        long address() { return segment.address(); }

        float[] get() {
            float[] out = new float[floats];
            MemorySegment.copy(segment, ValueLayout.JAVA_FLOAT, 0, out, 0, floats);
            return out;
        }
    }
}
