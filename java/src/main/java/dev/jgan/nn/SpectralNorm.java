package dev.jgan.nn;

import dev.jgan.backend.Backend;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Spectral normalisation of one layer's weight (Miyato et al. 2018, "Spectral Normalization for
 * Generative Adversarial Networks"), as torch.nn.utils.spectral_norm: the layer computes with
 * wsn = w / sigma(w), sigma the largest singular value of w read as a matrix whose rows are its
 * dimension {@code dim} (0: a dense or convolution weight's output features; 1: a transposed
 * convolution's output channels), estimated by power iteration with the vectors u (rows) and
 * v (cols). Each training-mode forward runs one iteration first (PyTorch's
 * n_power_iterations = 1), an inference forward none; the gradient treats u and v as constants,
 * as PyTorch's no-grad iteration does. u and v are buffers ({@code weight_u}, {@code weight_v},
 * PyTorch's names), so checkpoints keep them and a resumed run continues the same iteration.
 *
 * <p>u and v start as N(0, 1) draws from a Philox stream of their own (so that G's and D's
 * initial weights do not depend on whether spectral norm is on), then {@value #INITIAL_ITERATIONS}
 * iterations give a sigma close to the largest singular value before the first step, as
 * torch.nn.utils.parametrizations.spectral_norm does at registration.
 */
final class SpectralNorm {
    static final int INITIAL_ITERATIONS = 15;
    /** Mixed into the init stream's key for the vectors' own stream. */
    private static final long KEY_SALT = 0x5DEECE66DL * 0x9E3779B97F4A7C15L;

    private final Backend b;
    private final int dim;
    private final Tensor u, v, wsn, work;
    /** dL/dwsn: the layer's weight gradient before it is taken through the normalisation. */
    private final Tensor g;

    /** Allocates u, v and the normalised weight for {@code weight}, draws u and v and iterates. */
    SpectralNorm(Backend b, Tensor weight, int dim, RngStream init) {
        this.b = b;
        this.dim = dim;
        Shape s = weight.shape();
        int rows = s.dim(dim);
        this.u = b.allocate(Shape.of(rows));
        this.v = b.allocate(Shape.of(Math.toIntExact(weight.size() / rows)));
        this.wsn = b.allocate(s);
        this.g = b.allocate(s);
        this.work = b.allocate(Shape.of(2 + rows));
        // keyed by where the init stream stands too, so that each layer's vectors are their own draws
        RngStream own = new RngStream(init.seed() ^ KEY_SALT ^ (init.offset() * 0xBF58476D1CE4E5B9L), 0);
        b.fillNormal(u, 0f, 1f, own.seed(), own.take(u.size()));
        b.fillNormal(v, 0f, 1f, own.seed(), own.take(v.size()));
        for (int i = 0; i < INITIAL_ITERATIONS; i++) b.spectralNorm(weight, dim, u, v, true, wsn, work);
    }

    /** wsn for this forward: after one power iteration in training. */
    Tensor forward(Tensor weight, boolean training) {
        b.spectralNorm(weight, dim, u, v, training, wsn, work);
        return wsn;
    }

    /** Where the layer writes dL/dwsn before {@link #backward}. */
    Tensor weightGradient() { return g; }

    /** dWeight (= or +=) the gradient through the normalisation of the last forward. */
    void backward(Tensor dWeight, boolean accumulate) {
        b.spectralNormBackward(g, wsn, dim, u, v, work, dWeight, accumulate);
    }

    /** u and v under PyTorch's names. */
    Map<String, Tensor> buffers() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("weight_u", u);
        m.put("weight_v", v);
        return m;
    }
}
