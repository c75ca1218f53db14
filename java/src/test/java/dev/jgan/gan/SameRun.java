package dev.jgan.gan;

import dev.jgan.io.MetricsLog;
import dev.jgan.io.Safetensors;
import dev.jgan.io.Safetensors.TensorData;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A run stopped and resumed against the same run uninterrupted: every metrics line and every checkpoint tensor the same. */
final class SameRun {
    /** Timing keys differ between any two runs; everything else in a metrics line must not. */
    static final Set<String> TIMING = Set.of("img_per_s", "data_ms", "train_s");

    private SameRun() {}

    /** The uninterrupted run's metrics lines and last checkpoint's tensors, which the resumed run matched. */
    record Straight(List<Map<String, Object>> metrics, Map<String, TensorData> tensors) {}

    /** Asserts that run {@code split} (stopped and resumed) equals {@code straight}: metrics but timing, and its newest checkpoint bit for bit. */
    static Straight assertSame(Path straight, Path split) {
        List<Map<String, Object>> a = MetricsLog.read(straight.resolve("metrics.jsonl"));
        List<Map<String, Object>> b = MetricsLog.read(split.resolve("metrics.jsonl"));
        assertEquals(a.size(), b.size(), "as many metrics lines");
        for (int i = 0; i < a.size(); i++)
            for (String k : a.get(i).keySet())
                if (!TIMING.contains(k)) assertEquals(a.get(i).get(k), b.get(i).get(k), k + " at line " + i);
        var ca = Safetensors.read(Checkpoints.latest(straight)).tensors();
        var cb = Safetensors.read(Checkpoints.latest(split)).tensors();
        assertEquals(ca.keySet(), cb.keySet());
        for (String k : ca.keySet()) assertArrayEquals(ca.get(k).data(), cb.get(k).data(), 0f, k + " equal after resume");
        return new Straight(a, ca);
    }
}
