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
 */
public final class GanModel {
    /** Philox keys of the independent random streams of a run, derived from its seed. */
    public enum Stream { INIT, TRAIN, FIXED_NOISE, DATA }

    private final Backend backend;
    private final Preset preset;
    private final int batch;
    private final Sequential g, d;

    public GanModel(Backend backend, Preset preset, int batch, long seed) {
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
    }

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

    /** Every model tensor by name: G's parameters and buffers, then D's. */
    public Map<String, Tensor> state() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (Parameter p : g.parameters()) m.put(p.name(), p.value());
        m.putAll(g.buffers());
        for (Parameter p : d.parameters()) m.put(p.name(), p.value());
        m.putAll(d.buffers());
        return m;
    }

    /** G(z) in inference mode (batch-norm running statistics), for samples. */
    public Tensor generate(Tensor z) { return g.forward(z, false); }

    @Override public String toString() {
        return preset.name() + " [" + g + "] [" + d + "] (" + g.parameterCount() + " + " + d.parameterCount() + " parameters)";
    }
}
