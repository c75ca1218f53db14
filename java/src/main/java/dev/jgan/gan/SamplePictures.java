package dev.jgan.gan;

import dev.jgan.data.RingOfGaussians;
import dev.jgan.io.ImageGrid;
import dev.jgan.io.ScatterPlot;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.nio.file.Path;

/** Pictures of generator output: an image grid, or a scatter plot for the 2-D toy. */
final class SamplePictures {
    private SamplePictures() {}

    /**
     * Writes up to {@code max} images of {@code samples} as a square grid (5x5 for 25), or every
     * point of a 2-D batch as a scatter plot over the ring's modes; returns the file.
     */
    static Path write(GanModel model, Tensor samples, Path file, int max) {
        Shape s = samples.shape();
        float[] host = samples.toHost();
        model.preset().kind().writePng(file, host, s, max, s.rank() == 4 && s.dim(2) < 64 ? 2 : 1);
        return file;
    }

    /** Writes up to {@code max} of the images {@code host} (shape (n, c, h, w)) as a square grid; returns the file. */
    static Path writeImages(float[] host, Shape s, Path file, int max) {
        return writeImages(host, s, file, max, (int) Math.ceil(Math.sqrt(Math.min(max, s.dim(0)))));
    }

    /** As {@link #writeImages(float[], Shape, Path, int)}, {@code cols} images a row. */
    static Path writeImages(float[] host, Shape s, Path file, int max, int cols) {
        int n = Math.min(max, s.dim(0));
        int h = s.dim(2);
        ImageGrid.writePng(file, host, n, s.dim(1), h, s.dim(3), cols, h < 64 ? 2 : 1);
        return file;
    }
}
