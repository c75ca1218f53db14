package dev.jgan.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jgan.backend.Precision;
import dev.jgan.gan.Bench;
import dev.jgan.io.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import static dev.jgan.cli.CliTest.failsWith;
import static dev.jgan.cli.CliTest.gan;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `gan bench`: its lists, its line (the peer script's four fields first), and a sweep whose configurations each run in a JVM of their own. */
class BenchCommandTest {
    /** The peer script's format (shared/peers/torch_gan_bench.py), which the comparison scripts parse: the first four fields of every line. */
    private static final Pattern PEER = Pattern.compile("[a-z0-9-]+\tbatch=\\d+\t\\d+\\.\\d\\d ms/step\t\\d+ img/s");
    /** A result line: the peer's fields, then GFLOP/s, threads, percent of peak and peak RSS. */
    private static final Pattern LINE = Pattern.compile(PEER.pattern()
            + "\t\\d+ GFLOP/s \\(\\d+\\.\\d\\d GFLOP a step\\)\t(\\d+) threads?\t(\\d+\\.\\d%|-) of peak\tpeak RSS (\\d+) MB"
            + "\tdata \\d+\\.\\d{3} ms/step \\(\\d+\\.\\d\\d%\\)");

    @Test
    void aSweepIsEveryCombinationInOrder() {
        Precision fp32 = Precision.FP32, bf16 = Precision.BF16;
        List<BenchCommand.Config> all = BenchCommand.Config.every(List.of("mlp-gan", "dcgan-28"), List.of(16, 64), List.of(1, 2), List.of(fp32, bf16));
        assertEquals(16, all.size());
        assertEquals(new BenchCommand.Config("mlp-gan", 16, 1, fp32), all.getFirst());
        assertEquals(new BenchCommand.Config("mlp-gan", 16, 1, bf16), all.get(1), "precision varies fastest");
        assertEquals(new BenchCommand.Config("mlp-gan", 16, 2, fp32), all.get(2), "then threads");
        assertEquals(new BenchCommand.Config("dcgan-28", 64, 2, bf16), all.getLast());
        assertEquals(List.of("--preset", "dcgan-28", "--batch", "64", "--threads", "2", "--precision", "bf16"), all.getLast().options());
    }

    @Test
    void badListsGetOneLineAndExitTwo() {
        failsWith(2, "'x' is not an int", "bench", "--device", "cpu", "--batch", "0,x");
        failsWith(2, "--batch must be positive, got 0", "bench", "--device", "cpu", "--batch", "16,0");
        failsWith(2, "--threads must be positive, got 0", "bench", "--device", "cpu", "--threads", "1,0");
        failsWith(2, "'' is not an int", "bench", "--device", "cpu", "--threads", "1,,2");
        failsWith(2, "unknown preset 'nope'", "bench", "--device", "cpu", "--preset", "mlp-gan,nope");
        failsWith(2, "--precision: unknown precision 'fp16'", "bench", "--device", "cpu", "--precision", "fp32,fp16");
        failsWith(2, "--threads takes one count here", "check", "--device", "cpu", "--threads", "1,2");
    }

    @Test
    void aChildGetsTheArgumentsLessTheSweptOptions() {
        assertEquals(List.of("--device", "cpu", "--steps", "2", "--profile"),
                BenchCommand.withoutSwept(List.of("--preset", "a,b", "--device", "cpu", "--batch=16,64", "--steps", "2", "--threads", "1,2",
                        "--results=r.jsonl", "--profile")));
    }

    /** The JVM options of a command line: before the main class or -jar, less the class path and argument files. */
    @Test
    void theChildJvmKeepsThisJvmsOptions() {
        assertEquals(List.of("--add-modules", "jdk.incubator.vector", "-Xmx2g", "--enable-native-access=ALL-UNNAMED"),
                ChildJvm.jvmOptions(List.of("--add-modules", "jdk.incubator.vector", "-Xmx2g", "-cp", "a.jar:b", "--enable-native-access=ALL-UNNAMED",
                        "dev.jgan.cli.Main", "bench", "-Xfake")));
        assertEquals(List.of("-Xss4m"), ChildJvm.jvmOptions(List.of("@/tmp/args", "-Xss4m", "-jar", "booter.jar", "-Xnot")));
        List<String> needed = ChildJvm.withEngineNeeds(List.of());
        assertTrue(String.join(" ", needed).contains("jdk.incubator.vector"), "this JVM has the Vector API, so its child gets it: " + needed);
    }

    /** Hand-computed: 1.01 GFLOP in 10 ms is 101 GFLOP/s, half of a 202 GFLOP/s peak. */
    @Test
    void theLineKeepsThePeerFieldsFirst() {
        Bench.Result r = new Bench.Result("mlp-gan", 64, 10.0, 0.05);
        assertEquals("mlp-gan\tbatch=64\t10.00 ms/step\t6400 img/s", r.line());
        Bench.Line l = new Bench.Line(r, 2, 1.01, 412_000_000L);
        assertEquals(r.line() + "\t101 GFLOP/s (1.01 GFLOP a step)\t2 threads\t50.0% of peak\tpeak RSS 412 MB\tdata 0.050 ms/step (0.50%)", l.text(202));
        assertTrue(LINE.matcher(l.text(202)).matches(), l.text(202));
        assertEquals(r.line() + "\t101 GFLOP/s (1.01 GFLOP a step)\t1 thread\t- of peak\tpeak RSS unknown\tdata 0.050 ms/step (0.50%)",
                new Bench.Line(r, 1, 1.01, -1).text(Double.NaN), "no CPU peak, no /proc");
        Bench.Line back = BenchCommand.parseResult(BenchCommand.json(BenchCommand.result(l)));
        assertEquals(l, back, "what a child prints is what the parent reads");
    }

    /** Two configurations: two child JVMs, two lines with their threads and their own peak RSS, two JSON lines. */
    @Test
    void aSweepRunsEachConfigurationInItsOwnJvm(@TempDir Path tmp) throws Exception {
        Path results = tmp.resolve("r.jsonl");
        CliTest.Run r = gan("bench", "--device", "cpu", "--preset", "mlp-gan-small", "--batch", "4,8", "--threads", "1",
                "--steps", "2", "--warmup", "0", "--results", results.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(3, lines.size(), r.out());
        assertTrue(lines.getFirst().startsWith("machine: ") && lines.getFirst().contains("FMA ") && lines.getFirst().contains(" on 1 thread")
                && lines.getFirst().contains("before the steps; each configuration runs in a JVM of its own"), lines.getFirst());
        List<Integer> batches = new ArrayList<>();
        for (String line : lines.subList(1, 3)) {
            var m = LINE.matcher(line);
            assertTrue(m.matches(), line);
            assertEquals("1", m.group(1));
            assertTrue(Long.parseLong(m.group(3)) > 0, line);
            batches.add(Integer.parseInt(line.split("\t")[1].substring("batch=".length())));
        }
        assertEquals(List.of(4, 8), batches);
        List<String> json = Files.readAllLines(results);
        assertEquals(2, json.size());
        for (String j : json) {
            JsonNode n = Json.MAPPER.readTree(j);
            assertTrue(n.get("own_jvm").asBoolean(), j);
            assertTrue(n.get("peak_rss_bytes").asLong() > 0, j);
            assertTrue(n.at("/peak/fma_gflop_per_s_by_threads/1").asDouble() > 0, j);
            assertTrue(n.get("percent_of_peak").asDouble() > 0, j);
            assertEquals("gan bench --device cpu --preset mlp-gan-small --batch 4,8 --threads 1 --steps 2 --warmup 0 --results " + results,
                    n.get("command").asText());
        }
    }

    @Test
    void oneConfigurationRunsInThisJvm() {
        CliTest.Run r = gan("bench", "--device", "cpu", "--preset", "mlp-gan-small", "--batch", "4", "--threads", "1", "--steps", "2", "--warmup", "0");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(2, lines.size(), r.out());
        assertTrue(lines.getFirst().contains("in this JVM, before the steps"), lines.getFirst());
        assertTrue(LINE.matcher(lines.get(1)).matches(), lines.get(1));
        assertFalse(r.err().contains("Exception"), r.err());
    }

    /** --precision sweeps like --threads: an fp32 line as before, a bf16-emulated one ending in its precision, each in the results. */
    @Test
    void aPrecisionSweepLabelsItsLines(@TempDir Path tmp) throws Exception {
        Path results = tmp.resolve("r.jsonl");
        CliTest.Run r = gan("bench", "--device", "cpu", "--preset", "mlp-gan-small", "--batch", "4", "--threads", "1",
                "--precision", "fp32,bf16-emulated", "--steps", "2", "--warmup", "0", "--results", results.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(3, lines.size(), r.out());
        assertTrue(LINE.matcher(lines.get(1)).matches(), lines.get(1));
        assertTrue(lines.get(2).endsWith("\tbf16-emulated") && LINE.matcher(lines.get(2).substring(0, lines.get(2).lastIndexOf('\t'))).matches(),
                lines.get(2));
        List<String> precisions = new ArrayList<>();
        for (String j : Files.readAllLines(results)) precisions.add(Json.MAPPER.readTree(j).get("precision").asText());
        assertEquals(List.of("fp32", "bf16-emulated"), precisions);
    }

    @Test
    void aListOfPrecisionsIsOneLineOutsideBench(@TempDir Path tmp) {
        CliTest.Run r = gan("train", "--device", "cpu", "--preset", "mlp-gan-small", "--precision", "fp32,bf16", "--out", tmp.resolve("o").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--precision takes one value here"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }
}
