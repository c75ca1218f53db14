package dev.jgan.gan;

import dev.jgan.UserError;

/**
 * Everything that defines a training run besides the preset's architecture. Saved as config.json
 * and in every checkpoint's metadata, so a run can be resumed and reproduced.
 *
 * @param dataset    "fashion-mnist", "mnist", or "ring" for the toy
 * @param dataDir    directory with IDX files that overrides dataset discovery, or null
 * @param steps      generator updates in total
 * @param realLabel  D's target for real samples (0.9 = one-sided label smoothing)
 * @param labelNoise fraction of D's labels flipped at random each batch
 * @param dSteps     D updates per G update, each on a fresh real and fake batch
 * @param gEma       decay of the exponential moving average of G's weights and batch-norm
 *                   statistics (0.999 typical), or 0 for none
 * @param evalEvery  steps between FID and class-coverage measurements logged to metrics.jsonl, or 0
 * @param evalN      generated images per such measurement
 */
public record TrainConfig(
        String preset, String dataset, String dataDir, long seed, int batch, long steps,
        float lrG, float lrD, float beta1, float beta2, String loss, float realLabel, float labelNoise,
        int dSteps, int logEvery, int sampleEvery, int checkpointEvery, float gEma, int evalEvery, int evalN) {
    /** Images generated for each --eval-every measurement unless --eval-n says otherwise. */
    public static final int EVAL_N = 2000;

    /** The preset's own recipe, for {@code steps} steps (its default length when 0). */
    public static TrainConfig defaults(Preset p) {
        return new TrainConfig(p.name(), p.isToy() ? "ring" : p.defaultDataset(), null, 1, p.batch(),
                p.defaultSteps(), p.lrG(), p.lrD(), p.beta1(), p.beta2(), Loss.NONSATURATING.flag(), 1f, 0f,
                1, 100, p.sampleEvery(), 1000, 0f, 0, EVAL_N);
    }

    /** Rejects values no run can use, with one line naming the flag. */
    public TrainConfig validate() {
        check(batch > 0, "--batch must be positive, got " + batch);
        check(steps > 0, "--steps must be positive, got " + steps);
        check(lrG > 0 && lrD > 0, "learning rates must be positive, got " + lrG + " and " + lrD);
        check(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "Adam betas must be in [0, 1)");
        check(realLabel > 0 && realLabel <= 1, "--real-label must be in (0, 1], got " + realLabel);
        check(labelNoise >= 0 && labelNoise < 0.5f, "--label-noise must be in [0, 0.5), got " + labelNoise);
        check(dSteps > 0, "--d-steps must be positive, got " + dSteps);
        check(logEvery > 0 && sampleEvery > 0 && checkpointEvery > 0, "intervals must be positive");
        check(gEma >= 0 && gEma < 1, "--g-ema must be in [0, 1) (0.999 is typical; 0 is off), got " + gEma);
        check(evalEvery >= 0, "--eval-every must be >= 0, got " + evalEvery);
        check(evalEvery == 0 || evalN >= 2, "--eval-n must be at least 2, got " + evalN);
        check(evalEvery == 0 || !"ring".equals(dataset), "--eval-every measures images; the ring toy logs its modes instead");
        Loss.of(loss);
        return this;
    }

    public Loss lossKind() { return Loss.of(loss); }

    public TrainConfig withSteps(long s) {
        return new TrainConfig(preset, dataset, dataDir, seed, batch, s, lrG, lrD, beta1, beta2, loss, realLabel,
                labelNoise, dSteps, logEvery, sampleEvery, checkpointEvery, gEma, evalEvery, evalN);
    }

    private static void check(boolean ok, String message) {
        if (!ok) throw new UserError(message);
    }
}
