package dev.jgan.gan;

import dev.jgan.tensor.Shape;

/**
 * The real data, as a deterministic sequence of batches: batch {@code i} depends only on the run's
 * seed and {@code i}, so a resumed run continues with exactly the batches it would have seen.
 */
public interface RealBatches extends AutoCloseable {
    /** The shape of one item, e.g. (1, 28, 28). */
    Shape item();

    /** Copies batch number {@code index} (counting from 0 over the whole run) into {@code dst}. */
    void fill(long index, float[] dst);

    /** Batches per epoch, or 0 for an endless source such as the toy distribution. */
    long batchesPerEpoch();

    /** Stops what prepares batches in the background, if anything does. */
    @Override default void close() {}
}
