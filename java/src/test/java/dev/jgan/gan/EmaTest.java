package dev.jgan.gan;

import dev.jgan.backend.Backend;
import dev.jgan.cpu.CpuBackend;
import dev.jgan.io.MetricsLog;
import dev.jgan.io.Safetensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Generator EMA: the update rule on a real model by hand, checkpoints with and without it, and
 * that it changes nothing of the training itself (the live G of an EMA run is the plain run's G).
 */
class EmaTest {
    private static Backend backend;

    @BeforeAll static void open() { backend = new CpuBackend(2); }

    @AfterAll static void close() { backend.close(); }

    static TrainConfig config(Path data, long steps, float ema) {
        return TrainConfig.builder(Presets.get("mlp-gan")).dataset("fashion-mnist").dataDir(data.toString()).seed(5)
                .batch(16).steps(steps).logEvery(2).sampleEvery(4).checkpointEvery(4).gEma(ema).build();
    }

    /** With G spectrally normalised, the EMA generator computes with G's latest u and v (its inference forwards iterate none). */
    @Test
    void theEmaGeneratorTakesGsSpectralVectors(@TempDir Path tmp) {
        Path data = TinyData.write(tmp, 64);
        TrainConfig c = TrainConfig.builder(Presets.get("mlp-gan-small")).dataset("fashion-mnist").dataDir(data.toString()).seed(5)
                .batch(8).steps(2).gEma(0.9f).spectralNorm("g").build();
        GanModel m = new GanModel(backend, c.model(), 8, c.seed(), true);
        GanTrainer t = new GanTrainer(m, c, DataSources.open(c, m.preset()));
        Map<String, Tensor> state = m.state();
        float[] before = state.get("g.0.weight_u").toHost();
        t.step();
        float[] after = state.get("g.0.weight_u").toHost();
        assertFalse(Arrays.equals(before, after), "G's training forward iterated");
        assertArrayEquals(after, state.get("g_ema.0.weight_u").toHost(), 0f, "the EMA generator's u is G's");
        assertArrayEquals(state.get("g.2.weight_v").toHost(), state.get("g_ema.2.weight_v").toHost(), 0f, "and v");
    }

    /**
     * After one step from g0 to g1, g_ema = d g0 + (1 - d) g1 (weights, by hand); its batch-norm
     * running mean is then re-estimated for those weights: the mean over the EMA stream's 1024
     * noise vectors of the first BN layer's input, LeakyReLU(z W^T + b), computed here on the host.
     */
    @Test
    void oneStepByHand(@TempDir Path tmp) {
        Path data = TinyData.write(tmp, 64);
        float decay = 0.75f;
        TrainConfig c = config(data, 1, decay);
        GanModel m = new GanModel(backend, Presets.get("mlp-gan"), 16, c.seed(), true);
        GanTrainer t = new GanTrainer(m, c, DataSources.open(c, m.preset()));
        Map<String, Tensor> state = m.state();
        for (String k : List.of("g.0.weight", "g.0.bias"))
            assertArrayEquals(state.get(k).toHost(), state.get("g_ema." + k.substring(2)).toHost(), 0f, k + ": the EMA starts as G");
        float[] w0 = state.get("g.0.weight").toHost();
        t.step();
        float[] w1 = state.get("g.0.weight").toHost(), ew = state.get("g_ema.0.weight").toHost();
        for (int i = 0; i < w0.length; i += 97)
            assertEquals(0.75f * w0[i] + 0.25f * w1[i], ew[i], 0f, "weight " + i + ": two products and a sum in float");
        assertFalse(Arrays.equals(w0, w1), "the step moved G");

        m.refreshEmaStatistics();
        float[] w = ew, bias = state.get("g_ema.0.bias").toHost(), runningMean = state.get("g_ema.2.running_mean").toHost();
        int zDim = 100, width = 256, batches = GanModel.EMA_BN_IMAGES / 16;
        double[] mean = new double[width];
        RngStream noise = new RngStream(GanModel.key(c.seed(), GanModel.Stream.EMA), 1L << 40);
        Tensor z = backend.allocate(Shape.of(16, zDim));
        for (int k = 0; k < batches; k++) {
            backend.fillNormal(z, 0f, 1f, noise.seed(), noise.take(z.size()));
            float[] zh = z.toHost();
            for (int r = 0; r < 16; r++)
                for (int j = 0; j < width; j++) {
                    double v = bias[j];
                    for (int i = 0; i < zDim; i++) v += (double) zh[r * zDim + i] * w[j * zDim + i];
                    mean[j] += (v > 0 ? v : 0.2 * v) / GanModel.EMA_BN_IMAGES;
                }
        }
        for (int j = 0; j < width; j++)
            assertEquals(mean[j], runningMean[j], 1e-5 + 1e-4 * Math.abs(mean[j]),
                    "running mean " + j + ": the average of the batch means (float sums over 16 rows, 64 averaging steps)");
    }

    /**
     * The same run with and without --g-ema: every checkpoint loads, the EMA run's live G (--no-ema)
     * draws exactly the plain run's samples, and its EMA G draws others. Resuming keeps the EMA.
     */
    @Test
    void checkpointsWithAndWithoutEmaLoad(@TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 100);
        Path plain = tmp.resolve("plain"), ema = tmp.resolve("ema"), split = tmp.resolve("split");
        new TrainingRun(backend, plain, s -> {}).start(config(data, 8, 0f), 0, TrainingRun.Progress.NONE);
        new TrainingRun(backend, ema, s -> {}).start(config(data, 8, 0.9f), 0, TrainingRun.Progress.NONE);
        Checkpoints.Loaded a = Checkpoints.read(Checkpoints.latest(plain)), b = Checkpoints.read(Checkpoints.latest(ema));
        assertFalse(a.hasEma());
        assertTrue(b.hasEma() && b.tensors().containsKey("g_ema.2.running_var"), "g_ema.* saved");

        float[] plainSamples = Generation.generate(backend, a, 20, 7);
        assertArrayEquals(plainSamples, Generation.generate(backend, a, 20, 7, false), 0f, "no EMA saved: --no-ema changes nothing");
        assertArrayEquals(plainSamples, Generation.generate(backend, b, 20, 7, false), 0f, "EMA does not change training");
        assertFalse(Arrays.equals(plainSamples, Generation.generate(backend, b, 20, 7, true)), "the EMA G differs");

        new TrainingRun(backend, split, s -> {}).start(config(data, 4, 0.9f), 0, TrainingRun.Progress.NONE);
        new TrainingRun(backend, split, s -> {}).resume(null, 8, TrainingRun.Progress.NONE);
        var whole = Safetensors.read(Checkpoints.latest(ema)).tensors();
        var resumed = Safetensors.read(Checkpoints.latest(split)).tensors();
        assertEquals(whole.keySet(), resumed.keySet());
        for (String k : whole.keySet()) assertArrayEquals(whole.get(k).data(), resumed.get(k).data(), 0f, k + " equal after resume");
        List<Map<String, Object>> rows = MetricsLog.read(split.resolve("metrics.jsonl"));
        assertEquals(4, rows.size(), "steps 2, 4, 6, 8");
        assertTrue(Files.isRegularFile(split.resolve("report.html")), "the report is written at sample intervals");
    }
}
