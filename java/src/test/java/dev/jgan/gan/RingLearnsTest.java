package dev.jgan.gan;

import dev.jgan.backend.Backend;
import dev.jgan.cpu.CpuBackend;
import dev.jgan.data.ModeCoverage;
import dev.jgan.data.RingOfGaussians;
import dev.jgan.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The trainer really learns: a fixed-seed run on the ring of 8 Gaussians covers most modes with
 * most samples near one; and the same check fails for a generator that cannot learn, so the check
 * itself can fail.
 */
class RingLearnsTest {
    /** The preset's default length: seeds 1-3 reached 8 modes and 77-81% quality by then (over 70% from step 3000). */
    private static final int STEPS = 4000;
    /** At least 6 of the 8 modes, each holding at least 1% of the samples within 3 std. */
    private static final int MIN_MODES = 6;
    /** At least 70% of samples within 3 std of some mode. */
    private static final double MIN_QUALITY = 0.70;
    /** Generated points measured: 8 batches of the preset's 256. */
    private static final int SAMPLE_BATCHES = 8;

    private static Backend backend;

    @BeforeAll static void open() { backend = new CpuBackend(2); }

    @AfterAll static void close() { backend.close(); }

    @Test
    void ringRunCoversTheModes() {
        ModeCoverage.Result r = train(TrainConfig.defaults(Presets.get("ring")), STEPS);
        assertTrue(r.modesCovered() >= MIN_MODES && r.highQualityFraction() >= MIN_QUALITY,
                "trained ring GAN: " + r.modesCovered() + " modes covered, " + r.highQualityFraction()
                        + " of samples within 3 std (need " + MIN_MODES + " and " + MIN_QUALITY + ")");
    }

    /**
     * Every loss at the preset's recipe (wgan: its own, RMSprop 5e-5, 5 critic steps, clipping at
     * 0.01) covers the modes in the same 4000 G steps. Measured with seed 1: hinge 7 modes and 76%
     * of samples within 3 std, lsgan 8 and 77%, minimax 8 and 78%, wgan 8 but 16%: WGAN with
     * clipping at the paper's rate is still spreading its mass between the modes by then (the
     * README says so), so its quality is not asked for; its 5 critic steps make it a slow test
     * (30 s on 2 cores), run with the others tagged slow.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"hinge", "lsgan", "minimax"})
    void eachLossCoversTheModes(String loss) {
        assertCoversTheModes(loss, MIN_QUALITY);
    }

    @Test
    @Tag("slow")
    void wganCoversTheModes() {
        assertCoversTheModes("wgan", 0);
    }

    private static void assertCoversTheModes(String loss, double quality) {
        ModeCoverage.Result r = train(TrainConfig.builder(Presets.get("ring")).loss(loss).build(), STEPS);
        assertTrue(r.modesCovered() >= MIN_MODES && r.highQualityFraction() >= quality,
                "ring GAN with --loss " + loss + ": " + r.modesCovered() + " modes covered, " + r.highQualityFraction()
                        + " of samples within 3 std (need " + MIN_MODES + " and " + quality + ")");
    }

    @Test
    void theSameCheckFailsWhenTheGeneratorCannotLearn() {
        // G's steps are scaled to nothing: its gradient has no effect, as if it were zeroed. G is
        // then the same after 100 steps as after STEPS, so 100 do.
        TrainConfig broken = TrainConfig.builder(Presets.get("ring")).lrG(1e-20f).build();
        ModeCoverage.Result r = train(broken, 100);
        assertFalse(r.modesCovered() >= MIN_MODES && r.highQualityFraction() >= MIN_QUALITY,
                "an untrained generator passed the coverage check: " + r.modesCovered() + " modes, " + r.highQualityFraction());
    }

    private static ModeCoverage.Result train(TrainConfig c, int steps) {
        Preset p = Presets.get("ring");
        GanModel m = new GanModel(backend, p, c.batch(), c.seed());
        GanTrainer t = new GanTrainer(m, c.withSteps(steps), DataSources.open(c, p));
        for (int i = 0; i < steps; i++) t.step();
        assertTrue(t.readStats().finite(), "losses finite after training");
        int n = c.batch() * SAMPLE_BATCHES;
        float[] xy = new float[2 * n];
        Tensor z = backend.allocate(m.noiseShape());
        for (int k = 0; k < SAMPLE_BATCHES; k++) {
            backend.fillNormal(z, 0f, 1f, 99, (long) k * z.size());
            System.arraycopy(m.generate(z).toHost(), 0, xy, k * 2 * c.batch(), 2 * c.batch());
        }
        RingOfGaussians ring = new RingOfGaussians();
        return ModeCoverage.measure(xy, n, ring.modes(), ring.std());
    }
}
