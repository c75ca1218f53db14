package dev.jgan.nn;

import dev.jgan.backend.ConvGeometry;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.List;
import java.util.Map;

/**
 * 2-D convolution (cross-correlation), x (N, in, H, W) to y (N, out, P, Q), with a square
 * kernel, weight (out, in, k, k) as PyTorch stores it and an optional bias (out).
 */
public final class Conv2d extends Layer {
    private final int in, out, k;
    private final ConvGeometry geometry;
    private final boolean hasBias;
    private Tensor weight, bias, dWeight, dBias, y, x;
    /** The weight's spectral norm when the layer is {@link #spectralNormalized}, else null; w: what the last forward computed with. */
    private SpectralNorm sn;
    private Tensor w;

    public Conv2d(int in, int out, int k, int stride, int pad, boolean bias) {
        this.in = in;
        this.out = out;
        this.k = k;
        this.geometry = ConvGeometry.of(stride, pad);
        this.hasBias = bias;
    }

    @Override public Shape outputShape(Shape s) {
        require(s.rank() == 4 && s.dim(1) == in, this + " needs input (N, " + in + ", H, W), got " + s);
        return Shape.of(s.dim(0), out, geometry.outH(s.dim(2), k), geometry.outW(s.dim(3), k));
    }

    @Override protected void allocate(Init init, RngStream rng) {
        weight = backend.allocate(Shape.of(out, in, k, k));
        dWeight = backend.allocate(weight.shape());
        init.weight(backend, weight, in * k * k, out * k * k, rng);
        if (hasBias) {
            bias = backend.allocate(Shape.of(out));
            dBias = backend.allocate(bias.shape());
            init.bias(backend, bias, in * k * k, rng);
        }
        y = backend.allocate(outShape);
        sn = spectralNorm(weight, 0, rng);
    }

    @Override public Tensor forward(Tensor x, boolean training) {
        this.x = x;
        w = sn == null ? weight : sn.forward(weight, training);
        backend.conv2dForward(x, w, y, geometry);
        if (hasBias) backend.addBias(y, bias);
        return y;
    }

    @Override public Tensor backward(Tensor dy, GradMode mode, boolean needDx) {
        if (mode != GradMode.SKIP) {
            if (sn == null) {
                backend.conv2dBackwardFilter(x, dy, dWeight, geometry, mode.accumulate());
            } else {
                backend.conv2dBackwardFilter(x, dy, sn.weightGradient(), geometry, false);
                sn.backward(dWeight, mode.accumulate());
            }
            if (hasBias) backend.biasGrad(dy, dBias, mode.accumulate());
        }
        if (!needDx) return null;
        backend.conv2dBackwardData(dy, w, dx, geometry);
        return dx;
    }

    @Override public List<Parameter> parameters() { return weightAndBias(weight, dWeight, bias, dBias); }

    @Override public Map<String, Tensor> buffers() { return sn == null ? Map.of() : sn.buffers(); }

    @Override public boolean hasWeight() { return true; }

    @Override public java.util.Map<String, Object> spec() { return spec("Conv2d", "in", in, "out", out, "kernel", k, "stride", geometry.strideH(), "pad", geometry.padH(), "bias", hasBias); }

    @Override public String toString() {
        return "Conv2d(" + in + " -> " + out + ", " + k + "x" + k + ", stride " + geometry.strideH() + ", pad "
                + geometry.padH() + (hasBias ? "" : ", no bias") + spectralText() + ")";
    }
}
