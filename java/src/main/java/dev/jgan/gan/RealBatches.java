package dev.jgan.gan;

import dev.jgan.tensor.Shape;

/**
 * The real data, as a deterministic sequence of batches: batch {@code i} depends only on the run's
 * seed and {@code i}, so a resumed run continues with exactly the batches it would have seen.
 */
public interface RealBatches extends AutoCloseable {
    /** The shape of one item, e.g. (1, 28, 28). */
    Shape item();

    /**
     * The classes of a labelled source (a class-conditional run's): then each batch holds its B
     * items and, after them, their B labels 0 .. K-1 as floats. 0 for a source without labels,
     * whose batches hold the items alone.
     */
    default int classes() { return 0; }

    /** Floats in one batch of {@code batch} items: the items, and their labels when {@link #classes} > 0. */
    default int batchFloats(int batch) {
        return Math.toIntExact(item().size() * batch + (classes() > 0 ? batch : 0));
    }

    /** Copies batch number {@code index} (counting from 0 over the whole run) into {@code dst} (see {@link #classes}). */
    void fill(long index, float[] dst);

    /**
     * Batch number {@code index}, in {@code scratch} or in a buffer of the source's own that stays
     * valid until the next call: what the step reads its batch from. A source that prepares batches
     * in the background lends its buffer here instead of copying it.
     */
    default float[] take(long index, float[] scratch) {
        fill(index, scratch);
        return scratch;
    }

    /** Batches per epoch, or 0 for an endless source such as the toy distribution. */
    long batchesPerEpoch();

    /** Stops what prepares batches in the background, if anything does. */
    @Override default void close() {}
}
