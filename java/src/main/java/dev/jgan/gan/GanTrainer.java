package dev.jgan.gan;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.backend.DiffAugment;
import dev.jgan.nn.ClassHead;
import dev.jgan.nn.GradMode;
import dev.jgan.nn.Sequential;
import dev.jgan.nn.Parameter;
import dev.jgan.optim.Adam;
import dev.jgan.optim.Optimizer;
import dev.jgan.optim.RmsProp;
import dev.jgan.optim.Sgd;
import dev.jgan.random.Philox;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The GAN training step of pytorch/examples' DCGAN (and of shared/peers/torch_gan_bench.py):
 * G makes one fake batch; D is updated on a real batch and on that fake batch (detached), each
 * passed through D as its own batch with the gradients of both summed; then G is updated through
 * the updated D with the same fake batch, D's parameters untouched. With {@code dSteps > 1} the D
 * update repeats on fresh real and fake batches and G learns from the last fake batch.
 *
 * <p>The objective is the config's {@link Loss}: binary cross-entropy on D's logits for
 * nonsaturating and minimax, the critic losses on D's raw output for hinge, lsgan and wgan; with
 * {@code clip > 0} D's parameters are clamped to [-clip, clip] after each of its updates. Both
 * networks use the config's optimizer (Adam, SGD with momentum or RMSprop).
 *
 * <p>With a --diffaugment policy every batch D sees, real and fake, in D's update and in G's, is
 * augmented first with its own random numbers ({@link Augmentation}), and G's gradient flows back
 * through the augmentation of its fake batch (Zhao et al. 2020).
 *
 * <p>A class-conditional model (cGAN, projection discriminator) is asked for uniformly drawn
 * classes ({@link #fakeClasses}) for each fake batch, and D sees every batch with its classes: the
 * real batch's labels, the fake batch's asked classes. With AC-GAN's auxiliary classifier D's
 * class logits also learn both batches' classes (softmax cross-entropy at the config's weight,
 * added to D's loss), and G learns to be classified as the class it was asked for (added to its).
 *
 * <p>Nothing crosses to the host inside a step but the real batch (and a conditional run's
 * classes); the losses stay on the backend in a small stats tensor until {@link #readStats()}
 * asks for them.
 */
public final class GanTrainer {
    // stats slots: bceWithLogits writes (loss, mean sigmoid, fraction > 0) at each base, criticLoss
    // (loss, mean score, fraction above the boundary)
    // (loss, accuracy) of the auxiliary classifier, AC-GAN's, on the real, fake and G's batch
    private static final int REAL = 0, FAKE = 3, GEN = 6, AUX_REAL = 9, AUX_FAKE = 11, AUX_GEN = 13, STATS = 15;
    /** Counter word 3 of the fake classes' draws ("clas"): never the backends' fills or the data's streams. */
    static final int CLASS_STREAM = 0x636c6173;

    private final Backend b;
    private final GanModel model;
    private final TrainConfig config;
    private final RealBatches data;
    private final Sequential g, d;
    private final Optimizer optG, optD;
    private final List<Tensor> dWeights;
    private final Tensor z, real, dLogits, stats, targets;
    private final float[] realHost;
    private final float[] statsHost = new float[STATS];
    private final RngStream noise;
    private final Loss loss;
    private final Augmentation augment;   // null without --diffaugment
    // a conditional run's: the classes K (0 for none), the real batch's classes one-hot, the fake batch's
    // classes, and for the auxiliary classifier D's head and both batches' classes as floats
    private final int classes;
    private final Tensor realClasses, realLabels, fakeLabels;
    private final float[] realClassesHost, realLabelsHost, fakeLabelsHost;
    private final int[] philoxWords = new int[4];
    private final int[] fakeClasses, realClassesInt;
    private final ClassHead head;
    private long step, batchesDrawn, dataNanos;
    /** Training wall clock of the run so far, a resumed run's earlier time included (kept by {@link TrainingRun}). */
    private long trainNanos;

    public GanTrainer(GanModel model, TrainConfig config, RealBatches data) {
        if (!data.item().equals(model.preset().item()))
            throw new IllegalArgumentException("data items " + data.item() + " do not fit preset " + model.preset().name());
        this.b = model.backend();
        this.model = model;
        this.config = config;
        this.data = data;
        this.g = model.generator();
        this.d = model.discriminator();
        this.optG = optimizer(b, g.parameters(), config.lrG(), config);
        this.optD = optimizer(b, d.parameters(), config.lrD(), config);
        this.dWeights = d.parameters().stream().map(Parameter::value).toList();
        int n = model.batch();
        this.z = b.allocate(model.noiseShape());
        this.real = b.allocate(d.inShape());
        this.realHost = new float[data.batchFloats(n)];
        this.dLogits = b.allocate(d.outShape());
        this.stats = b.allocate(Shape.of(STATS));
        this.targets = config.labelNoise() > 0 ? b.allocate(Shape.of(n, 1)) : null;
        this.noise = new RngStream(GanModel.key(config.seed(), GanModel.Stream.TRAIN), 0);
        g.setNoise(noise);
        d.setNoise(noise);
        this.loss = config.lossKind();
        List<DiffAugment> policy = Augmentation.policy(config.diffAugment());
        int channels = model.preset().channels();
        if (policy.contains(DiffAugment.COLOR) && channels != 3)
            throw new UserError("--diffaugment color changes colour, and these images have " + channels + " channel"
                    + (channels == 1 ? "" : "s") + ": leave it out (e.g. translation,cutout) or train on colour (--channels 3)");
        this.augment = policy.isEmpty() ? null : new Augmentation(b, policy, d.inShape());
        this.classes = model.classes();
        if (classes != data.classes())
            throw new IllegalArgumentException("the model is conditioned on " + classes + " classes, the data has " + data.classes());
        if (classes > 0) {
            realClasses = b.allocate(Shape.of(n, classes));
            realClassesHost = new float[n * classes];
            realClassesInt = new int[n];
            fakeClasses = new int[n];
            head = d.layers().getLast() instanceof ClassHead h && h.hasAuxiliary() ? h : null;
            if ((head != null) != (config.auxClassifier() > 0))
                throw new IllegalArgumentException("the config's --aux-classifier " + config.auxClassifier() + " does not fit D, which has "
                        + (head == null ? "no" : "an") + " auxiliary classifier");
            realLabels = head == null ? null : b.allocate(Shape.of(n));
            fakeLabels = head == null ? null : b.allocate(Shape.of(n));
            fakeLabelsHost = head == null ? null : new float[n];
            realLabelsHost = head == null ? null : new float[n];
        } else {
            realClasses = realLabels = fakeLabels = null;
            realClassesHost = realLabelsHost = fakeLabelsHost = null;
            realClassesInt = fakeClasses = null;
            head = null;
        }
    }

    /**
     * The classes G is asked for in the fake batch that goes with real batch {@code index}: uniform
     * over the K classes, item i from word i % 4 of Philox block (lo32(index), hi32(index), i / 4,
     * {@link #CLASS_STREAM}) under the run's TRAIN key, mapped as floor(u32 K / 2^32) (bias below
     * K / 2^32). Depends on (seed, index) alone, so a resumed run asks for the same classes.
     */
    static void fakeClasses(long seed, long index, int k, int[] dst, int[] w) {
        long key = GanModel.key(seed, GanModel.Stream.TRAIN);
        for (int i = 0; i < dst.length; i++) {
            if (i % 4 == 0) Philox.block((int) index, (int) (index >>> 32), i / 4, CLASS_STREAM, (int) key, (int) (key >>> 32), w);
            dst[i] = (int) (((w[i % 4] & 0xFFFFFFFFL) * k) >>> 32);
        }
    }

    /** D's classes for the real batch from its labels (after the batch's items in {@code batch}). */
    private void useRealClasses(float[] batch) {
        int n = realClassesInt.length, at = real.shape().intSize();
        for (int i = 0; i < n; i++) realClassesInt[i] = (int) batch[at + i];
        GanModel.oneHot(realClassesInt, classes, realClassesHost);
        b.copyFromHost(realClassesHost, realClasses);
        if (head != null) {
            System.arraycopy(batch, at, realLabelsHost, 0, n);
            b.copyFromHost(realLabelsHost, realLabels);
        }
    }

    /** AC-GAN: D's class logits of the pass just run against {@code labels}, their gradient into the head for its backward. */
    private void classLoss(Tensor labels, int slot) {
        if (head != null) b.softmaxCrossEntropy(head.classLogits(), labels, config.auxClassifier(), head.classGradient(), stats, slot);
    }

    /** x as D sees it: augmented under --diffaugment. */
    private Tensor augmented(Tensor x) {
        return augment == null ? x : augment.forward(x, noise);
    }

    /** One generator update (after {@code dSteps} discriminator updates). */
    public void step() {
        Tensor fake = null;
        for (int k = 0; k < config.dSteps(); k++) {
            if (classes > 0) {
                fakeClasses(config.seed(), batchesDrawn, classes, fakeClasses, philoxWords);
                model.useClasses(fakeClasses);   // G's classes, and D's for the fake batch
                if (head != null) {
                    for (int i = 0; i < fakeClasses.length; i++) fakeLabelsHost[i] = fakeClasses[i];
                    b.copyFromHost(fakeLabelsHost, fakeLabels);
                }
            }
            b.fillNormal(z, 0f, 1f, noise.seed(), noise.take(z.size()));
            fake = g.forward(z, true);
            long asked = System.nanoTime();
            float[] batch = data.take(batchesDrawn++, realHost);
            dataNanos += System.nanoTime() - asked;
            b.copyFromHost(batch, real);
            if (classes > 0) {
                useRealClasses(batch);
                d.useClasses(realClasses);
            }

            Tensor logits = d.forward(augmented(real), true);
            if (loss.sigmoid()) bce(logits, config.realLabel(), 0f, 1f, REAL);
            else b.criticLoss(loss.critic(), logits, loss.criticRealTarget(), 1f, dLogits, stats, REAL);
            classLoss(realLabels, AUX_REAL);
            d.backward(dLogits, GradMode.WRITE, false);

            if (classes > 0) d.useClasses(model.classesTensor());
            logits = d.forward(augmented(fake), true);
            if (loss.sigmoid()) bce(logits, 0f, config.realLabel(), 1f, FAKE);
            else b.criticLoss(loss.critic(), logits, loss.criticFakeTarget(), 1f, dLogits, stats, FAKE);
            classLoss(fakeLabels, AUX_FAKE);
            d.backward(dLogits, GradMode.ACCUMULATE, false);
            optD.step();
            if (config.clip() > 0) for (Tensor w : dWeights) b.clamp(w, -config.clip(), config.clip());
        }
        Tensor logits = d.forward(augmented(fake), true);
        switch (loss) {
            case NONSATURATING -> b.bceWithLogits(logits, null, 1f, 1f, dLogits, stats, GEN);   // -log D(G(z))
            case MINIMAX -> b.bceWithLogits(logits, null, 0f, -1f, dLogits, stats, GEN);        // log(1 - D(G(z))) = -BCE(l, 0)
            default -> b.criticLoss(loss.generator(), logits, loss.generatorTarget(), 1f, dLogits, stats, GEN);
        }
        classLoss(fakeLabels, AUX_GEN);   // G too wants its image classified as the class it was asked for
        Tensor dFake = d.backward(dLogits, GradMode.SKIP, true);
        g.backward(augment == null ? dFake : augment.backward(dFake), GradMode.WRITE, false);
        optG.step();
        if (model.hasEma()) model.updateEma(config.gEma());
        step++;
    }

    /** BCE of D's logits against {@code label}, with a fraction of labels flipped to {@code flipped} under --label-noise. */
    private void bce(Tensor logits, float label, float flipped, float scale, int slot) {
        if (targets == null) {
            b.bceWithLogits(logits, null, label, scale, dLogits, stats, slot);
        } else {
            b.fillBernoulli(targets, config.labelNoise(), flipped, label, noise.seed(), noise.take(targets.size()));
            b.bceWithLogits(logits, targets, 0f, scale, dLogits, stats, slot);
        }
    }

    /** The last step's losses and D statistics (waits for the backend). */
    public StepStats readStats() {
        b.toHost(stats, statsHost);
        float[] s = statsHost;
        float gLoss = loss == Loss.MINIMAX ? -s[GEN] : s[GEN];
        float accReal = loss.hasBoundary() ? s[REAL + 2] : Float.NaN, accFake = loss.hasBoundary() ? 1f - s[FAKE + 2] : Float.NaN;
        return new StepStats(step, s[REAL] + s[FAKE], accReal, accFake, gLoss, s[REAL + 1], s[FAKE + 1], loss);
    }

    /**
     * The auxiliary classifier's numbers of the last step (waits for the backend): its loss and
     * accuracy on the real batch, on the fake batch of D's update, and on G's; null without one.
     */
    public float[] readAuxStats() {
        if (head == null) return null;
        b.toHost(stats, statsHost);
        return java.util.Arrays.copyOfRange(statsHost, AUX_REAL, STATS);
    }

    public long steps() { return step; }

    public long batchesDrawn() { return batchesDrawn; }

    /**
     * Time the steps of this trainer spent getting their real batches on the host (waiting for a
     * batch the background thread had not finished, and copying it), in nanoseconds, all steps.
     */
    public long dataNanos() { return dataNanos; }

    /** The run's training time so far, in nanoseconds (see {@link TrainConfig#minutes}). */
    public long trainNanos() { return trainNanos; }

    /** Adds training time: the run's loop counts its steps' wall clock here, evaluations excluded. */
    public void addTrainNanos(long nanos) { trainNanos += nanos; }

    public RngStream noise() { return noise; }

    public GanModel model() { return model; }

    public RealBatches data() { return data; }

    public TrainConfig config() { return config; }

    /** Optimizer state by name ({@code g.0.weight.exp_avg}, {@code .momentum_buffer}, {@code .square_avg}), for checkpoints. */
    public Map<String, Tensor> optimizerState() {
        Map<String, Tensor> m = new LinkedHashMap<>(optG.state());
        m.putAll(optD.state());
        return m;
    }

    public Optimizer optimizerG() { return optG; }

    public Optimizer optimizerD() { return optD; }

    /** The config's optimizer over {@code params} at learning rate {@code lr}. */
    private static Optimizer optimizer(Backend b, List<Parameter> params, float lr, TrainConfig c) {
        return switch (c.optimizer()) {
            case "adam" -> new Adam(b, params, lr, c.beta1(), c.beta2(), 1e-8f, 0f);
            case "sgd" -> new Sgd(b, params, lr, c.momentum());
            case "rmsprop" -> new RmsProp(b, params, lr, RmsProp.ALPHA, RmsProp.EPS);
            default -> throw new IllegalArgumentException("unknown optimizer " + c.optimizer());
        };
    }

    /** Restores the counters after the tensors have been loaded from a checkpoint. */
    public void restoreCounters(long step, long batchesDrawn, long noiseOffset, int optimizerStepsG, int optimizerStepsD) {
        this.step = step;
        this.batchesDrawn = batchesDrawn;
        this.noise.seek(noiseOffset);
        optG.setSteps(optimizerStepsG);
        optD.setSteps(optimizerStepsD);
    }
}
