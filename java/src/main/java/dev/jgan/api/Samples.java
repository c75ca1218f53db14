package dev.jgan.api;

import dev.jgan.data.RingOfGaussians;
import dev.jgan.io.ImageGrid;
import dev.jgan.io.ScatterPlot;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Samples of a {@link Generator}: {@code count} items of shape {@code itemShape} ((C, H, W) images
 * in [-1, 1], or (2) points) one after another in {@code values}, and the class of each for a
 * conditional model ({@code classes}; null for an unconditional one). The arrays are the caller's:
 * nothing else holds them.
 */
public record Samples(int count, int[] itemShape, float[] values, int[] classes) {

    /** The floats of one item (a copy). */
    public float[] item(int i) {
        if (i < 0 || i >= count) throw new IndexOutOfBoundsException("item " + i + " of " + count);
        int per = values.length / count;
        return Arrays.copyOfRange(values, i * per, (i + 1) * per);
    }

    /** Image i as a BufferedImage (gray for C = 1, RGB for C = 3; [-1, 1] as 0 .. 255); images only. */
    public java.awt.image.BufferedImage image(int i) {
        if (!images()) throw new IllegalStateException("these samples are 2-D points, not images: use item(i)");
        return ImageGrid.single(item(i), itemShape[0], itemShape[1], itemShape[2]);
    }

    /** Whether the items are images (C, H, W). */
    public boolean images() { return itemShape.length == 3; }

    /**
     * Writes the samples as a PNG, atomically: images as a square grid in order, row by row;
     * points as a scatter plot over the ring's modes.
     */
    public void writePng(Path file) {
        if (images()) {
            ImageGrid.writePng(file, values, count, itemShape[0], itemShape[1], itemShape[2], (int) Math.ceil(Math.sqrt(count)), 1);
        } else {
            ScatterPlot.writePng(file, values, count, new RingOfGaussians().modes());
        }
    }

    /** The picture {@link #writePng} writes, as PNG bytes; images enlarged {@code scale} times. */
    public byte[] png(int scale) { return png(scale, (int) Math.ceil(Math.sqrt(count))); }

    /** As {@link #png(int)} with {@code columns} images a row (images; points are one plot). */
    public byte[] png(int scale, int columns) {
        if (images()) return ImageGrid.pngBytes(values, count, itemShape[0], itemShape[1], itemShape[2], columns, scale);
        return ScatterPlot.pngBytes(values, count, new RingOfGaussians().modes());
    }

    @Override public String toString() {
        return "Samples(" + count + " x " + Arrays.toString(itemShape) + (classes == null ? "" : ", conditional") + ")";
    }
}
