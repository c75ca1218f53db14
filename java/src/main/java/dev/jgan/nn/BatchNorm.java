package dev.jgan.nn;

import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Batch normalisation per channel (dimension 1) over the batch and spatial positions: BatchNorm1d
 * for (N, C), BatchNorm2d for (N, C, H, W). Momentum is PyTorch's:
 * {@code running = (1 - momentum) * running + momentum * batch}, so Keras' momentum 0.8 is 0.2 here.
 * Training uses batch statistics; inference the running ones.
 *
 * <p>{@link Sequential} may fuse a following ReLU or LeakyReLU into this layer
 * ({@link #fuseLeakyRelu}); the output is then the activation's, computed by
 * {@link dev.jgan.backend.Backend#batchNormLeakyReluTrain} in training. Parameters and buffers
 * keep their names.
 */
public final class BatchNorm extends Layer {
    private final int channels;
    private final float momentum, eps;
    private Tensor gamma, beta, dGamma, dBeta, runningMean, runningVar, saveMean, saveInvStd, y, x;
    /** While >= 0, the momentum of training forwards instead of {@link #momentum} (see {@link #averageBatches}). */
    private float momentumOverride = -1f;
    /** The slope of a fused LeakyReLU (ReLU: 0), or -1 when no activation is fused. */
    private float fusedSlope = -1f;

    public BatchNorm(int channels, float momentum, float eps) {
        require(momentum >= 0 && momentum <= 1, "BatchNorm momentum must be in [0, 1], got " + momentum);
        require(eps > 0, "BatchNorm eps must be > 0, got " + eps);
        this.channels = channels;
        this.momentum = momentum;
        this.eps = eps;
    }

    @Override public Shape outputShape(Shape in) {
        require((in.rank() == 2 || in.rank() == 4) && in.dim(1) == channels,
                this + " needs input (N, " + channels + ") or (N, " + channels + ", H, W), got " + in);
        return in;
    }

    @Override protected void allocate(Init init, RngStream rng) {
        Shape c = Shape.of(channels);
        gamma = backend.allocate(c);
        init.bnGamma(backend, gamma, rng);
        beta = backend.allocate(c);
        dGamma = backend.allocate(c);
        dBeta = backend.allocate(c);
        runningMean = backend.allocate(c);
        runningVar = backend.allocate(c);
        backend.fill(runningVar, 1f);
        saveMean = backend.allocate(c);
        saveInvStd = backend.allocate(c);
        y = backend.allocate(inShape);
    }

    /**
     * Applies y = z > 0 ? z : slope * z (slope >= 0; ReLU is 0) to this layer's output from now on;
     * {@link Sequential} calls it before {@link #build} for a BatchNorm followed by that activation.
     */
    void fuseLeakyRelu(float slope) {
        require(slope >= 0, "fused LeakyReLU slope must be >= 0, got " + slope);
        fusedSlope = slope;
    }

    @Override public Tensor forward(Tensor x, boolean training) {
        float m = momentumOverride >= 0 ? momentumOverride : momentum;
        if (training) {
            this.x = x;
            if (fusedSlope >= 0)
                backend.batchNormLeakyReluTrain(x, gamma, beta, runningMean, runningVar, m, eps, fusedSlope, y, saveMean,
                        saveInvStd);
            else backend.batchNormTrain(x, gamma, beta, runningMean, runningVar, m, eps, y, saveMean, saveInvStd);
        } else {
            backend.batchNormInfer(x, gamma, beta, runningMean, runningVar, eps, y);
            // no fused inference kernel: the activation's own op, in place, as the unfused layers ran it
            if (fusedSlope == 0) backend.relu(y, y);
            else if (fusedSlope > 0) backend.leakyRelu(y, y, fusedSlope);
        }
        return y;
    }

    @Override public Tensor backward(Tensor dy, GradMode mode, boolean needDx) {
        // One pass yields dx and the parameter gradients together; under SKIP the latter are
        // overwritten but no optimizer step reads them before the next WRITE. Fused, y is the
        // activation's output of the last training forward, which the backward may read.
        if (fusedSlope >= 0)
            backend.batchNormLeakyReluBackward(x, y, dy, gamma, beta, fusedSlope, saveMean, saveInvStd, dx, dGamma, dBeta,
                    mode.accumulate());
        else backend.batchNormBackward(x, dy, gamma, saveMean, saveInvStd, dx, dGamma, dBeta, mode.accumulate());
        return needDx ? dx : null;
    }

    /**
     * For re-estimating the running statistics from scratch (as torch.optim.swa_utils.update_bn):
     * {@code batch} = k >= 0 makes the next training forward use momentum 1 / (k + 1), so that
     * after batches 0 .. K-1 the running statistics are the plain averages of the K batch
     * statistics; {@code batch} < 0 restores the layer's own momentum.
     */
    public void averageBatches(int batch) {
        momentumOverride = batch < 0 ? -1f : 1f / (batch + 1);
    }

    @Override public List<Parameter> parameters() {
        return List.of(new Parameter("weight", gamma, dGamma), new Parameter("bias", beta, dBeta));
    }

    @Override public Map<String, Tensor> buffers() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("running_mean", runningMean);
        m.put("running_var", runningVar);
        return m;
    }

    @Override public java.util.Map<String, Object> spec() { return spec("BatchNorm", "channels", channels, "momentum", momentum, "eps", eps); }

    @Override public String toString() {
        return "BatchNorm(" + channels + ", momentum=" + momentum + ", eps=" + eps + ")";
    }
}
