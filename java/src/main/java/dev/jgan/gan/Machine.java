package dev.jgan.gan;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The machine a run trained on or a benchmark ran on, for config.json, the run report and the results files. */
public final class Machine {
    private Machine() {}

    public static Map<String, String> describe() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("cpu", cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " cores");
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        m.put("java", Runtime.version() + " (" + System.getProperty("java.vm.vendor") + ")");
        m.put("memory", Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB max heap");
        return m;
    }

    /** The CPU's model name from /proc/cpuinfo; the architecture where there is none. */
    public static String cpuModel() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
            for (String line : lines) if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
        } catch (IOException | RuntimeException ignored) {
            // not Linux: the architecture is all we can say
        }
        return System.getProperty("os.arch");
    }

    /** This machine's CPU for a results file: the model name ({@link #cpuModel}) and the cores the JVM sees. */
    public static Map<String, Object> cpu() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpu", cpuModel());
        m.put("cores", Runtime.getRuntime().availableProcessors());
        return m;
    }

    /** {@code git rev-parse HEAD} of the checkout {@code dir} is in, or "unknown" (no git, not a checkout). */
    public static String commit(Path dir) {
        try {
            Process p = new ProcessBuilder("git", "-C", dir.toString(), "rev-parse", "HEAD").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0 || !out.matches("[0-9a-f]{40}")) return "unknown";
            return out;
        } catch (IOException e) {
            return "unknown";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }

    /**
     * This process's peak resident memory so far, bytes: VmHWM of /proc/self/status (the kernel's
     * high-water mark, what {@code /usr/bin/time}'s maximum resident set size reports); -1 where
     * there is none (not Linux).
     */
    public static long peakResidentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status")))
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.substring(6).replace("kB", "").trim()) << 10;
        } catch (IOException | RuntimeException ignored) {
            // not Linux
        }
        return -1;
    }

    /**
     * Starts {@link #peakResidentBytes()} again from the memory resident now (Linux 4.0+: "5" into
     * /proc/self/clear_refs), so that a measurement after it reports its own peak and not an
     * earlier one's (gan bench's probe). Whether it could: false where the kernel has no such file.
     */
    public static boolean resetPeakResident() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
