package dev.jgan.nn;

import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

/**
 * Inverted dropout: in training each element is zeroed with probability p and the rest scaled by
 * 1 / (1 - p); identity at inference. The mask is drawn from the run's training noise stream
 * (see {@link #setNoise}), so it is reproducible and resumes exactly.
 */
public final class Dropout extends Layer {
    private final float p;
    private Tensor mask, y;
    private RngStream noise;
    private boolean lastTraining;

    public Dropout(float p) {
        require(p >= 0 && p < 1, "dropout probability must be in [0, 1), got " + p);
        this.p = p;
    }

    @Override public Shape outputShape(Shape in) { return in; }

    @Override protected void allocate(Init init, RngStream rng) {
        mask = backend.allocate(inShape);
        y = backend.allocate(inShape);
    }

    /** p = 0 passes dy through. */
    @Override protected boolean writesDx() { return p > 0f; }

    @Override public void setNoise(RngStream noise) { this.noise = noise; }

    @Override public Tensor forward(Tensor x, boolean training) {
        lastTraining = training;
        if (!training || p == 0f) return x;
        if (noise == null) throw new IllegalStateException("Dropout in training mode needs a noise stream (setNoise)");
        backend.dropoutForward(x, mask, y, p, noise.seed(), noise.take(x.size()));
        return y;
    }

    @Override public Tensor backward(Tensor dy, GradMode mode, boolean needDx) {
        if (!needDx) return null;
        if (p == 0f) return dy;
        // after an inference forward (the identity) dx = dy, copied: dx must be in its own buffer, as
        // Sequential's alternation of gradient buffers expects of a layer that writes one
        if (!lastTraining) backend.copy(dy, dx);
        else backend.dropoutBackward(dy, mask, dx);
        return dx;
    }

    @Override public java.util.Map<String, Object> spec() { return spec("Dropout", "p", p); }

    @Override public String toString() { return "Dropout(" + p + ")"; }
}
