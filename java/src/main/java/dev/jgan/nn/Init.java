package dev.jgan.nn;

import dev.jgan.backend.Backend;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Tensor;

/**
 * How a layer's parameters start. Weights draw from the model's Philox stream, so a seed fixes
 * the whole initial model on every backend.
 */
public interface Init {
    /** Fills a weight with fan-in and fan-out as PyTorch and Keras count them (times the kernel area for convolutions). */
    void weight(Backend b, Tensor w, int fanIn, int fanOut, RngStream rng);

    /** Fills a bias (zeros in both recipes used here). */
    default void bias(Backend b, Tensor bias, int fanIn, RngStream rng) { b.fill(bias, 0f); }

    /** Batch-norm scale: 1, or N(1, 0.02) in the DCGAN recipe. */
    default void bnGamma(Backend b, Tensor gamma, RngStream rng) { b.fill(gamma, 1f); }

    /** Keras' default: U(-a, a) with a = sqrt(6 / (fanIn + fanOut)); zero biases, gamma 1. */
    Init GLOROT_UNIFORM = (b, w, fanIn, fanOut, rng) -> {
        float a = (float) Math.sqrt(6.0 / (fanIn + fanOut));
        b.fillUniform(w, -a, a, rng.seed(), rng.take(w.size()));
    };

    /** Radford et al.'s DCGAN: weights N(0, 0.02), batch-norm gamma N(1, 0.02), zero biases and betas. */
    Init DCGAN_NORMAL = new Init() {
        @Override public void weight(Backend b, Tensor w, int fanIn, int fanOut, RngStream rng) {
            b.fillNormal(w, 0f, 0.02f, rng.seed(), rng.take(w.size()));
        }

        @Override public void bnGamma(Backend b, Tensor gamma, RngStream rng) {
            b.fillNormal(gamma, 1f, 0.02f, rng.seed(), rng.take(gamma.size()));
        }
    };
}
