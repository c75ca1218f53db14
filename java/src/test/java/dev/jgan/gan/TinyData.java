package dev.jgan.gan;

import dev.jgan.data.Idx;

import java.nio.file.Path;

/** A small IDX dataset the tests make themselves: 28x28 bars and blocks of ten kinds. */
public final class TinyData {
    private TinyData() {}

    /** Writes train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz with n images into dir. */
    public static Path write(Path dir, int n) {
        return write(dir, n, "train", 0);
    }

    /** Both splits: n training images and m test images (t10k-*), the test split's pixel noise drawn differently. */
    public static Path writeSplits(Path dir, int n, int m) {
        write(dir, n, "train", 0);
        return write(dir, m, "t10k", 3);
    }

    /** {@code prefix}-images/labels with n images; {@code phase} shifts the per-image pixel noise. */
    public static Path write(Path dir, int n, String prefix, int phase) {
        byte[] px = new byte[n * 28 * 28];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            int k = i % 10;
            labels[i] = k;
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++) {
                    boolean on = k < 5 ? (x / 4 == k + 1) : (y / 4 == k - 4);
                    px[i * 784 + y * 28 + x] = (byte) (on ? 255 - (i + phase) % 7 : (x + y + i + phase) % 3);
                }
        }
        Idx.writeImages(dir.resolve(prefix + "-images-idx3-ubyte.gz"), px, n, 28, 28, true);
        Idx.writeLabels(dir.resolve(prefix + "-labels-idx1-ubyte.gz"), labels, true);
        return dir;
    }
}
