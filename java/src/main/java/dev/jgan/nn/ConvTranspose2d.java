package dev.jgan.nn;

import dev.jgan.backend.ConvGeometry;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.List;
import java.util.Map;

/**
 * Transposed 2-D convolution, x (N, in, H, W) to y (N, out, (H - 1) stride - 2 pad + k + outputPadding, ...),
 * weight (in, out, k, k) as PyTorch stores it. It is the convolution's three calls swapped: the
 * forward is the convolution's backward-data, the input gradient its forward, the weight gradient
 * its backward-filter with input and output gradient exchanged.
 */
public final class ConvTranspose2d extends Layer {
    private final int in, out, k, outputPadding;
    private final ConvGeometry geometry;
    private final boolean hasBias;
    private Tensor weight, bias, dWeight, dBias, y, x;
    /** The weight's spectral norm when the layer is {@link #spectralNormalized}, else null; w: what the last forward computed with. */
    private SpectralNorm sn;
    private Tensor w;

    public ConvTranspose2d(int in, int out, int k, int stride, int pad, int outputPadding, boolean bias) {
        if (outputPadding < 0 || outputPadding >= stride)
            throw new IllegalArgumentException("output padding must be in [0, stride), got " + outputPadding + " for stride " + stride);
        this.in = in;
        this.out = out;
        this.k = k;
        this.outputPadding = outputPadding;
        this.geometry = ConvGeometry.of(stride, pad);
        this.hasBias = bias;
    }

    @Override public Shape outputShape(Shape s) {
        require(s.rank() == 4 && s.dim(1) == in, this + " needs input (N, " + in + ", H, W), got " + s);
        int h = ConvGeometry.transposedOutputSize(s.dim(2), k, geometry.strideH(), geometry.padH(), outputPadding);
        int w = ConvGeometry.transposedOutputSize(s.dim(3), k, geometry.strideW(), geometry.padW(), outputPadding);
        require(h > 0 && w > 0, this + " gives an empty output for input " + s);
        return Shape.of(s.dim(0), out, h, w);
    }

    @Override protected void allocate(Init init, RngStream rng) {
        weight = backend.allocate(Shape.of(in, out, k, k));
        dWeight = backend.allocate(weight.shape());
        // fans as PyTorch and Keras count them for a transposed convolution's kernel
        init.weight(backend, weight, out * k * k, in * k * k, rng);
        if (hasBias) {
            bias = backend.allocate(Shape.of(out));
            dBias = backend.allocate(bias.shape());
            init.bias(backend, bias, out * k * k, rng);
        }
        y = backend.allocate(outShape);
        sn = spectralNorm(weight, 1, rng);
    }

    @Override public Tensor forward(Tensor x, boolean training) {
        this.x = x;
        w = sn == null ? weight : sn.forward(weight, training);
        backend.conv2dBackwardData(x, w, y, geometry);        // y = x (*)^T w
        if (hasBias) backend.addBias(y, bias);
        return y;
    }

    @Override public Tensor backward(Tensor dy, GradMode mode, boolean needDx) {
        if (mode != GradMode.SKIP) {
            if (sn == null) {
                backend.conv2dBackwardFilter(dy, x, dWeight, geometry, mode.accumulate());   // roles of x and dy swapped
            } else {
                backend.conv2dBackwardFilter(dy, x, sn.weightGradient(), geometry, false);
                sn.backward(dWeight, mode.accumulate());
            }
            if (hasBias) backend.biasGrad(dy, dBias, mode.accumulate());
        }
        if (!needDx) return null;
        backend.conv2dForward(dy, w, dx, geometry);
        return dx;
    }

    @Override public List<Parameter> parameters() { return weightAndBias(weight, dWeight, bias, dBias); }

    @Override public Map<String, Tensor> buffers() { return sn == null ? Map.of() : sn.buffers(); }

    @Override public boolean hasWeight() { return true; }

    @Override public java.util.Map<String, Object> spec() { return spec("ConvTranspose2d", "in", in, "out", out, "kernel", k, "stride", geometry.strideH(), "pad", geometry.padH(),
                "outputPadding", outputPadding, "bias", hasBias); }

    @Override public String toString() {
        return "ConvTranspose2d(" + in + " -> " + out + ", " + k + "x" + k + ", stride " + geometry.strideH() + ", pad "
                + geometry.padH() + (outputPadding > 0 ? ", output padding " + outputPadding : "") + (hasBias ? "" : ", no bias") + spectralText() + ")";
    }
}
