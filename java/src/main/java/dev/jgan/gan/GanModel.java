package dev.jgan.gan;

import dev.jgan.backend.Backend;
import dev.jgan.nn.BatchNorm;
import dev.jgan.nn.Parameter;
import dev.jgan.nn.Sequential;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A preset's generator and discriminator built on one backend for one batch size. Every tensor
 * that defines the model is reachable by name through {@link #state()}: G's and D's parameters
 * and batch-norm statistics, named as PyTorch would ({@code g.0.weight}, {@code d.1.bias}).
 *
 * <p>With EMA on, a second copy of G ({@code g_ema.*}) holds the exponential moving average of
 * G's parameters. Its batch-norm running statistics are not averaged: averaged weights make
 * smaller activations than any live G did (dcgan-28's EMA images came out dim with averaged
 * statistics, FID 158 against 58 live), so they are re-estimated for the averaged weights
 * themselves before the EMA generator is used or saved, as SWA's update_bn does: reset, then the
 * plain average of the batch statistics of {@value #EMA_BN_IMAGES} images of G in training mode,
 * from noise of the EMA stream (the same noise every time, so the result depends on the weights
 * alone and a resumed run re-estimates exactly what the uninterrupted one did).
 * {@link #generate} uses the EMA generator when present.
 */
public final class GanModel {
    /** Philox keys of the independent random streams of a run, derived from its seed. */
    public enum Stream { INIT, TRAIN, FIXED_NOISE, DATA, EMA, EVAL }

    private final Backend backend;
    private final Preset preset;
    private final int batch;
    /** Images whose batch statistics re-estimate the EMA generator's running statistics. */
    static final int EMA_BN_IMAGES = 1024;

    private final Sequential g, d, gEma;
    /** G's spectral-norm vectors and their copies in the EMA generator (pairs: G's, then G_ema's), empty without both. */
    private final List<Tensor> emaSpectralVectors = new ArrayList<>();
    private final long seed;
    private boolean emaStatsStale;
    /** A conditional model's classes for G, one-hot (batch, K), and their host copy; null for an unconditional one. */
    private final Tensor classes;
    private final float[] classesHost;
    /** Every class in turn, one-hot (batch, K): the classes whose batch statistics the EMA generator's are; null without both. */
    private final Tensor everyClass;

    public GanModel(Backend backend, Preset preset, int batch, long seed) {
        this(backend, preset, batch, seed, false);
    }

    /** With {@code ema}, also a generator copy that {@link #updateEma} averages; it starts equal to G. */
    public GanModel(Backend backend, Preset preset, int batch, long seed, boolean ema) {
        this.backend = backend;
        this.preset = preset;
        this.batch = batch;
        this.seed = seed;
        RngStream init = new RngStream(key(seed, Stream.INIT), 0);
        this.g = new Sequential("g", preset.generator().get()).build(backend, Shape.of(batch, preset.zDim()), preset.init(), init);
        if (!g.outShape().item().equals(preset.item()))
            throw new IllegalStateException(preset.name() + ": G makes " + g.outShape() + ", expected items " + preset.item());
        this.d = new Sequential("d", preset.discriminator().get()).build(backend, preset.item().batched(batch), preset.init(), init);
        if (d.outShape().perItem() != 1)
            throw new IllegalStateException(preset.name() + ": D must give one logit per item, gives " + d.outShape());
        if (ema) {
            // its own stream, so that G's and D's initial weights do not depend on whether EMA is on
            this.gEma = new Sequential("g_ema", preset.generator().get())
                    .build(backend, Shape.of(batch, preset.zDim()), preset.init(), new RngStream(key(seed, Stream.EMA), 0));
            for (int i = 0; i < g.parameters().size(); i++) backend.copy(g.parameters().get(i).value(), gEma.parameters().get(i).value());
            var from = g.buffers().values().iterator();
            for (Tensor t : gEma.buffers().values()) backend.copy(from.next(), t);
            for (var e : g.buffers().entrySet()) {
                if (!e.getKey().endsWith(".weight_u") && !e.getKey().endsWith(".weight_v")) continue;
                emaSpectralVectors.add(e.getValue());
                emaSpectralVectors.add(gEma.buffers().get("g_ema" + e.getKey().substring(1)));
            }
        } else {
            this.gEma = null;
        }
        if (preset.conditional()) {
            int k = preset.classes();
            if (g.classes() != k || d.classes() != k)
                throw new IllegalStateException(preset.name() + ": G is conditioned on " + g.classes() + " classes and D on " + d.classes()
                        + ", expected " + k);
            classes = backend.allocate(Shape.of(batch, k));
            classesHost = new float[batch * k];
            g.useClasses(classes);
            if (gEma != null) gEma.useClasses(classes);
            useClasses(balanced(batch, k, 0));
            everyClass = gEma == null ? null : backend.fromHost(classesHost.clone(), classes.shape());   // the balanced classes just written
        } else {
            if (g.classes() != 0 || d.classes() != 0) throw new IllegalStateException(preset.name() + " has class-conditional layers: give it classes");
            classes = null;
            classesHost = null;
            everyClass = null;
        }
    }

    /** The classes K G and D are conditioned on, or 0 for an unconditional model. */
    public int classes() { return classes == null ? 0 : preset.classes(); }

    /** G's classes as a one-hot (batch, K) tensor, which G's next forwards read; null for an unconditional model. */
    public Tensor classesTensor() { return classes; }

    /** Makes G's next forwards generate class {@code labels[i]} for item i (batch labels in 0 .. K-1). */
    public void useClasses(int[] labels) {
        if (classes == null) throw new IllegalStateException(preset.name() + " is not class-conditional");
        oneHot(labels, preset.classes(), classesHost);
        backend.copyFromHost(classesHost, classes);
    }

    /** Writes labels (N) as one-hot rows (N, K) into {@code dst}; a label outside 0 .. K-1 is an IllegalArgumentException. */
    public static void oneHot(int[] labels, int k, float[] dst) {
        if (dst.length != labels.length * k) throw new IllegalArgumentException(labels.length + " labels of " + k + " classes need "
                + labels.length * k + " floats, got " + dst.length);
        java.util.Arrays.fill(dst, 0f);
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= k) throw new IllegalArgumentException("class " + labels[i] + " is not in 0 .. " + (k - 1));
            dst[i * k + labels[i]] = 1f;
        }
    }

    /** Labels (from + i) % k for i in 0 .. n-1: every class in turn. */
    public static int[] balanced(int n, int k, int from) {
        int[] l = new int[n];
        for (int i = 0; i < n; i++) l[i] = (from + i) % k;
        return l;
    }

    /**
     * avg = decay * avg + (1 - decay) * live for every parameter of G; the EMA's batch-norm
     * statistics are re-estimated when next needed. A spectrally normalised layer's u and v are
     * G's (the averaged weight's singular vectors are close to the live one's, and an inference
     * forward runs no power iteration of its own).
     */
    public void updateEma(float decay) {
        var ps = g.parameters();
        for (int i = 0; i < ps.size(); i++) backend.ema(gEma.parameters().get(i).value(), ps.get(i).value(), decay);
        for (int i = 0; i < emaSpectralVectors.size(); i += 2) backend.copy(emaSpectralVectors.get(i), emaSpectralVectors.get(i + 1));
        emaStatsStale = true;
    }

    /** Marks the EMA generator's batch-norm statistics for re-estimation (after its weights were loaded). */
    public void emaWeightsChanged() {
        if (gEma != null) emaStatsStale = true;
    }

    /** Re-estimates the EMA generator's batch-norm running statistics for its current weights, if they changed. */
    public void refreshEmaStatistics() {
        if (gEma == null || !emaStatsStale) return;
        List<BatchNorm> norms = new ArrayList<>();
        for (var l : gEma.layers()) if (l instanceof BatchNorm bn) norms.add(bn);
        emaStatsStale = false;
        if (norms.isEmpty()) return;
        Tensor z = backend.allocate(gEma.inShape());
        RngStream noise = new RngStream(key(seed, Stream.EMA), 1L << 40);   // far from the blocks G_ema's init drew
        if (everyClass != null) gEma.useClasses(everyClass);   // a conditional G's statistics are of every class in turn
        int batches = Math.max(1, (EMA_BN_IMAGES + batch - 1) / batch);
        for (int k = 0; k < batches; k++) {
            for (BatchNorm bn : norms) bn.averageBatches(k);
            backend.fillNormal(z, 0f, 1f, noise.seed(), noise.take(z.size()));
            gEma.forward(z, true);
        }
        for (BatchNorm bn : norms) bn.averageBatches(-1);
        if (everyClass != null) gEma.useClasses(classes);
    }

    /**
     * Gives the EMA generator {@code reference}'s re-estimated buffers (batch-norm statistics, and
     * a spectrally normalised layer's u and v, which the estimate's training-mode forwards iterate)
     * instead of estimating its own: a model of another batch then computes with exactly the state
     * a model of the reference's batch does. Both must be of the same preset, with EMA.
     */
    public void useEmaStatisticsOf(GanModel reference) {
        if (gEma == null || reference.gEma == null) throw new IllegalStateException("both models need an EMA generator");
        reference.refreshEmaStatistics();
        Map<String, Tensor> theirs = reference.gEma.buffers();
        for (var e : gEma.buffers().entrySet()) backend.copy(theirs.get(e.getKey()), e.getValue());
        emaStatsStale = false;
    }

    public boolean hasEma() { return gEma != null; }

    /** The averaged generator, or null without EMA. */
    public Sequential generatorEma() { return gEma; }

    /** The Philox key of one stream of a run: streams never share counters. */
    public static long key(long seed, Stream s) {
        return seed * 0x9E3779B97F4A7C15L + (s.ordinal() + 1) * 0xBF58476D1CE4E5B9L;
    }

    public Backend backend() { return backend; }

    public Preset preset() { return preset; }

    public int batch() { return batch; }

    public Sequential generator() { return g; }

    public Sequential discriminator() { return d; }

    /** G's input: a (batch, zDim) tensor. */
    public Shape noiseShape() { return g.inShape(); }

    /** Every model tensor by name: G's parameters and buffers, G's EMA copy's ({@code g_ema.*}) if any, then D's. */
    public Map<String, Tensor> state() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (Parameter p : g.parameters()) m.put(p.name(), p.value());
        m.putAll(g.buffers());
        if (gEma != null) {
            for (Parameter p : gEma.parameters()) m.put(p.name(), p.value());
            m.putAll(gEma.buffers());
        }
        for (Parameter p : d.parameters()) m.put(p.name(), p.value());
        m.putAll(d.buffers());
        return m;
    }

    /** G(z) in inference mode (batch-norm running statistics), for samples: the EMA generator when there is one. */
    public Tensor generate(Tensor z) { return generate(z, true); }

    /** G(z) in inference mode, from the EMA generator when {@code ema} and there is one, else from the live G. */
    public Tensor generate(Tensor z, boolean ema) {
        if (ema && gEma != null) {
            refreshEmaStatistics();
            return gEma.forward(z, false);
        }
        return g.forward(z, false);
    }

    @Override public String toString() {
        return preset.name() + " [" + g + "] [" + d + "] (" + g.parameterCount() + " + " + d.parameterCount() + " parameters)";
    }
}
