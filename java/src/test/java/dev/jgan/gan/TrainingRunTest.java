package dev.jgan.gan;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jgan.UserError;
import dev.jgan.backend.AlgorithmChoice;
import dev.jgan.backend.Backend;
import dev.jgan.cpu.CpuBackend;
import dev.jgan.cuda.CudaBackend;
import dev.jgan.cuda.emulated.EmulatedDevice;
import dev.jgan.cuda.emulated.EmulatedLauncher;
import dev.jgan.io.Json;
import dev.jgan.io.MetricsLog;
import dev.jgan.io.Safetensors;
import dev.jgan.nn.Activation;
import dev.jgan.nn.BatchNorm;
import dev.jgan.nn.Conv2d;
import dev.jgan.nn.ConvTranspose2d;
import dev.jgan.nn.Dense;
import dev.jgan.nn.Flatten;
import dev.jgan.nn.Layer;
import dev.jgan.nn.Reshape;
import dev.jgan.tensor.Shape;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.jgan.io.ImageGrid;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A short mlp-gan run on tiny IDX data: every output is written, and resuming equals not stopping. */
class TrainingRunTest {
    private static Backend backend;

    @BeforeAll static void open() { backend = new CpuBackend(2); }

    @AfterAll static void close() { backend.close(); }

    private static TrainConfig config(Path data, long steps) { return config("mlp-gan", data, steps, 16, 4, 6); }

    private static TrainConfig config(String preset, Path data, long steps, int batch, int logEvery, int checkpointEvery) {
        return TrainConfig.builder(Presets.get(preset)).dataset("fashion-mnist").dataDir(data.toString()).seed(5)
                .batch(batch).steps(steps).realLabel(0.9f).labelNoise(0.05f).logEvery(logEvery)
                .sampleEvery(checkpointEvery).checkpointEvery(checkpointEvery).build();
    }

    @Test
    void writesEveryOutput(@TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 100);
        Path run = tmp.resolve("run");
        TrainingRun.Result r = new TrainingRun(backend, run, s -> {}).start(config(data, 12), 0, TrainingRun.Progress.NONE);

        assertTrue(Files.size(run.resolve("config.json")) > 0, "config.json written");
        List<Map<String, Object>> lines = MetricsLog.read(run.resolve("metrics.jsonl"));
        assertEquals(List.of(4, 8, 12), lines.stream().map(m -> ((Number) m.get("step")).intValue()).toList(), "one line per log interval");
        for (String k : List.of("d_loss", "d_acc_real", "d_acc_fake", "g_loss", "d_x", "d_g_z", "img_per_s", "epoch"))
            assertTrue(lines.get(0).containsKey(k), "metrics line has " + k + ": " + lines.get(0));
        assertTrue(Files.exists(run.resolve("samples/step-0000006.png")) && Files.exists(run.resolve("samples/step-0000012.png")),
                "sample grids at every interval and at the end");
        // batch 16 < 25: the grid is still 5x5, drawn from two batches of fixed noise
        Path grid25 = tmp.resolve("grid25.png");
        ImageGrid.writePng(grid25, new float[25 * 784], 25, 1, 28, 28, 5, 2);
        BufferedImage want = ImageIO.read(grid25.toFile()), got = ImageIO.read(run.resolve("samples/step-0000012.png").toFile());
        assertEquals(want.getWidth() + "x" + want.getHeight(), got.getWidth() + "x" + got.getHeight(), "a 5x5 grid at batch 16");
        assertEquals(run.resolve("checkpoints/step-0000012.safetensors"), r.checkpoint());
        Safetensors.Contents ck = Safetensors.read(r.checkpoint());
        for (String k : List.of("g.0.weight", "g.2.running_mean", "g.2.running_var", "d.1.weight", "d.5.bias",
                "g.0.weight.exp_avg", "d.1.weight.exp_avg_sq"))
            assertTrue(ck.tensors().containsKey(k), "checkpoint holds " + k);
        assertEquals("12", ck.metadata().get("step"));
        assertEquals("mlp-gan", ck.metadata().get("preset"));
        assertTrue(ck.metadata().get("config").contains("\"batch\":16"), "config in the metadata");
    }

    /**
     * On the CUDA backend (emulated device) a run saves its convolution algorithms in
     * algorithms.json, and a resumed run hands them to its fresh backend before the first step:
     * the file is edited here to the other (slower) algorithm, which find would never choose, so
     * the resumed backend computing with it shows the file was used and find was not. The CPU
     * backend has no choices and writes no file.
     */
    @Test
    void savesTheAlgorithmChoicesAndAResumedRunUsesThem(@TempDir Path tmp) throws Exception {
        assumeTrue(EmulatedLauncher.bundledLibrary().isPresent(), "the CUDA host emulation library is not built");
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 100);
        Path run = tmp.resolve("run");
        Presets.register(SMALL_CONV);
        try {
            algorithmChoices(data, run);
        } finally {
            Presets.unregister(SMALL_CONV.name());
        }

        Path cpuRun = tmp.resolve("cpu");
        new TrainingRun(backend, cpuRun, s -> {}).start(config("dcgan-28", data, 1, 4, 1, 1), 0, TrainingRun.Progress.NONE);
        assertFalse(Files.exists(cpuRun.resolve(TrainingRun.ALGORITHMS)), "the CPU backend makes no choices");
    }

    /**
     * dcgan-28's kinds of layer at a few channels (the emulated convolutions are plain Java, and
     * dcgan-28's widths made this test take half a minute): G Dense, ConvTranspose2d 8 -> 4 -> 1,
     * batch norm; D Conv2d 1 -> 4 -> 8, Dense.
     */
    private static final Preset SMALL_CONV = Preset.builder("test-small-conv").item(Shape.of(1, 28, 28)).zDim(8)
            .generator(c -> List.<Layer>of(new Dense(8, 8 * 49), new Reshape(8, 7, 7), new ConvTranspose2d(8, 4, 4, 2, 1, 0, false),
                    new BatchNorm(4, 0.1f, 1e-5f), new Activation.LeakyReLU(0.2f), new ConvTranspose2d(4, c, 4, 2, 1, 0, true), new Activation.Tanh()))
            .discriminator(c -> List.<Layer>of(new Conv2d(c, 4, 4, 2, 1, true), new Activation.LeakyReLU(0.2f), new Conv2d(4, 8, 4, 2, 1, true),
                    new Activation.LeakyReLU(0.2f), new Flatten(), new Dense(8 * 49, 1)))
            .build();

    private static void algorithmChoices(Path data, Path run) throws Exception {
        TrainConfig c = config(SMALL_CONV.name(), data, 2, 4, 1, 2);   // one sample grid, at the end
        try (CudaBackend cuda = EmulatedDevice.open(64L << 20)) {
            new TrainingRun(cuda, run, s -> {}).start(c, 0, TrainingRun.Progress.NONE);
        }
        Path file = run.resolve(TrainingRun.ALGORITHMS);
        JsonNode doc = Json.readTree(file);
        assertEquals("cuda", doc.get("backend").asText());
        AlgorithmChoice[] saved = Json.MAPPER.treeToValue(doc.get("algorithms"), AlgorithmChoice[].class);
        assertTrue(saved.length >= 3, "forward, backward data and backward filter of the convolutions: " + saved.length);
        for (AlgorithmChoice a : saved) {
            assertEquals("im2col+gemm", a.name(), "find's choice on the emulated device: " + a);
            assertTrue(a.deterministic());
        }

        String direct = Files.readString(file).replace("\"id\" : 1", "\"id\" : 0").replace("im2col+gemm", "direct")
                .replaceAll("\"workspaceBytes\" : \\d+", "\"workspaceBytes\" : 0");
        Files.writeString(file, direct);
        try (CudaBackend cuda = EmulatedDevice.open(64L << 20)) {
            new TrainingRun(cuda, run, s -> {}).resume(null, 3, TrainingRun.Progress.NONE);
            List<AlgorithmChoice> used = cuda.algorithmChoices();
            assertEquals(saved.length, used.size());
            for (AlgorithmChoice a : used) assertEquals("direct", a.name(), "the resumed run took the file's algorithm: " + a);
            assertEquals(0, cuda.workspaceBytes(), "direct needs no workspace; find's choice would");
        }
    }

    /** Label noise and (in dcgan-28) dropout draw random numbers too: the resumed run must draw the same. */
    /** In colour too (the gray digits read as 3 channels), and with --flip, which draws its own random bits. */
    @ParameterizedTest(name = "{0} c={3} flip={4}")
    @CsvSource({"mlp-gan, 12, 16, 0, false", "dcgan-28, 6, 8, 0, false", "dcgan-64, 3, 4, 0, false", "mlp-gan, 6, 16, 3, true",
            "dcgan-28, 4, 8, 3, true", "dcgan-64, 2, 4, 3, true"})
    void resumeReproducesAnUninterruptedRun(String preset, int half, int batch, int channels, boolean flip, @TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 100);
        Path straight = tmp.resolve("straight"), split = tmp.resolve("split");
        int log = Math.max(1, half / 3);
        TrainConfig whole = config(preset, data, 2 * half, batch, log, half / 2).toBuilder().channels(channels).flip(flip).build();
        new TrainingRun(backend, straight, s -> {}).start(whole, 0, TrainingRun.Progress.NONE);
        new TrainingRun(backend, split, s -> {}).start(whole.withSteps(half), 0, TrainingRun.Progress.NONE);
        new TrainingRun(backend, split, s -> {}).resume(null, 2 * half, TrainingRun.Progress.NONE);
        TrainConfig saved = Checkpoints.read(Checkpoints.latest(split)).config();
        assertEquals(channels == 0 ? 1 : channels, saved.channels(), "the checkpoint records the channels trained on");
        assertEquals(flip, saved.flip());

        List<Map<String, Object>> a = MetricsLog.read(straight.resolve("metrics.jsonl"));
        List<Map<String, Object>> b = MetricsLog.read(split.resolve("metrics.jsonl"));
        assertEquals(a.size(), b.size(), "as many metrics lines");
        for (int i = 0; i < a.size(); i++)
            for (String k : List.of("step", "d_loss", "g_loss", "d_x", "d_g_z", "d_acc_real", "d_acc_fake"))
                assertEquals(a.get(i).get(k), b.get(i).get(k), k + " at line " + i);
        var ca = Safetensors.read(Checkpoints.latest(straight)).tensors();
        var cb = Safetensors.read(Checkpoints.latest(split)).tensors();
        assertEquals(ca.keySet(), cb.keySet());
        for (String k : ca.keySet()) assertArrayEquals(ca.get(k).data(), cb.get(k).data(), 0f, k + " equal after resume");
    }

    /**
     * --minutes: a run with no step limit stops at the first step past its training-time budget and
     * checkpoints there; the checkpoint holds the time, so a resume with the same budget has none
     * left (one line) and one with a larger budget continues to it.
     */
    @Test
    void aTimeBudgetEndsTheRunAndResumesWithItsTimeSoFar(@TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 100);
        Path run = tmp.resolve("run");
        double minutes = 0.005;   // 0.3 s: some steps of mlp-gan at batch 16, far from any step limit
        TrainConfig c = config(data, Long.MAX_VALUE).toBuilder().minutes(minutes).checkpointEvery(1_000_000).build();
        TrainingRun.Result r = new TrainingRun(backend, run, s -> {}).start(c, 0, TrainingRun.Progress.NONE);
        Checkpoints.Loaded ck = Checkpoints.read(r.checkpoint());
        long steps = ck.step(), nanos = Long.parseLong(ck.metadata().get("train_nanos"));
        assertTrue(steps > 0 && steps < 1_000_000, "stopped by the budget at step " + steps);
        assertTrue(nanos >= minutes * 60e9 && nanos < minutes * 60e9 + 10e9, "trained " + nanos / 1e9 + " s, the budget " + minutes * 60 + " s");
        Object trainS = MetricsLog.read(run.resolve("metrics.jsonl")).getLast().get("train_s");
        assertEquals(Math.round(nanos / 1e7) / 100.0, ((Number) trainS).doubleValue(), 1e-9, "the last metrics line says the training time");

        UserError spent = assertThrows(UserError.class, () -> new TrainingRun(backend, run, s -> {}).resume(null, 0, TrainingRun.Progress.NONE));
        assertTrue(spent.getMessage().contains("pass --minutes M with M > "), spent.getMessage());
        double larger = nanos / 60e9 + minutes;   // the first steps (JIT, oneDNN's primitives) may have taken more than the budget
        TrainingRun.Result more = new TrainingRun(backend, run, s -> {}).resume(null, 0, larger, TrainingRun.Progress.NONE);
        Checkpoints.Loaded after = Checkpoints.read(more.checkpoint());
        assertTrue(after.step() > steps, "the larger budget trained on: step " + after.step() + " after " + steps);
        assertTrue(Long.parseLong(after.metadata().get("train_nanos")) >= larger * 60e9, "the time is the whole run's");
    }
}
