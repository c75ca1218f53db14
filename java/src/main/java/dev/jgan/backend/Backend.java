package dev.jgan.backend;

import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.tensor.TensorOwner;

import java.util.List;

/**
 * The complete op set of jgan. Layers call only these methods and never know which backend runs
 * them; backends never know about layers or GANs.
 *
 * <p>Conventions every implementation honours:
 * <ul>
 *   <li>Tensors are float32, NCHW, dense, row-major, owned by this backend.</li>
 *   <li>"Channel" is dimension 1; for a rank-2 tensor (N, C) the spatial extent is 1.</li>
 *   <li>Activation outputs may alias their inputs (in-place); a backward may alias dy and dx.</li>
 *   <li>Input gradients ({@code dx}) are written (=). Parameter gradients ({@code dW, dBias,
 *       dGamma, dBeta}) are written when {@code accumulate} is false and added (+=) when true, so
 *       that one optimizer step can sum gradients over several batches.</li>
 *   <li>BatchNorm momentum is PyTorch's: {@code running = (1 - m) * running + m * batch}; the
 *       running variance takes the unbiased batch variance, normalisation the biased one.</li>
 *   <li>Random fills use Philox 4x32-10 ({@link Philox}) keyed by {@code seed}; element {@code i}
 *       of a fill draws from counter block {@code offset + i / 4}, so every backend draws the
 *       same numbers for the same seed and offset. A fill of n elements consumes
 *       {@code ceil(n / 4)} blocks ({@link Philox#blocks}).</li>
 *   <li>Ops are asynchronous where the device is: only {@link #toHost} and {@link #synchronize}
 *       wait for completed work.</li>
 * </ul>
 */
public interface Backend extends TensorOwner, AutoCloseable {

    /** "cpu" or "cuda". */
    @Override String name();

    /** One line for `gan info` and run reports: library versions, threads, device. */
    String describe();

    // ---- memory -------------------------------------------------------------------------

    /** A new zero-filled tensor. */
    Tensor allocate(Shape shape);

    /** Copies {@code src} (at least {@code dst.size()} floats) into {@code dst}. */
    void copyFromHost(float[] src, Tensor dst);

    /** Copies {@code src} into {@code dst} (at least {@code src.size()} floats), waiting for pending work. */
    @Override void toHost(Tensor src, float[] dst);

    /** dst = src, element for element (sizes must match). */
    void copy(Tensor src, Tensor dst);

    /** t[i] = value. */
    void fill(Tensor t, float value);

    /** Waits until all queued work is done. */
    void synchronize();

    /**
     * A timer of the work this backend runs between {@link Timer#start} and {@link Timer#stopMillis}:
     * CUDA events on a GPU; by default the wall clock, with {@link #synchronize} at both ends.
     */
    default Timer timer() {
        return new Timer() {
            private long start;

            @Override public void start() {
                synchronize();
                start = System.nanoTime();
            }

            @Override public double stopMillis() {
                synchronize();
                return (System.nanoTime() - start) / 1e6;
            }
        };
    }

    /**
     * The algorithms this backend chose at run time for problems met so far (and those handed to
     * {@link #useAlgorithmChoices} not yet met), in a stable order. Empty for a backend that makes
     * no such choice (the CPU backend's results do not depend on one).
     */
    default List<AlgorithmChoice> algorithmChoices() { return List.of(); }

    /**
     * Makes the backend use {@code choices} (a previous run's {@link #algorithmChoices}) for their
     * problems instead of choosing again; call before the first op. A choice that cannot be used
     * here fails when its problem is met, naming it. A backend without choices ignores them.
     */
    default void useAlgorithmChoices(List<AlgorithmChoice> choices) {}

    /** Times queued work (see {@link Backend#timer}), as often as wanted; {@link #close} releases it (CUDA events). */
    interface Timer extends AutoCloseable {
        /** Marks the start, after the work queued so far. */
        void start();

        /** Marks the end, waits for the work queued before it, and returns the milliseconds since {@link #start}. */
        double stopMillis();

        /** Releases what the timer holds (a GPU's events); it is unusable afterwards. */
        @Override default void close() {}
    }

    default Tensor fromHost(float[] data, Shape shape) {
        Tensor t = allocate(shape);
        copyFromHost(data, t);
        return t;
    }

    // ---- GEMM and bias ------------------------------------------------------------------

    /**
     * Row-major {@code C = alpha * op(A) * op(B) + beta * C}, with op(A) (m, k), op(B) (k, n) and
     * C (m, n); A is stored (m, k) or, transposed, (k, m); likewise B. All three are dense.
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k,
              float alpha, Tensor a, Tensor b, float beta, Tensor c);

    /** y[n, c, s] += bias[c] for y (N, C, S...) and bias (C). */
    void addBias(Tensor y, Tensor bias);

    /** dBias[c] (=|+=) sum over n, s of dy[n, c, s]. */
    void biasGrad(Tensor dy, Tensor dBias, boolean accumulate);

    // ---- elementwise product (a: (N, F...), b: a's size or (N)) -----------------------------

    /**
     * Elementwise product y = a * b, with b either of a's size (y[i] = a[i] * b[i]) or one value a
     * row (b of N = a.shape().dim(0) elements: y[n, f] = a[n, f] * b[n] for a viewed as (N, F)).
     * One float rounding per element, no fused multiply-add, so every backend gives the same bits.
     * y has a's size and may alias a (not b unless b has a's size).
     */
    void multiply(Tensor a, Tensor b, Tensor y);

    // ---- convolution (cuDNN's semantics: cross-correlation, NCHW, dilation 1) -----------------
    //
    // x: (N, C, H, W), w: (K, C, R, S), y: (N, K, P, Q) with P = (H + 2 padH - R) / strideH + 1 and
    // Q likewise (floor division). Sizes come from the tensors' shapes; each call checks that they
    // agree with the geometry. A transposed convolution is the same three calls swapped: its
    // forward is conv2dBackwardData (x as dy, its weight (Cin, Cout, R, S) as w), its input
    // gradient is conv2dForward, its weight gradient conv2dBackwardFilter with x and dy swapped;
    // output padding is simply the larger dx/x the caller allocates (H = (P - 1) stride - 2 pad + R + op),
    // at most stride - 1 rows/columns beyond the minimum (so that outH(H, R) == P still holds).
    // Outputs (y, dx, dw) must not share memory with the inputs.

    /** y = x (*) w: y[n,k,p,q] = sum_{c,r,s} x[n, c, p*sh - ph + r, q*sw - pw + s] * w[k,c,r,s] (zero outside x). */
    void conv2dForward(Tensor x, Tensor w, Tensor y, ConvGeometry g);

    /** dx = dL/dx of {@link #conv2dForward} given dy (written, =); H and W of dx may exceed the minimum (output padding). */
    void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, ConvGeometry g);

    /** dw (=|+=) dL/dw of {@link #conv2dForward} given its input x and dy. */
    void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, ConvGeometry g, boolean accumulate);

    // ---- dropout ------------------------------------------------------------------------------

    /**
     * Inverted dropout: mask_i = u_i <= p ? 0 : 1 / (1 - p) with u_i the Philox uniform of element
     * i ({@link #fillUniform}), y = x * mask; the mask is kept for the backward. 0 <= p < 1. The
     * scale is {@code 1f / (1f - p)} computed in float, so every backend draws the same mask bits;
     * the mask must not share memory with x or y.
     */
    void dropoutForward(Tensor x, Tensor mask, Tensor y, float p, long seed, long offset);

    /** dx = dy * mask. */
    void dropoutBackward(Tensor dy, Tensor mask, Tensor dx);

    // ---- activations: forward y = f(x); backward from the saved output y ------------------

    /** y = x > 0 ? x : slope * x. */
    void leakyRelu(Tensor x, Tensor y, float slope);

    /** dx = dy * (y > 0 ? 1 : slope); valid for slope >= 0, since then sign(y) = sign(x). */
    void leakyReluBackward(Tensor y, Tensor dy, Tensor dx, float slope);

    /** y = max(x, 0). */
    void relu(Tensor x, Tensor y);

    /** dx = y > 0 ? dy : 0. */
    void reluBackward(Tensor y, Tensor dy, Tensor dx);

    /** y = tanh(x). */
    void tanh(Tensor x, Tensor y);

    /** dx = dy * (1 - y^2). */
    void tanhBackward(Tensor y, Tensor dy, Tensor dx);

    /** y = 1 / (1 + exp(-x)). */
    void sigmoid(Tensor x, Tensor y);

    /** dx = dy * y * (1 - y). */
    void sigmoidBackward(Tensor y, Tensor dy, Tensor dx);

    // ---- batch norm over (N, S) per channel, x: (N, C) or (N, C, H, W) ---------------------

    /**
     * Training forward with batch statistics: mean_c and biased var_c over n and s;
     * y = gamma_c * (x - mean_c) * invStd_c + beta_c with invStd_c = 1 / sqrt(var_c + eps);
     * runningMean = (1 - momentum) * runningMean + momentum * mean_c, runningVar likewise with
     * the unbiased variance var_c * M / (M - 1), M = N * S (no update of the variance if M == 1).
     * Saves mean_c and invStd_c for the backward.
     */
    void batchNormTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                        float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd);

    /** Inference forward: y = gamma_c * (x - runningMean_c) / sqrt(runningVar_c + eps) + beta_c. */
    void batchNormInfer(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                        float eps, Tensor y);

    /**
     * Backward of {@link #batchNormTrain}: with xhat = (x - mean) * invStd,
     * dBeta_c (=|+=) sum dy, dGamma_c (=|+=) sum dy * xhat,
     * dx = gamma_c * invStd_c / M * (M * dy - sum dy - xhat * sum(dy * xhat)).
     */
    void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                           Tensor dx, Tensor dGamma, Tensor dBeta, boolean accumulate);

    /**
     * {@link #batchNormTrain} fused with a LeakyReLU of {@code slope} >= 0 (ReLU is slope 0):
     * z = gamma_c * (x - mean_c) * invStd_c + beta_c, y = z > 0 ? z : slope * z. Statistics,
     * running-stat momentum and saved mean_c and invStd_c are exactly {@link #batchNormTrain}'s.
     * y may alias x.
     */
    void batchNormLeakyReluTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                 float momentum, float eps, float slope, Tensor y, Tensor saveMean, Tensor saveInvStd);

    /**
     * Backward of {@link #batchNormLeakyReluTrain} given dy of its output y:
     * dz = z > 0 ? dy : slope * dy, then {@link #batchNormBackward} of dz (dBeta, dGamma (=|+=),
     * dx (=)). {@code y} is that forward's output: z > 0 exactly where y > 0, so a backend may
     * read the mask from y or recompute z from x, beta and the saved statistics (CUDA does, with the
     * forward's float operations). dx may alias dy.
     */
    void batchNormLeakyReluBackward(Tensor x, Tensor y, Tensor dy, Tensor gamma, Tensor beta, float slope,
                                    Tensor saveMean, Tensor saveInvStd, Tensor dx, Tensor dGamma, Tensor dBeta,
                                    boolean accumulate);

    // ---- loss -----------------------------------------------------------------------------

    /**
     * Binary cross-entropy on logits, mean over the N elements of {@code logits}, in one pass:
     * loss_i = max(l, 0) - l * t_i + log(1 + exp(-|l|)) (stable for any finite logit), and
     * dLogits_i = gradScale * (sigmoid(l_i) - t_i) / N. The target t_i is {@code targets[i]}, or
     * {@code target} for every element when {@code targets} is null (label smoothing is a target
     * of 0.9). Writes to {@code stats[slot]} the mean loss, to {@code stats[slot + 1]} the mean of
     * sigmoid(l) (the mean D output), to {@code stats[slot + 2]} the fraction of l > 0.
     */
    void bceWithLogits(Tensor logits, Tensor targets, float target, float gradScale,
                       Tensor dLogits, Tensor stats, int slot);

    /**
     * A GAN loss on D's raw outputs (no sigmoid), mean over the N elements of {@code logits}, in one
     * pass, with target {@code a} ({@link CriticLoss}): LINEAR loss_i = a l_i; HINGE
     * loss_i = max(0, 1 - a l_i) (gradient 0 at the kink); SQUARED loss_i = (l_i - a)^2 / 2;
     * dLogits_i = gradScale * dloss_i/dl_i / N. Each float product and sum is rounded on its own.
     * Writes to {@code stats[slot]} the mean loss, to {@code stats[slot + 1]} the mean l (the
     * critic's score), to {@code stats[slot + 2]} the fraction of l above {@link CriticLoss#boundary}.
     * dLogits may alias logits.
     */
    void criticLoss(CriticLoss kind, Tensor logits, float a, float gradScale, Tensor dLogits, Tensor stats, int slot);

    /**
     * Softmax over the last dimension of (N, K) rows: y[n, k] = exp(x[n, k] - m_n) / sum_j exp(x[n, j] - m_n)
     * with m_n = max_j x[n, j] (no overflow for any finite x). y may alias x.
     */
    void softmax(Tensor x, Tensor y);

    /**
     * Softmax cross-entropy of logits (N, K) against class labels (N) stored as floats 0 .. K-1,
     * mean over the N rows, loss and gradient in one call: with m_n = max_j l[n, j] and
     * lse_n = m_n + log sum_j exp(l[n, j] - m_n), loss_n = lse_n - l[n, label_n] and
     * dLogits[n, k] = gradScale * (softmax(l)[n, k] - (k == label_n ? 1 : 0)) / N.
     * Writes to {@code stats[slot]} the mean loss and to {@code stats[slot + 1]} the fraction of
     * rows whose first maximal logit is the label (the accuracy). dLogits may alias logits.
     */
    void softmaxCrossEntropy(Tensor logits, Tensor labels, float gradScale, Tensor dLogits, Tensor stats, int slot);

    // ---- pooling (x: (N, C, H, W)) -------------------------------------------------------------

    /**
     * 2x2 max pooling with stride 2: y[n, c, p, q] = max over r, s in {0, 1} of x[n, c, 2p + r, 2q + s],
     * y (N, C, H / 2, W / 2) (floor division: an odd last row or column is not read).
     */
    void maxPool2x2Forward(Tensor x, Tensor y);

    /**
     * Backward of {@link #maxPool2x2Forward} given its x and y (cuDNN's semantics): dx (written, =)
     * is dy[n, c, p, q] at the first position of each window, in row-major order, where x equals
     * y[n, c, p, q], and 0 everywhere else (including an odd last row or column).
     */
    void maxPool2x2Backward(Tensor x, Tensor y, Tensor dy, Tensor dx);

    // ---- averaging ----------------------------------------------------------------------------

    /**
     * Exponential moving average, in place: avg = decay * avg + (1 - decay) * x, elementwise, in
     * float with two roundings and no fused multiply-add ({@code (1 - decay)} rounded to float
     * first), so every backend gives the same bits. 0 <= decay <= 1; avg and x the same size.
     */
    void ema(Tensor avg, Tensor x, float decay);

    // ---- optimizers (every parameter of one optimizer in one call) -------------------------

    /**
     * Adam as PyTorch computes it, for step t >= 1: g = grad + weightDecay * p;
     * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
     * p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
     */
    void adamStep(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v,
                  float lr, float beta1, float beta2, float eps, float weightDecay, int t);

    /** SGD with momentum as PyTorch: buf = momentum * buf + g (buf = g at the first step); p -= lr * buf. */
    void sgdStep(List<Tensor> params, List<Tensor> grads, List<Tensor> velocity,
                 float lr, float momentum, boolean firstStep);

    /**
     * RMSprop as PyTorch (no momentum, not centred): v = alpha v + (1 - alpha) g^2;
     * p -= lr * (g / (sqrt(v) + eps)), {@code (1 - alpha)} rounded to float first and each float
     * operation rounded on its own, so every backend gives the same bits.
     */
    void rmspropStep(List<Tensor> params, List<Tensor> grads, List<Tensor> squareAvg, float lr, float alpha, float eps);

    /**
     * Clamps in place: t[i] = t[i] < lo ? lo : (t[i] > hi ? hi : t[i]), so a NaN stays NaN
     * (WGAN's weight clipping). lo <= hi.
     */
    void clamp(Tensor t, float lo, float hi);

    // ---- spectral normalisation (Miyato et al. 2018, as torch.nn.utils.spectral_norm) ---------

    /**
     * wsn = w / sigma(w), sigma estimated by power iteration. w is read as the matrix M whose rows
     * are its dimension {@code dim} (PyTorch's {@code dim}: 0 for dense and convolution weights
     * (out, in, ...), 1 for a transposed convolution's (in, out, k, k)) and whose columns are the
     * other dimensions in order: rows = w.dim(dim), cols = w.size() / rows. With {@code update},
     * one power iteration first: v = normalize(M^T u), u = normalize(M v), normalize(x) =
     * x / max(|x|, 1e-12). Then sigma = u . (M v). u: rows floats, v: cols floats (both read,
     * and written with update), wsn: w's shape, work: 2 + rows floats, sigma at work[0] (the
     * rest scratch, and what {@link #spectralNormBackward} reads).
     */
    void spectralNorm(Tensor w, int dim, Tensor u, Tensor v, boolean update, Tensor wsn, Tensor work);

    /**
     * The gradient through wsn = w / sigma with u and v held constant (they come from the power
     * iteration, which PyTorch runs without gradients): given g = dL/dwsn,
     * dw (= or +=) (g - (g . wsn) u v^T) / sigma, with sigma, u, v, wsn and work those of the last
     * {@link #spectralNorm} on w. Writes g . wsn to work[1].
     */
    void spectralNormBackward(Tensor g, Tensor wsn, int dim, Tensor u, Tensor v, Tensor work, Tensor dw, boolean accumulate);

    // ---- DiffAugment (x, y: (N, C, H, W); params: (N, kind.params()), r in [0, 1)) ------------

    /**
     * One DiffAugment transform ({@link DiffAugment}; Zhao et al. 2020) of each image n with its
     * row of params:
     * <ul>
     *   <li>COLOR (r_b, r_s, r_c): x1 = x + (r_b - 0.5); m_p = sum_c x1[c, p] / C (float, channel
     *       order); x2 = (x1 - m_p) * (2 r_s) + m_p; M = mean over c, p of x2 (in double);
     *       y = (x2 - M) * (r_c + 0.5) + M. Float products and sums rounded one by one.</li>
     *   <li>TRANSLATION (r_h, r_w): y[c, i, j] = x[c, i + t_h, j + t_w], 0 outside, with
     *       t = {@link DiffAugment#shift} (uniform in [-s, s], s = int(H / 8 + 0.5)).</li>
     *   <li>CUTOUT (r_h, r_w): y = 0 inside rows [a, a + int(H / 2 + 0.5)) x columns [b, ...)
     *       ({@link DiffAugment#cutStart}, clipped to the image), y = x elsewhere.</li>
     * </ul>
     * y may alias x for COLOR and CUTOUT, not for TRANSLATION.
     */
    void diffAugment(DiffAugment kind, Tensor x, Tensor params, Tensor y);

    /**
     * dx (=) of {@link #diffAugment} given dy; every transform is affine in x, so x is not needed.
     * COLOR: D = mean over c, p of dy (double), g = (r_c + 0.5) dy + (1 - (r_c + 0.5)) D,
     * G_p = sum_c g[c, p] / C, dx = 2 r_s g + (1 - 2 r_s) G_p (brightness passes g through).
     * TRANSLATION: dx[c, i, j] = dy[c, i - t_h, j - t_w], 0 outside. CUTOUT: dx = dy with the
     * forward's square set to 0. dx may alias dy for COLOR and CUTOUT, not for TRANSLATION.
     */
    void diffAugmentBackward(DiffAugment kind, Tensor dy, Tensor params, Tensor dx);

    // ---- random numbers (Philox 4x32-10) ----------------------------------------------------

    /** t[i] = lo + (hi - lo) * u_i with u_i = {@link Philox#uniform} of element i, in (0, 1]. */
    void fillUniform(Tensor t, float lo, float hi, long seed, long offset);

    /** t[i] = mean + std * z_i with z_i the Box-Muller normal of element i ({@link Philox#normal}). */
    void fillNormal(Tensor t, float mean, float std, long seed, long offset);

    /** t[i] = u_i <= p ? ifTrue : ifFalse, with u_i as in {@link #fillUniform}. */
    void fillBernoulli(Tensor t, float p, float ifTrue, float ifFalse, long seed, long offset);

    @Override
    default void close() {}
}
