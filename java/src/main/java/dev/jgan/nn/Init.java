package dev.jgan.nn;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Tensor;

/**
 * How a layer's parameters start ({@code --init}). Weights draw from the model's Philox stream, so
 * a seed fixes the whole initial model on every backend. Fans are counted as PyTorch and Keras
 * count them: a dense layer's inputs and outputs, times the kernel area for convolutions, and for
 * a transposed convolution its output channels times the area as the fan-in.
 */
public enum Init {
    /** Keras' default: U(-a, a) with a = sqrt(6 / (fanIn + fanOut)); zero biases, gamma 1. */
    GLOROT_UNIFORM("glorot") {
        @Override public void weight(Backend b, Tensor w, int fanIn, int fanOut, RngStream rng) {
            float a = (float) Math.sqrt(6.0 / (fanIn + fanOut));
            b.fillUniform(w, -a, a, rng.seed(), rng.take(w.size()));
        }
    },
    /**
     * PyTorch's default for Linear, Conv2d and ConvTranspose2d ({@code reset_parameters}):
     * kaiming_uniform with a = sqrt(5), which is U(-1/sqrt(fanIn), 1/sqrt(fanIn)), and the bias
     * from the same interval; batch norm's gamma 1, beta 0.
     */
    PYTORCH("pytorch") {
        @Override public void weight(Backend b, Tensor w, int fanIn, int fanOut, RngStream rng) {
            float a = (float) (1 / Math.sqrt(fanIn));
            b.fillUniform(w, -a, a, rng.seed(), rng.take(w.size()));
        }

        @Override public void bias(Backend b, Tensor bias, int fanIn, RngStream rng) {
            float a = (float) (1 / Math.sqrt(fanIn));
            b.fillUniform(bias, -a, a, rng.seed(), rng.take(bias.size()));
        }
    },
    /** Radford et al.'s DCGAN: weights N(0, 0.02), batch-norm gamma N(1, 0.02), zero biases and betas. */
    DCGAN_NORMAL("normal") {
        @Override public void weight(Backend b, Tensor w, int fanIn, int fanOut, RngStream rng) {
            b.fillNormal(w, 0f, 0.02f, rng.seed(), rng.take(w.size()));
        }

        @Override public void bnGamma(Backend b, Tensor gamma, RngStream rng) {
            b.fillNormal(gamma, 1f, 0.02f, rng.seed(), rng.take(gamma.size()));
        }
    };

    private final String flag;

    Init(String flag) { this.flag = flag; }

    /** The name {@code --init} takes. */
    public String flag() { return flag; }

    /** Fills a weight of the given fans. */
    public abstract void weight(Backend b, Tensor w, int fanIn, int fanOut, RngStream rng);

    /** Fills a bias (zeros but for PyTorch's init). */
    public void bias(Backend b, Tensor bias, int fanIn, RngStream rng) { b.fill(bias, 0f); }

    /** Batch-norm scale: 1, or N(1, 0.02) in the DCGAN recipe. */
    public void bnGamma(Backend b, Tensor gamma, RngStream rng) { b.fill(gamma, 1f); }

    public static Init of(String flag) {
        for (Init i : values()) if (i.flag.equals(flag)) return i;
        throw new UserError("unknown init '" + flag + "'; use glorot, pytorch or normal");
    }
}
