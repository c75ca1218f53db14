package dev.jgan.nn;

import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.List;
import java.util.Map;

/**
 * Fully connected layer, y = x W^T + b, with x (N, in), W (out, in) as PyTorch stores it (so
 * checkpoints load there), b (out), y (N, out).
 */
public final class Dense extends Layer {
    private final int in, out;
    private final boolean hasBias;
    private Tensor weight, bias, dWeight, dBias, y, x;
    /** The weight's spectral norm when the layer is {@link #spectralNormalized}, else null; w: what the last forward computed with. */
    private SpectralNorm sn;
    private Tensor w;

    public Dense(int in, int out) { this(in, out, true); }

    public Dense(int in, int out, boolean bias) {
        this.in = in;
        this.out = out;
        this.hasBias = bias;
    }

    @Override public Shape outputShape(Shape s) {
        require(s.rank() == 2 && s.dim(1) == in, this + " needs input (N, " + in + "), got " + s);
        return Shape.of(s.dim(0), out);
    }

    @Override protected void allocate(Init init, RngStream rng) {
        weight = backend.allocate(Shape.of(out, in));
        dWeight = backend.allocate(weight.shape());
        init.weight(backend, weight, in, out, rng);
        if (hasBias) {
            bias = backend.allocate(Shape.of(out));
            dBias = backend.allocate(bias.shape());
            init.bias(backend, bias, in, rng);
        }
        y = backend.allocate(outShape);
        sn = spectralNorm(weight, 0, rng);
    }

    @Override public Tensor forward(Tensor x, boolean training) {
        this.x = x;
        w = sn == null ? weight : sn.forward(weight, training);
        int n = inShape.dim(0);
        backend.gemm(false, true, n, out, in, 1f, x, w, 0f, y);   // y (N, out) = x (N, in) W^T
        if (hasBias) backend.addBias(y, bias);
        return y;
    }

    @Override public Tensor backward(Tensor dy, GradMode mode, boolean needDx) {
        int n = inShape.dim(0);
        if (mode != GradMode.SKIP) {
            float beta = sn == null && mode.accumulate() ? 1f : 0f;
            backend.gemm(true, false, out, in, n, 1f, dy, x, beta, sn == null ? dWeight : sn.weightGradient());   // dW (out, in) = dy^T x
            if (sn != null) sn.backward(dWeight, mode.accumulate());
            if (hasBias) backend.biasGrad(dy, dBias, mode.accumulate());
        }
        if (!needDx) return null;
        backend.gemm(false, false, n, in, out, 1f, dy, w, 0f, dx);       // dx (N, in) = dy W
        return dx;
    }

    @Override public List<Parameter> parameters() { return weightAndBias(weight, dWeight, bias, dBias); }

    @Override public Map<String, Tensor> buffers() { return sn == null ? Map.of() : sn.buffers(); }

    @Override public boolean hasWeight() { return true; }

    @Override public java.util.Map<String, Object> spec() { return spec("Dense", "in", in, "out", out, "bias", hasBias); }

    @Override public String toString() { return "Dense(" + in + " -> " + out + (hasBias ? "" : ", no bias") + spectralText() + ")"; }
}
