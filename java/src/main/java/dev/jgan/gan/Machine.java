package dev.jgan.gan;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The machine a run trained on, for config.json and the run report. */
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
}
