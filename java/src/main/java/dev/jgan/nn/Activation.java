package dev.jgan.nn;

import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

/**
 * An elementwise activation: y = f(x) with any shape; the backward reads the saved output y, so
 * the input need not be kept. A ReLU or LeakyReLU right after a {@link BatchNorm} in a
 * {@link Sequential} is fused into it (see {@link Sequential#build}): it then passes x and dy
 * through unchanged and allocates nothing.
 */
public abstract sealed class Activation extends Layer
        permits Activation.LeakyReLU, Activation.ReLU, Activation.Tanh, Activation.Sigmoid {
    protected Tensor y;
    /** Set by {@link Sequential} when the preceding BatchNorm applies this activation. */
    private boolean fusedIntoBatchNorm;

    @Override public Shape outputShape(Shape in) { return in; }

    @Override protected void allocate(Init init, RngStream rng) {
        if (fusedIntoBatchNorm) return;
        y = backend.allocate(inShape);
    }

    @Override protected boolean writesDx() { return !fusedIntoBatchNorm; }

    @Override public final Tensor forward(Tensor x, boolean training) {
        if (fusedIntoBatchNorm) return x;
        apply(x);
        return y;
    }

    @Override public final Tensor backward(Tensor dy, GradMode mode, boolean needDx) {
        if (!needDx) return null;
        if (fusedIntoBatchNorm) return dy;
        applyBackward(dy);
        return dx;
    }

    /** The LeakyReLU slope a BatchNorm can apply in its own pass (ReLU: 0), or -1 if it cannot. */
    float batchNormFusableSlope() {
        return switch (this) {
            case LeakyReLU l -> l.slope;
            case ReLU r -> 0f;
            case Tanh t -> -1f;
            case Sigmoid s -> -1f;
        };
    }

    /** From now on (call before {@link #build}) the preceding BatchNorm applies this activation. */
    void fuseIntoBatchNorm() { fusedIntoBatchNorm = true; }

    protected abstract void apply(Tensor x);

    protected abstract void applyBackward(Tensor dy);

    /** y = x > 0 ? x : slope * x. */
    public static final class LeakyReLU extends Activation {
        private final float slope;

        public LeakyReLU(float slope) {
            require(slope >= 0, "LeakyReLU slope must be >= 0, got " + slope);
            this.slope = slope;
        }

        @Override protected void apply(Tensor x) { backend.leakyRelu(x, y, slope); }

        @Override protected void applyBackward(Tensor dy) { backend.leakyReluBackward(y, dy, dx, slope); }

        @Override public java.util.Map<String, Object> spec() { return spec("LeakyReLU", "slope", slope); }

        @Override public String toString() { return "LeakyReLU(" + slope + ")"; }
    }

    /** y = max(x, 0). */
    public static final class ReLU extends Activation {
        @Override protected void apply(Tensor x) { backend.relu(x, y); }

        @Override protected void applyBackward(Tensor dy) { backend.reluBackward(y, dy, dx); }

        @Override public java.util.Map<String, Object> spec() { return spec("ReLU"); }

        @Override public String toString() { return "ReLU"; }
    }

    /** y = tanh(x). */
    public static final class Tanh extends Activation {
        @Override protected void apply(Tensor x) { backend.tanh(x, y); }

        @Override protected void applyBackward(Tensor dy) { backend.tanhBackward(y, dy, dx); }

        @Override public java.util.Map<String, Object> spec() { return spec("Tanh"); }

        @Override public String toString() { return "Tanh"; }
    }

    /** y = 1 / (1 + exp(-x)). */
    public static final class Sigmoid extends Activation {
        @Override protected void apply(Tensor x) { backend.sigmoid(x, y); }

        @Override protected void applyBackward(Tensor dy) { backend.sigmoidBackward(y, dy, dx); }

        @Override public java.util.Map<String, Object> spec() { return spec("Sigmoid"); }

        @Override public String toString() { return "Sigmoid"; }
    }
}
