package dev.jgan.data;

/**
 * Image resizing on the host, for presets whose resolution differs from the dataset's (the
 * 64x64 DCGAN on 28x28 MNIST).
 */
public final class Resize {
    private Resize() {}

    /**
     * Bilinear resize of every channel of every image to (newH, newW), as PyTorch's
     * {@code F.interpolate(x, size=(newH, newW), mode="bilinear", align_corners=False)}:
     * output pixel {@code y} samples the input at {@code src = max(0, (y + 0.5) * inH / newH - 0.5)},
     * between rows {@code floor(src)} and {@code min(floor(src) + 1, inH - 1)} with weights
     * {@code 1 - frac, frac}; the same along x. No antialiasing when shrinking (PyTorch's default).
     * Labels and name are kept.
     */
    public static Dataset bilinear(Dataset d, int newH, int newW) {
        if (newH < 1 || newW < 1) throw new IllegalArgumentException("target size must be positive: " + newH + "x" + newW);
        int inH = d.h(), inW = d.w();
        int[] y0 = new int[newH], y1 = new int[newH];
        float[] wy = new float[newH];
        axis(inH, newH, y0, y1, wy);
        int[] x0 = new int[newW], x1 = new int[newW];
        float[] wx = new float[newW];
        axis(inW, newW, x0, x1, wx);

        float[] src = d.images();
        int planes = d.n() * d.c();
        float[] dst = new float[planes * newH * newW];
        for (int p = 0; p < planes; p++) {
            int in = p * inH * inW, out = p * newH * newW;
            for (int y = 0; y < newH; y++) {
                int r0 = in + y0[y] * inW, r1 = in + y1[y] * inW;
                float b = wy[y], a = 1f - b;
                for (int x = 0; x < newW; x++) {
                    float h = wx[x], g = 1f - h;
                    dst[out + y * newW + x] = a * (g * src[r0 + x0[x]] + h * src[r0 + x1[x]])
                                            + b * (g * src[r1 + x0[x]] + h * src[r1 + x1[x]]);
                }
            }
        }
        return new Dataset(d.name(), dst, d.labels(), d.n(), d.c(), newH, newW);
    }

    /**
     * The same bilinear resize of 8-bit images, each output rounded to the nearest 8-bit value
     * (as image libraries resize 8-bit pictures): CIFAR-10's 32x32 for the 64x64 DCGAN stays a
     * quarter of its floats. The weights are the float ones above; only the result is rounded.
     */
    public static byte[] bilinear(U8Images d, int newH, int newW) {
        if (newH < 1 || newW < 1) throw new IllegalArgumentException("target size must be positive: " + newH + "x" + newW);
        int inH = d.h(), inW = d.w();
        int[] y0 = new int[newH], y1 = new int[newH];
        float[] wy = new float[newH];
        axis(inH, newH, y0, y1, wy);
        int[] x0 = new int[newW], x1 = new int[newW];
        float[] wx = new float[newW];
        axis(inW, newW, x0, x1, wx);

        int c = d.c(), inPlane = inH * inW, outPlane = newH * newW;
        byte[] src = new byte[d.itemSize()];
        byte[] dst = new byte[Math.multiplyExact(d.n(), c * outPlane)];
        for (int i = 0; i < d.n(); i++) {
            d.copyBytes(i, src, 0);
            for (int ch = 0; ch < c; ch++) {
                int in = ch * inPlane, out = (i * c + ch) * outPlane;
                for (int y = 0; y < newH; y++) {
                    int r0 = in + y0[y] * inW, r1 = in + y1[y] * inW;
                    float b = wy[y], a = 1f - b;
                    for (int x = 0; x < newW; x++) {
                        float h = wx[x], g = 1f - h;
                        float v = a * (g * (src[r0 + x0[x]] & 0xFF) + h * (src[r0 + x1[x]] & 0xFF))
                                + b * (g * (src[r1 + x0[x]] & 0xFF) + h * (src[r1 + x1[x]] & 0xFF));
                        dst[out + y * newW + x] = (byte) Math.min(255, Math.max(0, Math.round(v)));
                    }
                }
            }
        }
        return dst;
    }

    /** Source indices and the weight of the second one, for each output position along one axis. */
    private static void axis(int in, int out, int[] i0, int[] i1, float[] frac) {
        double scale = (double) in / out;
        for (int o = 0; o < out; o++) {
            double src = Math.max(0.0, (o + 0.5) * scale - 0.5);
            int lo = Math.min((int) src, in - 1);
            i0[o] = lo;
            i1[o] = lo < in - 1 ? lo + 1 : lo;
            frac[o] = (float) (src - lo);
        }
    }
}
