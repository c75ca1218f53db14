package dev.jgan.backend;

/**
 * Stride and zero padding of a 2-D convolution (dilation is 1, groups 1). Kernel and image sizes
 * come from the tensors; {@link #outputSize} is the one formula every backend and layer uses.
 */
public record ConvGeometry(int strideH, int strideW, int padH, int padW) {
    public ConvGeometry {
        if (strideH <= 0 || strideW <= 0) throw new IllegalArgumentException("convolution stride must be positive: " + strideH + "x" + strideW);
        if (padH < 0 || padW < 0) throw new IllegalArgumentException("convolution padding must be >= 0: " + padH + "x" + padW);
    }

    public static ConvGeometry of(int stride, int pad) { return new ConvGeometry(stride, stride, pad, pad); }

    /** Output extent of a convolution over {@code in} with a kernel of {@code k}: (in + 2 pad - k) / stride + 1. */
    public static int outputSize(int in, int k, int stride, int pad) {
        int span = in + 2 * pad - k;
        if (span < 0) throw new IllegalArgumentException("kernel " + k + " larger than padded input " + (in + 2 * pad));
        return span / stride + 1;
    }

    /** Output extent of the transposed convolution: (in - 1) stride - 2 pad + k + outputPadding. */
    public static int transposedOutputSize(int in, int k, int stride, int pad, int outputPadding) {
        return (in - 1) * stride - 2 * pad + k + outputPadding;
    }

    public int outH(int h, int r) { return outputSize(h, r, strideH, padH); }

    public int outW(int w, int s) { return outputSize(w, s, strideW, padW); }
}
