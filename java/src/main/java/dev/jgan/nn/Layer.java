package dev.jgan.nn;

import dev.jgan.backend.Backend;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.List;
import java.util.Map;

/**
 * One layer of a {@link Sequential}. {@link #build} allocates the parameters and every buffer the
 * layer needs for one batch size, once; forward and backward then only compute. A layer keeps
 * what its backward needs (its input, or its output) from the last forward in training mode.
 *
 * <p>Shapes are NCHW with the batch first: dense layers see (N, F), convolutional ones (N, C, H, W).
 *
 * <p>A layer that {@link #writesDx() writes a new dx} writes it into {@link #dx}, shape
 * {@link #inShape}. Built alone, the layer allocates that tensor itself; in a {@link Sequential}
 * it is a view of one of the two gradient buffers the network's layers take in turn (see
 * {@link Sequential#build}). Either way dx is never dy's memory, and it holds the layer's dx only
 * until the layer before it has run its backward.
 */
public abstract class Layer {
    protected Backend backend;
    protected Shape inShape;
    protected Shape outShape;
    /** Where backward writes dx, (N, ...) as {@link #inShape}; null when the layer {@link #writesDx writes none}. */
    protected Tensor dx;
    private boolean spectral;

    /**
     * Allocates parameters (initialised from {@code rng}) and buffers for input {@code in}, dx
     * included; returns the output shape.
     */
    public final Shape build(Backend b, Shape in, Init init, RngStream rng) {
        Shape out = buildSharingDx(b, in, init, rng);
        if (writesDx()) dx = b.allocate(in);
        return out;
    }

    /** As {@link #build} but without dx: the {@link Sequential} hands it in ({@link #useDx}). */
    final Shape buildSharingDx(Backend b, Shape in, Init init, RngStream rng) {
        this.backend = b;
        this.inShape = in;
        this.outShape = outputShape(in);
        allocate(init, rng);
        return outShape;
    }

    /** Makes backward write dx into {@code t}, a tensor of {@link #inShape} (a view of a shared buffer). */
    final void useDx(Tensor t) {
        if (!t.shape().equals(inShape)) throw new IllegalArgumentException(this + ": dx must be " + inShape + ", got " + t.shape());
        dx = t;
    }

    /**
     * Whether backward writes a new dx into {@link #dx}; false for a layer whose backward returns
     * dy itself or a view of it (reshapes, an activation fused into the batch norm before it),
     * which needs no dx of its own. Fixed once the layer is built.
     */
    protected boolean writesDx() { return true; }

    /** The output shape for an input shape; throws IllegalArgumentException naming the layer if it does not fit. */
    public abstract Shape outputShape(Shape in);

    protected abstract void allocate(Init init, RngStream rng);

    /** y = layer(x); {@code training} selects batch statistics (BN) and dropout. */
    public abstract Tensor forward(Tensor x, boolean training);

    /**
     * Given dy of the last training-mode forward, updates parameter gradients as {@code mode} says
     * and returns dx, or null when {@code needDx} is false (the first layer of a network).
     */
    public abstract Tensor backward(Tensor dy, GradMode mode, boolean needDx);

    /**
     * Makes the layer compute with its spectrally normalised weight ({@link SpectralNorm}), from
     * its next build on; only for layers {@link #hasWeight with a weight}. Returns this.
     */
    public final Layer spectralNormalized() {
        require(hasWeight(), this + " has no weight to normalise");
        spectral = true;
        return this;
    }

    /** Whether the layer has a weight matrix that {@link #spectralNormalized} can normalise (dense and convolution layers). */
    public boolean hasWeight() { return false; }

    /** The spectral norm of {@code weight} when {@link #spectralNormalized}, else null; for {@link #allocate}. */
    protected final SpectralNorm spectralNorm(Tensor weight, int dim, RngStream rng) {
        return spectral ? new SpectralNorm(backend, weight, dim, rng) : null;
    }

    /** ", spectral norm" when the layer is {@link #spectralNormalized}, for toString. */
    protected final String spectralText() { return spectral ? ", spectral norm" : ""; }

    /** Gives layers that draw random numbers in training (dropout) the run's noise stream. */
    public void setNoise(RngStream noise) {}

    /**
     * Gives a class-conditional layer ({@link ClassEmbedding}, {@link ClassHead}) the one-hot
     * classes (N, K) its next forwards and backwards read; the caller writes the tensor's contents
     * before each forward. Others ignore it.
     */
    public void useClasses(Tensor oneHot) {}

    /** The classes K a class-conditional layer is built for; 0 for the others. */
    public int classes() { return 0; }

    /** Trainable parameters with local names ("weight", "bias"). */
    public List<Parameter> parameters() { return List.of(); }

    /** Non-trainable state saved in checkpoints ("running_mean", "running_var"), by local name. */
    public Map<String, Tensor> buffers() { return Map.of(); }

    public Shape inShape() { return inShape; }

    public Shape outShape() { return outShape; }

    /**
     * What the layer is, as plain values a JSON file can hold and {@link LayerSpecs#layer} builds
     * the same layer from: its "type" (the class's name), its constructor's arguments by name, and
     * "spectral": true when it is {@link #spectralNormalized}. A layer written outside jgan has none.
     */
    public java.util.Map<String, Object> spec() {
        throw new UnsupportedOperationException(this + " (" + getClass().getName() + ") has no spec: only jgan's own layers can be saved as one");
    }

    /** A spec of {@code type} with the arguments {@code nameValue} (name, value, name, value, ...), and "spectral" when set. */
    protected final java.util.Map<String, Object> spec(String type, Object... nameValue) {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("type", type);
        for (int i = 0; i < nameValue.length; i += 2) m.put((String) nameValue[i], nameValue[i + 1]);
        if (spectral) m.put("spectral", true);
        return m;
    }

    /** A short description such as "Dense(784 -> 512)". */
    @Override public abstract String toString();

    /** The parameters of a weighted layer: "weight", then "bias" when it has one (bias null otherwise). */
    protected static List<Parameter> weightAndBias(Tensor weight, Tensor dWeight, Tensor bias, Tensor dBias) {
        return bias == null ? List.of(new Parameter("weight", weight, dWeight))
                : List.of(new Parameter("weight", weight, dWeight), new Parameter("bias", bias, dBias));
    }

    protected static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }
}
