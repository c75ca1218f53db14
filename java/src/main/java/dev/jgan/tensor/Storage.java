package dev.jgan.tensor;

/**
 * The memory behind a tensor, as its backend sees it: host memory for the CPU backend, a device
 * pointer for CUDA. Only the owning backend looks inside.
 */
public interface Storage {
    /** Capacity in float32 elements. */
    long floats();
}
