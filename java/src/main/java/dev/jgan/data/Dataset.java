package dev.jgan.data;

import java.util.Arrays;

/**
 * A dataset held on the host: {@code images} (N, C, H, W) row-major with pixels in [-1, 1], and
 * {@code labels} (N) or null when the source has none.
 *
 * <p>Pixels of 8-bit sources map as {@code u / 127.5 - 1} (computed in double, rounded to
 * float), so 0 is exactly -1 and 255 exactly 1. The arrays are shared, not copied: treat them as
 * read-only.
 */
public record Dataset(String name, float[] images, int[] labels, int n, int c, int h, int w) implements ImageSource {
    private static final float[] U8_TO_UNIT = new float[256];

    static {
        for (int u = 0; u < 256; u++) U8_TO_UNIT[u] = (float) (u / 127.5 - 1.0);
    }

    public Dataset {
        if (n < 1 || c < 1 || h < 1 || w < 1)
            throw new IllegalArgumentException("dataset dimensions must be positive: n=" + n + " c=" + c + " h=" + h + " w=" + w);
        if ((long) n * c * h * w != images.length)
            throw new IllegalArgumentException("images hold " + images.length + " floats, (N, C, H, W) = (" + n + ", " + c + ", "
                    + h + ", " + w + ") needs " + (long) n * c * h * w);
        if (labels != null && labels.length != n)
            throw new IllegalArgumentException(labels.length + " labels for " + n + " images");
    }

    /** Floats per image: C * H * W. */
    @Override public int itemSize() { return c * h * w; }

    @Override public void copy(int item, float[] dst, int offset) {
        if (item < 0 || item >= n) throw new IndexOutOfBoundsException("image " + item + " of " + n);
        System.arraycopy(images, item * itemSize(), dst, offset, itemSize());
    }

    @Override public Dataset toDataset() { return this; }

    /** The [-1, 1] value of an 8-bit pixel. */
    public static float unit(int u8) { return U8_TO_UNIT[u8 & 0xFF]; }

    /** 8-bit pixels (N, C, H, W) to a dataset in [-1, 1]. */
    public static Dataset fromBytes(String name, byte[] pixels, int[] labels, int n, int c, int h, int w) {
        float[] images = new float[pixels.length];
        for (int i = 0; i < pixels.length; i++) images[i] = U8_TO_UNIT[pixels[i] & 0xFF];
        return new Dataset(name, images, labels, n, c, h, w);
    }

    /** The first {@code count} items (a quick run, a smoke test); shares nothing with this one. */
    public Dataset head(int count) {
        if (count < 1 || count > n) throw new IllegalArgumentException("head(" + count + ") of a dataset of " + n);
        float[] im = Arrays.copyOf(images, count * itemSize());
        int[] lb = labels == null ? null : Arrays.copyOf(labels, count);
        return new Dataset(name, im, lb, count, c, h, w);
    }

    @Override public String toString() {
        return "Dataset[" + name + ", (" + n + ", " + c + ", " + h + ", " + w + ")" + (labels == null ? ", no labels" : "") + "]";
    }
}
