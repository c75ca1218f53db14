package dev.jgan.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

/** Debian's PyTorch (python3-torch) for the tests that compare jgan with it. */
public final class Torch {
    private Torch() {}

    /** The interpreter Debian's python3-torch installs into. */
    public static final Path PYTHON = Path.of("/usr/bin/python3");

    /** Returns where /usr/bin/python3 imports torch; the test is skipped with the reason otherwise, and fails under CI=true (.ci/run installs it). */
    public static void require() throws Exception {
        if (Files.isExecutable(PYTHON)) {
            Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import torch").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) return;
            p.destroyForcibly();
        }
        String reason = "no PyTorch for " + PYTHON + " (apt-get install python3-torch)";
        if ("true".equals(System.getenv("CI"))) fail(reason + "; CI=true requires it");
        abort(reason);
    }
}
