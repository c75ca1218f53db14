package dev.jgan.gan;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.io.Safetensors;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The losses (hinge, lsgan, wgan beside the BCE ones) and optimizers (SGD, RMSprop beside Adam)
 * in real runs on every backend: a run stopped and resumed equals one that did not stop, bit for
 * bit; the metrics speak each loss's terms; WGAN's recipe and clipping hold.
 */
class LossesTrainingTest {

    record Recipe(String preset, String loss, String optimizer, String spectralNorm) {
        Recipe(String preset, String loss, String optimizer) { this(preset, loss, optimizer, "none"); }

        @Override public String toString() {
            return preset + " " + loss + " " + optimizer + ("none".equals(spectralNorm) ? "" : " spectral norm " + spectralNorm);
        }
    }

    static Stream<Arguments> recipes() {
        List<Recipe> all = List.of(new Recipe("mlp-gan-small", "hinge", "adam"), new Recipe("mlp-gan-small", "lsgan", "sgd"),
                new Recipe("mlp-gan-small", "wgan", "rmsprop"), new Recipe("mlp-gan-small", "nonsaturating", "rmsprop"),
                new Recipe("dcgan-28", "wgan", "rmsprop"), new Recipe("dcgan-28", "hinge", "sgd"),
                new Recipe("mlp-gan-small", "hinge", "adam", "d"), new Recipe("mlp-gan-small", "nonsaturating", "adam", "both"),
                new Recipe("dcgan-28", "hinge", "adam", "both"));
        // the emulated GPU runs convolutions on the host slowly: the MLP recipes there, all of them on the CPU
        return TestBackends.all().flatMap(b -> all.stream().filter(r -> b.name().equals("cpu") || r.preset().startsWith("mlp"))
                .map(r -> Arguments.of(Named.of(b.name(), b), r)));
    }

    private static TrainConfig config(Recipe r, Path data, int steps) {
        TrainConfig.Builder b = TrainConfig.builder(Presets.get(r.preset())).dataset("fashion-mnist").dataDir(data.toString())
                .seed(7).batch(8).steps(steps).loss(r.loss()).logEvery(3).sampleEvery(steps).checkpointEvery(steps)
                .spectralNorm(r.spectralNorm());
        if (!"wgan".equals(r.loss())) b.optimizer(r.optimizer());   // wgan: its own recipe, RMSprop among it
        return b.build().validate();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("recipes")
    void resumeReproducesAnUninterruptedRun(Backend backend, Recipe recipe, @TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 60);
        Path straight = tmp.resolve("straight"), split = tmp.resolve("split");
        TrainConfig whole = config(recipe, data, 6);
        assertEquals(recipe.optimizer(), whole.optimizer());
        new TrainingRun(backend, straight, s -> {}).start(whole, 0, TrainingRun.Progress.NONE);
        new TrainingRun(backend, split, s -> {}).start(whole.withSteps(3).toBuilder().checkpointEvery(3).build(), 0,
                TrainingRun.Progress.NONE);
        new TrainingRun(backend, split, s -> {}).resume(null, 6, TrainingRun.Progress.NONE);

        SameRun.Straight same = SameRun.assertSame(straight, split);
        List<Map<String, Object>> a = same.metrics();
        var ca = same.tensors();
        String state = switch (recipe.optimizer()) {
            case "adam" -> ".exp_avg_sq";
            case "sgd" -> ".momentum_buffer";
            default -> ".square_avg";
        };
        assertTrue(ca.keySet().stream().anyMatch(k -> k.endsWith(state)), "the checkpoint holds the optimizer's " + state + ": " + ca.keySet());
        SpectralNormOn on = SpectralNormOn.of(recipe.spectralNorm());
        for (String net : List.of("g.", "d."))
            assertEquals(net.equals("g.") ? on.generator() : on.discriminator(),
                    ca.keySet().stream().anyMatch(k -> k.startsWith(net) && k.endsWith(".weight_u")),
                    "the checkpoint holds " + net + "*.weight_u exactly when " + net + " is normalised: " + ca.keySet());

        Map<String, Object> last = a.getLast();
        Loss loss = Loss.of(recipe.loss());
        assertEquals(loss.sigmoid(), last.containsKey("d_x"), "D(x) is written for a sigmoid loss only: " + last.keySet());
        assertEquals(!loss.sigmoid(), last.containsKey("critic_gap"), "critic scores for the others: " + last.keySet());
        assertEquals(loss.hasBoundary(), last.containsKey("d_acc_real"), "accuracies where the loss has a boundary: " + last.keySet());
        if (!loss.sigmoid()) {
            double gap = ((Number) last.get("critic_real")).doubleValue() - ((Number) last.get("critic_fake")).doubleValue();
            assertEquals(gap, ((Number) last.get("critic_gap")).doubleValue(), 1e-6, "the gap is real minus fake");
        }
    }

    /**
     * --diffaugment color,translation,cutout on colour images: a run stopped and resumed equals the
     * uninterrupted one bit for bit (the augmentation draws from the checkpointed noise stream), the
     * policy is in the checkpoint's config, and the augmentation changes the run (the test can fail).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void diffAugmentResumesBitExactly(Backend backend, @TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 40);
        String policy = "color,translation,cutout";
        TrainConfig whole = TrainConfig.builder(Presets.get("mlp-gan-small")).dataset("fashion-mnist").dataDir(data.toString())
                .seed(7).batch(8).steps(4).channels(3).diffAugment(policy).logEvery(2).sampleEvery(4).checkpointEvery(4).build().validate();
        Path straight = tmp.resolve("straight"), split = tmp.resolve("split"), plain = tmp.resolve("plain");
        new TrainingRun(backend, straight, s -> {}).start(whole, 0, TrainingRun.Progress.NONE);
        new TrainingRun(backend, split, s -> {}).start(whole.withSteps(2).toBuilder().checkpointEvery(2).build(), 0,
                TrainingRun.Progress.NONE);
        new TrainingRun(backend, split, s -> {}).resume(null, 4, TrainingRun.Progress.NONE);
        new TrainingRun(backend, plain, s -> {}).start(whole.toBuilder().diffAugment("none").build(), 0, TrainingRun.Progress.NONE);

        assertEquals(policy, Checkpoints.read(Checkpoints.latest(split)).config().diffAugment(), "the policy is in the checkpoint");
        var ca = Safetensors.read(Checkpoints.latest(straight)).tensors();
        var cb = Safetensors.read(Checkpoints.latest(split)).tensors();
        assertEquals(ca.keySet(), cb.keySet());
        for (String k : ca.keySet()) assertArrayEquals(ca.get(k).data(), cb.get(k).data(), 0f, k + " equal after resume");
        float[] augmented = ca.get("g.0.weight").data(), without = Safetensors.read(Checkpoints.latest(plain)).tensors().get("g.0.weight").data();
        assertFalse(java.util.Arrays.equals(augmented, without), "G learns from augmented batches: other weights than without");
    }

    /** WGAN's recipe where no flag says otherwise, and every critic parameter inside the clip after training. */
    @Test
    void wganClipsEveryCriticParameter(@TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 60);
        TrainConfig c = config(new Recipe("mlp-gan-small", "wgan", "rmsprop"), data, 4);
        assertEquals(TrainConfig.WGAN_LR, c.lrG());
        assertEquals(TrainConfig.WGAN_LR, c.lrD());
        assertEquals(TrainConfig.WGAN_D_STEPS, c.dSteps());
        assertEquals(TrainConfig.WGAN_CLIP, c.clip());
        TrainConfig given = TrainConfig.builder(Presets.get("mlp-gan-small")).loss("wgan").lr(1e-4f).dSteps(2).clip(0.05f)
                .optimizer("adam").build();
        assertEquals(List.of(1e-4f, 2, 0.05f, "adam"), List.of(given.lrG(), given.dSteps(), given.clip(), given.optimizer()),
                "what the flags give wins over the recipe");
        TrainConfig hinge = TrainConfig.builder(Presets.get("mlp-gan-small")).loss("hinge").build();
        assertEquals(List.of("adam", 1, 0f), List.of(hinge.optimizer(), hinge.dSteps(), hinge.clip()), "no clipping outside wgan");

        Backend cpu = TestBackends.cpu();
        GanModel m = new GanModel(cpu, c.model(), c.batch(), c.seed());
        GanTrainer t = new GanTrainer(m, c, DataSources.open(c, c.model()));
        float largest = 0;
        for (var p : m.discriminator().parameters())
            for (float v : p.value().toHost()) largest = Math.max(largest, Math.abs(v));
        assertTrue(largest > TrainConfig.WGAN_CLIP, "the untrained critic has weights beyond the clip (" + largest + "): the test can fail");
        for (int i = 0; i < 4; i++) t.step();
        for (var p : m.discriminator().parameters())
            for (float v : p.value().toHost())
                assertTrue(Math.abs(v) <= TrainConfig.WGAN_CLIP, p.name() + " holds " + v + ", outside [-0.01, 0.01]");
        StepStats s = t.readStats();
        assertTrue(Float.isNaN(s.dAccReal()) && Float.isNaN(s.dAccFake()), "WGAN has no accuracy");
        assertTrue(s.summary().contains("gap"), s.summary());
        assertFalse(s.summary().contains("D(x)"), s.summary());
    }

    @Test
    void badRecipesAreOneLine() {
        Preset p = Presets.get("mlp-gan-small");
        UserError e = assertThrows(UserError.class, () -> TrainConfig.builder(p).loss("hinge").realLabel(0.9f).build().validate());
        assertTrue(e.getMessage().contains("--real-label") && e.getMessage().contains("hinge"), e.getMessage());
        e = assertThrows(UserError.class, () -> TrainConfig.builder(p).optimizer("lion").build().validate());
        assertTrue(e.getMessage().contains("unknown optimizer 'lion'"), e.getMessage());
        e = assertThrows(UserError.class, () -> TrainConfig.builder(p).loss("wasserstein-gp").build().validate());
        assertTrue(e.getMessage().contains("hinge, lsgan or wgan"), e.getMessage());
        e = assertThrows(UserError.class, () -> TrainConfig.builder(p).clip(-1f).build().validate());
        assertTrue(e.getMessage().contains("--clip"), e.getMessage());
        e = assertThrows(UserError.class, () -> TrainConfig.builder(p).diffAugment("translation,flip").build().validate());
        assertTrue(e.getMessage().contains("unknown transform 'flip'"), e.getMessage());
        e = assertThrows(UserError.class, () -> TrainConfig.builder(p).diffAugment("cutout,cutout").build().validate());
        assertTrue(e.getMessage().contains("cutout twice"), e.getMessage());
        e = assertThrows(UserError.class, () -> TrainConfig.builder(Presets.get("ring")).diffAugment("cutout").build().validate());
        assertTrue(e.getMessage().contains("points have no pixels"), e.getMessage());
    }
}
