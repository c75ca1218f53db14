package dev.jgan.io;

import dev.jgan.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class MetricsLogTest {
    @TempDir Path dir;

    private static Map<String, Object> row(long step, double lossD) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("step", step);
        r.put("epoch", (int) (step / 10));
        r.put("loss_d", lossD);
        return r;
    }

    @Test void appendsOneFlushedLinePerRow() throws IOException {
        Path f = dir.resolve("run/metrics.jsonl");
        try (MetricsLog log = MetricsLog.open(f)) {
            log.append(row(1, 0.5));
            assertEquals("{\"step\":1,\"epoch\":0,\"loss_d\":0.5}\n", Files.readString(f), "flushed before close");
            log.append(row(2, Double.NaN));
        }
        List<Map<String, Object>> rows = MetricsLog.read(f);
        assertEquals(2, rows.size());
        assertEquals(1, ((Number) rows.get(0).get("step")).intValue());
        assertEquals(0.5, rows.get(0).get("loss_d"));
        assertEquals("NaN", rows.get(1).get("loss_d"), "NaN stays valid JSON");
        assertEquals(List.of("step", "epoch", "loss_d"), List.copyOf(rows.get(0).keySet()));
    }

    @Test void resumeDropsTheStepsAfterTheCheckpoint() throws IOException {
        Path f = dir.resolve("metrics.jsonl");
        try (MetricsLog log = MetricsLog.open(f)) {
            for (int s = 1; s <= 5; s++) log.append(row(s * 100, s));
            log.append(Map.of("event", "sampled"));  // no step: kept
        }
        try (MetricsLog log = MetricsLog.resume(f, 300)) {
            log.append(row(400, 9));
        }
        List<Map<String, Object>> rows = MetricsLog.read(f);
        assertEquals(List.of(100, 200, 300, "sampled", 400), rows.stream()
                .map(r -> r.containsKey("step") ? (Object) ((Number) r.get("step")).intValue() : r.get("event")).toList());
        assertEquals(9.0, ((Number) rows.get(4).get("loss_d")).doubleValue());
    }

    @Test void aLineCutOffByACrashIsIgnoredAndRemoved() throws IOException {
        Path f = dir.resolve("metrics.jsonl");
        Files.writeString(f, "{\"step\":1}\n{\"step\":2}\n{\"step\":3,\"los");
        assertEquals(2, MetricsLog.read(f).size());
        try (MetricsLog log = MetricsLog.open(f)) {  // appending after a crash cuts the partial row away
            log.append(Map.of("step", 4));
        }
        assertEquals("{\"step\":1}\n{\"step\":2}\n{\"step\":4}\n", Files.readString(f));
    }

    @Test void aCompleteLastRowWithoutNewlineIsKept() throws IOException {
        Path f = dir.resolve("metrics.jsonl");
        Files.writeString(f, "{\"step\":1}");
        try (MetricsLog log = MetricsLog.open(f)) {
            log.append(Map.of("step", 2));
        }
        assertEquals("{\"step\":1}\n{\"step\":2}\n", Files.readString(f));
    }

    @Test void resumeRemovesACutOffLastLine() throws IOException {
        Path f = dir.resolve("metrics.jsonl");
        Files.writeString(f, "{\"step\":1}\n{\"step\":2}\n{\"step\":3,\"los");
        MetricsLog.resume(f, 2).close();
        assertEquals("{\"step\":1}\n{\"step\":2}\n", Files.readString(f));
    }

    @Test void aCorruptLineInTheMiddleIsAUserError() throws IOException {
        Path f = dir.resolve("metrics.jsonl");
        Files.writeString(f, "{\"step\":1}\nnot json\n{\"step\":3}\n");
        UserError e = assertThrows(UserError.class, () -> MetricsLog.read(f));
        assertTrue(e.getMessage().startsWith("metrics file " + f + " is corrupt: line 2 is not a JSON object"), e.getMessage());
        assertThrows(UserError.class, () -> MetricsLog.resume(f, 1));
    }

    @Test void missingFileAndUnwritableDirectory() throws IOException {
        Path f = dir.resolve("none.jsonl");
        assertEquals("metrics file " + f + " not found", assertThrows(UserError.class, () -> MetricsLog.read(f)).getMessage());
        MetricsLog.resume(f, 10).close();  // resuming a run that never logged: creates the file
        assertTrue(Files.exists(f));
        Path blocker = Files.writeString(dir.resolve("run"), "");
        UserError e = assertThrows(UserError.class, () -> MetricsLog.open(blocker.resolve("metrics.jsonl")));
        assertEquals("cannot write to " + blocker + ": a file of that name is in the way", e.getMessage());
    }

    @Test void appendingToAnExistingLogKeepsItsRows() throws IOException {
        Path f = dir.resolve("metrics.jsonl");
        Files.writeString(f, "{\"step\":1}\n", StandardOpenOption.CREATE);
        try (MetricsLog log = MetricsLog.open(f)) {
            log.append(Map.of("step", 2));
        }
        assertEquals("{\"step\":1}\n{\"step\":2}\n", Files.readString(f));
    }
}
