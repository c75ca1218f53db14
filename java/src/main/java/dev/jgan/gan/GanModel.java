package dev.jgan.gan;

import dev.jgan.backend.Backend;
import dev.jgan.backend.RngStream;
import dev.jgan.nn.Parameter;
import dev.jgan.nn.Sequential;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A preset's generator and discriminator built on one backend for one batch size. Every tensor
 * that defines the model is reachable by name through {@link #state()}: G's and D's parameters
 * and batch-norm statistics, named as PyTorch would ({@code g.0.weight}, {@code d.1.bias}).
 *
 * <p>With EMA on, a second copy of G ({@code g_ema.*}) holds the exponential moving average of
 * G's parameters and of its batch-norm running statistics (as timm's ModelEma averages a whole
 * state dict): the running statistics are averages of what the live G saw, so averaging them
 * alongside the weights keeps the pair consistent. {@link #generate} uses it when present.
 */
public final class GanModel {
    /** Philox keys of the independent random streams of a run, derived from its seed. */
    public enum Stream { INIT, TRAIN, FIXED_NOISE, DATA, EMA, EVAL }

    private final Backend backend;
    private final Preset preset;
    private final int batch;
    private final Sequential g, d, gEma;

    public GanModel(Backend backend, Preset preset, int batch, long seed) {
        this(backend, preset, batch, seed, false);
    }

    /** With {@code ema}, also a generator copy that {@link #updateEma} averages; it starts equal to G. */
    public GanModel(Backend backend, Preset preset, int batch, long seed, boolean ema) {
        this.backend = backend;
        this.preset = preset;
        this.batch = batch;
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
        } else {
            this.gEma = null;
        }
    }

    /** avg = decay * avg + (1 - decay) * live for every parameter and batch-norm statistic of G. */
    public void updateEma(float decay) {
        var ps = g.parameters();
        for (int i = 0; i < ps.size(); i++) backend.ema(gEma.parameters().get(i).value(), ps.get(i).value(), decay);
        var from = g.buffers().values().iterator();
        for (Tensor t : gEma.buffers().values()) backend.ema(t, from.next(), decay);
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
    public Tensor generate(Tensor z, boolean ema) { return (ema && gEma != null ? gEma : g).forward(z, false); }

    @Override public String toString() {
        return preset.name() + " [" + g + "] [" + d + "] (" + g.parameterCount() + " + " + d.parameterCount() + " parameters)";
    }
}
