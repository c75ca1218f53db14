package dev.jgan.testing;

import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

import java.io.File;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

/** Debian's headless Chromium for the tests of pages (the run report, gan serve's page), by itself or driven by Selenium. */
public final class Chromium {
    private Chromium() {}

    /** Held so that the level set on it stays: java.util.logging keeps its loggers weakly. */
    private static final Logger SELENIUM_LOG = Logger.getLogger("org.openqa.selenium");

    /** The chromium on PATH; the test is skipped without one, and fails under CI=true (.ci/run installs it). */
    public static Path find() {
        return onPath(List.of("chromium", "chromium-browser"), "Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)");
    }

    /** Debian's chromedriver (package chromium-driver, the same version as chromium); skipped without it, fails under CI=true. */
    public static Path findDriver() {
        return onPath(List.of("chromedriver"), "Debian's chromium-driver is not installed (apt-get install chromium-driver; .ci/run installs it)");
    }

    private static Path onPath(List<String> names, String reason) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
            for (String name : names)
                if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) return Path.of(dir, name);
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

    /**
     * Headless Chromium under Selenium, as {@link #run} starts it: Debian's chromium and its
     * chromedriver named explicitly, so Selenium Manager never looks for (or downloads) either;
     * chromedriver's and Selenium's logs silenced. The caller quits it.
     */
    public static ChromeDriver driver(Path scratch) throws Exception {
        Path chromium = find(), chromedriver = findDriver();
        SELENIUM_LOG.setLevel(Level.OFF);
        Path profile = Files.createTempDirectory(scratch, "chromium-profile");
        ChromeOptions options = new ChromeOptions().setBinary(chromium.toFile()).addArguments("--headless=new", "--no-sandbox",
                "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=" + profile, "--window-size=1200,1000");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(chromedriver.toFile())
                .usingAnyFreePort().withSilent(true).withLogOutput(OutputStream.nullOutputStream()).build();
        return new ChromeDriver(service, options);
    }
}
