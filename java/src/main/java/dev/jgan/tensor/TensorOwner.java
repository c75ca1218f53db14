package dev.jgan.tensor;

/**
 * What a tensor needs from the backend that owns it: its name and the copy to the host. The
 * backend interface extends this, so tensor/ never imports backend/.
 */
public interface TensorOwner {
    /** Short name: "cpu", "cuda". */
    String name();

    /** Copies {@code src} into {@code dst} (at least src.size() floats). */
    void toHost(Tensor src, float[] dst);
}
