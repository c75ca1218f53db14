package dev.jgan.testing;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

/** Debian's headless Chromium for the tests of pages (the run report, gan serve's page). */
public final class Chromium {
    private Chromium() {}

    /** The chromium on PATH; the test is skipped without one, and fails under CI=true (.ci/run installs it). */
    public static Path find() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
            for (String name : List.of("chromium", "chromium-browser"))
                if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) return Path.of(dir, name);
        String reason = "Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)";
        if ("true".equals(System.getenv("CI"))) fail(reason + "; CI=true requires it");
        abort(reason);
        return null;
    }

    /** Headless Chromium, no sandbox (CI runs as root), no GPU, a throwaway profile under {@code scratch}; returns stdout. */
    public static String run(Path chromium, Path scratch, String... args) throws Exception {
        Path profile = Files.createTempDirectory(scratch, "chromium-profile");
        List<String> cmd = new ArrayList<>(List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars", "--user-data-dir=" + profile,
                "--virtual-time-budget=5000"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("chromium did not finish in 90 s: " + cmd);
        }
        assertEquals(0, p.exitValue(), "chromium exit status for " + cmd);
        return new String(out, StandardCharsets.UTF_8);
    }
}
