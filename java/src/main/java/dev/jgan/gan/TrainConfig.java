package dev.jgan.gan;

import dev.jgan.UserError;

/**
 * Everything that defines a training run besides the preset's architecture. Saved as config.json
 * and in every checkpoint's metadata, so a run can be resumed and reproduced.
 *
 * @param dataset    "fashion-mnist", "mnist", or "ring" for the toy (its preset's default)
 * @param dataDir    directory with IDX files that overrides dataset discovery, or null
 * @param steps      generator updates in total
 * @param realLabel  D's target for real samples (0.9 = one-sided label smoothing)
 * @param labelNoise fraction of D's labels flipped at random each batch
 * @param dSteps     D updates per G update, each on a fresh real and fake batch
 * @param gEma       decay of the exponential moving average of G's weights and batch-norm
 *                   statistics (0.999 typical), or 0 for none
 * @param evalEvery  steps between FID and class-coverage measurements logged to metrics.jsonl, or 0
 * @param evalN      generated images per such measurement
 * @param cudnnNondeterministic whether the run let its CUDA backend choose cuDNN's non-deterministic
 *                   convolution algorithms (--cudnn-nondeterministic; the backend gets the flag, this
 *                   records it); the algorithms chosen are saved in the run's algorithms.json
 * @param channels   image channels: 1 or 3, or 0 to take them from the data (a run's saved config
 *                   holds the channels it trained on; 0 in a checkpoint of an older jgan is the preset's 1)
 * @param background what transparent pixels of a folder's or the emoji's images are composited onto:
 *                   "white" or "black"
 * @param flip       whether each real image is mirrored left-right with probability 1/2, decided by
 *                   (seed, batch, position) alone
 * @param optimizer  "adam", "sgd" (with {@code momentum}) or "rmsprop", for both networks
 * @param momentum   SGD's momentum (unused by the others)
 * @param clip       D's parameters are clamped to [-clip, clip] after each of its updates (WGAN's
 *                   weight clipping), or 0 for none
 * @param init       how the layers start: "glorot", "pytorch" or "normal" ({@link dev.jgan.nn.Init});
 *                   null in the config of a checkpoint written before --init, meaning the preset's
 * @param spectralNorm which networks are spectrally normalised: "none", "d", "g" or "both"
 *                   ({@link SpectralNormOn}); "none" in the config of a checkpoint written before --spectral-norm
 * @param diffAugment DiffAugment's policy for D's inputs: "none" or a comma list of color,
 *                   translation, cutout ({@link Augmentation#policy}); "none" in the config of a
 *                   checkpoint written before --diffaugment
 * @param classes    a class-conditional preset's classes K: 0 to take them from the data's labels (a
 *                   run's saved config holds the classes it trained on); 0 for the unconditional presets
 * @param auxClassifier weight of AC-GAN's auxiliary classification loss (D's class logits against
 *                   the real image's label and the class G was asked for, in D's loss and in G's), or
 *                   0 for none; a conditional preset's option
 * @param minutes    a budget of training time: the run stops at the first step that ends after this
 *                   many minutes of training (the wall clock of the steps themselves, a GPU's work
 *                   included; logging, evaluations, pictures and checkpoints excluded; a resumed
 *                   run's earlier time included), or at {@code steps}, whichever comes first; 0 for none
 */
public record TrainConfig(
        String preset, String dataset, String dataDir, long seed, int batch, long steps,
        float lrG, float lrD, float beta1, float beta2, String loss, float realLabel, float labelNoise,
        int dSteps, int logEvery, int sampleEvery, int checkpointEvery, float gEma, int evalEvery, int evalN,
        boolean cudnnNondeterministic, int channels, String background, boolean flip,
        String optimizer, float momentum, float clip, String init, String spectralNorm, String diffAugment,
        int classes, float auxClassifier, double minutes) {
    // The defaults of every run, in one place (the preset sets dataset, batch, steps, Adam and
    // --sample-every); the Builder starts from them and the CLI's option defaults name them.
    public static final long SEED = 1;
    public static final String LOSS = "nonsaturating";
    public static final float REAL_LABEL = 1f, LABEL_NOISE = 0f, G_EMA = 0f;
    public static final int D_STEPS = 1, LOG_EVERY = 100, CHECKPOINT_EVERY = 1000, EVAL_EVERY = 0;
    /** Images generated for each --eval-every measurement unless --eval-n says otherwise. */
    public static final int EVAL_N = 2000;
    public static final String BACKGROUND = "white";
    public static final String OPTIMIZER = "adam";
    /** No DiffAugment unless --diffaugment names a policy. */
    public static final String DIFF_AUGMENT = Augmentation.NONE;
    /** SGD's momentum unless --momentum says otherwise. */
    public static final float MOMENTUM = 0.9f;
    /** What --loss wgan changes unless the flags say otherwise: the WGAN paper's recipe. */
    public static final String WGAN_OPTIMIZER = "rmsprop";
    public static final float WGAN_LR = 5e-5f, WGAN_CLIP = 0.01f;
    public static final int WGAN_D_STEPS = 5;

    public TrainConfig {
        if (background == null) background = BACKGROUND;   // the config of a checkpoint written before --background
        if (optimizer == null) optimizer = OPTIMIZER;       // ... before --optimizer
        if (diffAugment == null) diffAugment = DIFF_AUGMENT; // ... before --diffaugment
        if (spectralNorm == null) spectralNorm = SpectralNormOn.NONE.flag();   // ... before --spectral-norm
    }

    /** The preset's own recipe with every other value at its default. */
    public static TrainConfig defaults(Preset p) { return builder(p).build(); }

    /**
     * A builder holding the preset's recipe (dataset, batch, steps, Adam settings, sample interval)
     * and the defaults of everything else; set values by name, e.g. {@code .lr(1e-4f).steps(500)}.
     */
    public static Builder builder(Preset p) {
        Builder b = new Builder();
        b.preset = p.name();
        b.dataset = p.defaultDataset();
        b.batch = p.batch();
        b.steps = p.defaultSteps();
        b.lrG = p.lrG();
        b.lrD = p.lrD();
        b.beta1 = p.beta1();
        b.beta2 = p.beta2();
        b.sampleEvery = p.sampleEvery();
        b.presetInit = p.init().flag();
        b.auxClassifier = p.auxClassifier();
        b.gEma = p.gEma();
        b.minutes = p.minutes();
        b.loss = p.loss();
        b.spectralNorm = p.spectralNorm().flag();
        if (p.minutes() > 0) b.steps = Long.MAX_VALUE;   // the budget alone ends the run
        return b;
    }

    /** A builder holding this config's values, to change a few by name. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.preset = preset; b.dataset = dataset; b.dataDir = dataDir; b.seed = seed; b.batch = batch; b.steps = steps;
        b.lrG = lrG; b.lrD = lrD; b.beta1 = beta1; b.beta2 = beta2; b.loss = loss; b.realLabel = realLabel;
        b.labelNoise = labelNoise; b.dSteps = dSteps; b.logEvery = logEvery; b.sampleEvery = sampleEvery;
        b.checkpointEvery = checkpointEvery; b.gEma = gEma; b.evalEvery = evalEvery; b.evalN = evalN;
        b.cudnnNondeterministic = cudnnNondeterministic;
        b.channels = channels; b.background = background; b.flip = flip;
        b.optimizer = optimizer; b.momentum = momentum; b.clip = clip; b.lrGiven = true; b.init = init;
        b.spectralNorm = spectralNorm;
        b.diffAugment = diffAugment;
        b.classes = classes;
        b.auxClassifier = auxClassifier;
        b.minutes = minutes;
        return b;
    }

    /** Builds a TrainConfig by name. It starts from the run defaults above and the preset's recipe. */
    public static final class Builder {
        private String preset, dataset, dataDir;
        private long seed = SEED, steps;
        private int batch, dSteps, logEvery = LOG_EVERY, sampleEvery, checkpointEvery = CHECKPOINT_EVERY,
                evalEvery = EVAL_EVERY, evalN = EVAL_N;
        private float lrG, lrD, beta1, beta2, realLabel = REAL_LABEL, labelNoise = LABEL_NOISE, gEma = G_EMA;
        private String loss = LOSS;
        private boolean cudnnNondeterministic, flip;
        private int channels;
        private String background = BACKGROUND, diffAugment = DIFF_AUGMENT;
        // unset (null, NaN, 0, false) until given: then build() takes the loss's recipe (wgan's) or the defaults
        private String optimizer, init, presetInit;
        private String spectralNorm = SpectralNormOn.NONE.flag();
        private float momentum = MOMENTUM, clip = Float.NaN;
        private boolean lrGiven;
        private int classes;
        private float auxClassifier;
        private double minutes;

        private Builder() {}

        public Builder preset(String v) { preset = v; return this; }
        public Builder dataset(String v) { dataset = v; return this; }
        public Builder dataDir(String v) { dataDir = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder batch(int v) { batch = v; return this; }
        public Builder steps(long v) { steps = v; return this; }
        /** The same learning rate for G and D. */
        public Builder lr(float v) { lrG = v; lrD = v; lrGiven = true; return this; }
        public Builder lrG(float v) { lrG = v; lrGiven = true; return this; }
        public Builder lrD(float v) { lrD = v; lrGiven = true; return this; }
        public Builder beta1(float v) { beta1 = v; return this; }
        public Builder beta2(float v) { beta2 = v; return this; }
        public Builder loss(String v) { loss = v; return this; }
        public Builder realLabel(float v) { realLabel = v; return this; }
        public Builder labelNoise(float v) { labelNoise = v; return this; }
        public Builder dSteps(int v) { dSteps = v; return this; }
        public Builder logEvery(int v) { logEvery = v; return this; }
        public Builder sampleEvery(int v) { sampleEvery = v; return this; }
        public Builder checkpointEvery(int v) { checkpointEvery = v; return this; }
        public Builder gEma(float v) { gEma = v; return this; }
        public Builder evalEvery(int v) { evalEvery = v; return this; }
        public Builder evalN(int v) { evalN = v; return this; }
        public Builder cudnnNondeterministic(boolean v) { cudnnNondeterministic = v; return this; }
        /** 1 or 3, or 0: the data's. */
        public Builder channels(int v) { channels = v; return this; }
        public Builder background(String v) { background = v; return this; }
        public Builder flip(boolean v) { flip = v; return this; }
        /** adam, sgd or rmsprop; unset: rmsprop for --loss wgan, adam otherwise. */
        public Builder optimizer(String v) { optimizer = v; return this; }
        public Builder momentum(float v) { momentum = v; return this; }
        /** D's weight clipping bound, 0 for none; unset: 0.01 for --loss wgan, 0 otherwise. */
        public Builder clip(float v) { clip = v; return this; }
        /** glorot, pytorch or normal; unset: the preset's. */
        public Builder init(String v) { init = v; return this; }
        /** none, d, g or both. */
        public Builder spectralNorm(String v) { spectralNorm = v; return this; }
        /** none, or a comma list of color, translation, cutout, applied to D's inputs in the order given. */
        public Builder diffAugment(String v) { diffAugment = v; return this; }
        /** A conditional preset's classes; 0: the data's. */
        public Builder classes(int v) { classes = v; return this; }
        /** AC-GAN's auxiliary classification loss weight; 0: none. */
        public Builder auxClassifier(float v) { auxClassifier = v; return this; }
        /** A training-time budget in minutes; 0: none. */
        public Builder minutes(double v) { minutes = v; return this; }

        /**
         * The config. What was not given takes the loss's recipe: for wgan, RMSprop at 5e-5 with 5
         * critic updates per G update and weights clipped to 0.01 (Arjovsky et al.'s Algorithm 1);
         * for the others, Adam at the preset's rates, 1 D update, no clipping.
         */
        public TrainConfig build() {
            boolean wgan = WASSERSTEIN_FLAG.equals(loss);
            String opt = optimizer != null ? optimizer : wgan ? WGAN_OPTIMIZER : OPTIMIZER;
            float g = lrG, d = lrD;
            if (wgan && !lrGiven) g = d = WGAN_LR;
            int k = dSteps != 0 ? dSteps : wgan ? WGAN_D_STEPS : D_STEPS;
            float c = !Float.isNaN(clip) ? clip : wgan ? WGAN_CLIP : 0f;
            return new TrainConfig(preset, dataset, dataDir, seed, batch, steps, g, d, beta1, beta2, loss, realLabel,
                    labelNoise, k, logEvery, sampleEvery, checkpointEvery, gEma, evalEvery, evalN, cudnnNondeterministic,
                    channels, background, flip, opt, momentum, c, init != null ? init : presetInit, spectralNorm, diffAugment,
                    classes, auxClassifier, minutes);
        }
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
        check(evalEvery == 0 || Presets.get(preset).kind().images(), "--eval-every measures images; the ring toy logs its modes instead");
        check(channels == 0 || channels == 1 || channels == 3, "--channels must be 1 or 3, got " + channels);
        check(BACKGROUND.equals(background) || "black".equals(background), "--background must be white or black, got " + background);
        Loss l = Loss.of(loss);
        if (init != null) dev.jgan.nn.Init.of(init);   // one line naming the choices
        SpectralNormOn.of(spectralNorm);   // one line naming the choices
        check(OPTIMIZERS.contains(optimizer), "unknown optimizer '" + optimizer + "'; use adam, sgd or rmsprop");
        check(momentum >= 0 && momentum < 1, "--momentum must be in [0, 1), got " + momentum);
        check(clip >= 0 && Float.isFinite(clip), "--clip must be >= 0 (0 = no weight clipping), got " + clip);
        check(Augmentation.policy(diffAugment).isEmpty() || Presets.get(preset).kind().images(),
                "--diffaugment transforms images; the " + preset + " preset's points have no pixels (use --diffaugment none)");
        Preset p = Presets.get(preset);
        check(classes == 0 || (p.conditional() && classes >= 2), p.conditional() ? "--classes must be at least 2, got " + classes
                : "preset " + preset + " is not class-conditional: it takes no classes (try cgan-mlp or cdcgan-28)");
        check(minutes >= 0 && Double.isFinite(minutes), "--minutes must be > 0, got " + minutes);
        check(auxClassifier >= 0 && Float.isFinite(auxClassifier), "--aux-classifier must be >= 0 (0 = none; 1 is AC-GAN's), got " + auxClassifier);
        check(auxClassifier == 0 || p.conditional(), "--aux-classifier needs a class-conditional preset (cgan-mlp, cdcgan-28, "
                + "cgan-ring, fast-fmnist); " + preset + " is not");
        check(l.sigmoid() || (realLabel == 1f && labelNoise == 0f), "--real-label and --label-noise set BCE's targets; --loss "
                + loss + " has none (use nonsaturating or minimax)");
        return this;
    }

    private static final String WASSERSTEIN_FLAG = Loss.WASSERSTEIN.flag();
    private static final java.util.List<String> OPTIMIZERS = java.util.List.of("adam", "sgd", "rmsprop");

    public Loss lossKind() { return Loss.of(loss); }

    public TrainConfig withSteps(long s) { return toBuilder().steps(s).build(); }

    /** The preset this run trains: {@code p} with the run's channels (p itself while they are still the data's, 0). */
    public Preset presetFor(Preset p) {
        Preset q = init == null ? p : p.withInit(dev.jgan.nn.Init.of(init));
        q = q.withSpectralNorm(SpectralNormOn.of(spectralNorm));
        if (classes > 0 && q.conditional()) q = q.withClasses(classes);
        if (q.conditional() || auxClassifier > 0) q = q.withAuxClassifier(auxClassifier);
        return channels == 0 || !p.kind().images() ? q : q.withChannels(channels);
    }

    /** The preset this run trains, by its name. */
    public Preset model() { return presetFor(Presets.get(preset)); }

    private static void check(boolean ok, String message) {
        if (!ok) throw new UserError(message);
    }
}
