package dev.jgan.bench.lab;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jgan.gan.Machine;
import dev.jgan.io.Json;
import dev.jgan.lab.KernelLab;
import dev.jgan.lab.Variant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A result's numbers (GB/s, percent of roofline, the above-roofline flag) and its JSON line. */
class ResultLogTest {
    static final Measurement.Peaks PEAKS = new Measurement.Peaks(50, 200, "STREAM triad", "FMA loop");

    /** BN train at 64x1024: 8 B/element, 7 flops/element, 10 us per call. */
    static Measurement bnTrain(double seconds) {
        BenchOp bn = BenchOp.of(dev.jgan.lab.LabOp.BATCH_NORM);
        return new Measurement("baseline", "train", "64x1024", seconds, 6, bn.bytesPerCall("train", "64x1024"),
                bn.flopsPerCall("train", "64x1024"), PEAKS);
    }

    @Test
    void gigabytesAndPercentOfTheMeasuredRoofline() {
        Measurement m = bnTrain(10e-6);
        assertEquals(8.0 * 65536 / 10e-6 / 1e9, m.gbPerS(), 1e-9);   // 52.4 GB/s
        assertEquals(100 * m.gbPerS() / 50, m.percentBandwidth(), 1e-9);
        assertEquals(7.0 * 65536 / 10e-6 / 1e9 / 200 * 100, m.percentFma(), 1e-9);
        assertTrue(m.aboveRoofline(), "52 GB/s on a 50 GB/s machine");
        assertTrue(m.row(m.variant()).contains("measurement bug?"), m.row(m.variant()));
        Measurement slow = bnTrain(1e-3);
        assertFalse(slow.aboveRoofline());
        assertFalse(slow.row(slow.variant()).contains("measurement bug"));
        assertFalse(m.fitsCache(), "no cache in PEAKS");
        // 0.5 MB a call fits a 32 MiB cache of 200 GB/s: 52 GB/s is 26% of that, not above it
        Measurement cached = new Measurement("baseline", "train", "64x1024", 10e-6, 6, m.bytes(), m.flops(),
                new Measurement.Peaks(50, 200, "STREAM triad", "FMA loop", 32L << 20, 200));
        assertTrue(cached.fitsCache());
        assertEquals(100 * cached.gbPerS() / 200, cached.percentBandwidth(), 1e-9);
        assertFalse(cached.aboveRoofline(), cached.row("baseline"));
        assertTrue(cached.row("baseline").contains("%c"), cached.row("baseline"));
        Measurement big = new Measurement("baseline", "train", "64x64x32x32", 1e-3, 6, 40e6, 0,
                new Measurement.Peaks(50, 200, "STREAM triad", "FMA loop", 32L << 20, 200));
        assertFalse(big.fitsCache(), "40 MB does not fit 32 MiB: memory's roofline");
        assertEquals(100 * 40e6 / 1e-3 / 1e9 / 50, big.percentBandwidth(), 1e-9);
        assertTrue(slow.row("baseline").contains("1.000 ms"), slow.row("baseline"));
    }

    @Test
    void aJsonLineHasTheMachineCommitCommandSourceHashAndNumbers(@TempDir Path tmp) throws Exception {
        Variant v = KernelLab.find("batch_norm:baseline", Variant.Device.CPU).getFirst();
        Path source = tmp.resolve(v.source());
        Files.createDirectories(source.getParent());
        Files.writeString(source, "class BatchNorm {}\n");
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(source)));
        Path file = tmp.resolve("kernel-lab.jsonl");
        ResultLog log = new ResultLog(file, Map.of("cpu", "AMD EPYC", "cores", 2), "0123456789abcdef0123456789abcdef01234567",
                "gan kernels bench batch_norm --vs baseline", "cpu", tmp);
        log.append(v, bnTrain(1e-3), Map.of("vs", "batch_norm:baseline", "speedup_vs", 1.0));
        log.append(v, bnTrain(2e-3), Map.of());

        List<String> lines = Files.readAllLines(file);
        assertEquals(2, lines.size(), "appended, one line each");
        JsonNode j = Json.MAPPER.readTree(lines.getFirst());
        assertEquals("AMD EPYC", j.at("/machine/cpu").asText());
        assertEquals(2, j.at("/machine/cores").asInt());
        assertEquals("0123456789abcdef0123456789abcdef01234567", j.get("commit").asText());
        assertEquals("gan kernels bench batch_norm --vs baseline", j.get("command").asText());
        assertEquals("batch_norm:baseline", j.get("variant_id").asText());
        assertEquals(v.source(), j.get("source").asText());
        assertEquals(sha, j.get("source_sha256").asText());
        assertEquals("64x1024", j.get("shape").asText());
        assertEquals("train", j.get("call").asText());
        assertEquals(1000, j.get("time_us").asDouble(), 1e-9);
        assertEquals(8.0 * 65536 / 1e-3 / 1e9, j.get("gb_per_s").asDouble(), 1e-9);
        assertEquals(100 * j.get("gb_per_s").asDouble() / 50, j.get("percent_bandwidth").asDouble(), 1e-9);
        assertEquals(50, j.at("/roofline/gb_per_s").asDouble());
        assertEquals(200, j.at("/roofline/gflop_per_s").asDouble());
        assertFalse(j.get("above_roofline").asBoolean());
        assertEquals(1.0, j.get("speedup_vs").asDouble());
        assertFalse(Json.MAPPER.readTree(lines.get(1)).has("speedup_vs"));
    }

    @Test
    void aSourceThatIsNoFileHashesAsAbsent(@TempDir Path tmp) throws Exception {
        assertEquals("absent", ResultLog.sourceHash(tmp, "cuBLAS (java/src/main/java/dev/jgan/cuda/Blas.java)"));
        assertEquals("absent", ResultLog.sourceHash(tmp, "kernels/batch_norm.cu"));
        assertEquals("absent", ResultLog.sourceHash(tmp, "../outside"));
        Path dir = Files.createDirectories(tmp.resolve("kernels/lab/batch_norm"));
        Files.writeString(dir.resolve("a.cu"), "a");
        String before = ResultLog.sourceHash(tmp, "kernels/lab/batch_norm");
        assertEquals(64, before.length());
        Files.writeString(dir.resolve("a.cu"), "b");
        assertNotEquals(before, ResultLog.sourceHash(tmp, "kernels/lab/batch_norm"), "an edited kernel hashes differently");
    }

    @Test
    void theCommitIsUnknownOutsideACheckout(@TempDir Path tmp) {
        assertEquals("unknown", Machine.commit(tmp));
    }
}
