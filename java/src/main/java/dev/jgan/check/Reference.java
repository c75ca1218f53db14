package dev.jgan.check;

import dev.jgan.backend.ConvGeometry;
import dev.jgan.backend.CriticLoss;
import dev.jgan.backend.DiffAugment;
import dev.jgan.random.Philox;
import dev.jgan.tensor.Shape;

import java.util.List;

/**
 * THE REFERENCE: the plain-Java definition of every {@link dev.jgan.backend.Backend} op, on host
 * arrays. Backends are tested against this file; nobody optimises it. It lives in main code so
 * that {@code gan check} ({@link OpSuite}) ships it in the jar and checks a GPU against it.
 *
 * <p>Rules: simple loops in the Backend's argument order (a {@link Shape} follows the array it
 * describes where the op needs one); sums and transcendental functions in double, rounded to
 * float once at the end; where an op is one or two float operations (ReLU, the fills' mapping)
 * it is computed in float exactly as the Backend Javadoc writes it, so backends can match it bit
 * for bit. Layout (N, C, S) with S the spatial extent: channel c of item n is
 * x[(n * C + c) * S + s]. Outputs are written into the given arrays.
 */
public final class Reference {
    private Reference() {}

    // ---- memory -------------------------------------------------------------------------

    public static void copy(float[] src, float[] dst) {
        for (int i = 0; i < src.length; i++) dst[i] = src[i];
    }

    public static void fill(float[] t, float value) {
        for (int i = 0; i < t.length; i++) t[i] = value;
    }

    // ---- GEMM and bias ------------------------------------------------------------------

    /** Row-major C = alpha op(A) op(B) + beta C; A is (m, k) or, transposed, (k, m); beta == 0 does not read C (BLAS). */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k,
                            float alpha, float[] a, float[] b, float beta, float[] c) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    double aip = transA ? a[p * m + i] : a[i * k + p];
                    double bpj = transB ? b[j * k + p] : b[p * n + j];
                    sum += aip * bpj;
                }
                double old = beta == 0 ? 0 : (double) beta * c[i * n + j];
                c[i * n + j] = (float) (alpha * sum + old);
            }
        }
    }

    /**
     * cuBLAS's sgemm, the contract of the CUDA backend's BLAS port (not a Backend op): column-major,
     * element (i, j) of a matrix with leading dimension ld at i + j * ld;
     * C = alpha op(A) op(B) + beta C over the m x n block of C, op(A) m x k, op(B) k x n; A stored
     * m x k (lda) or, transposed, k x m; B stored k x n (ldb) or n x k. Elements of C outside the
     * block (rows m to ldc - 1) are not touched; beta == 0 does not read C.
     */
    public static void sgemmColumnMajor(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int lda,
                                        float[] b, int ldb, float beta, float[] c, int ldc) {
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    double aip = transA ? a[p + i * lda] : a[i + p * lda];
                    double bpj = transB ? b[j + p * ldb] : b[p + j * ldb];
                    sum += aip * bpj;
                }
                double old = beta == 0 ? 0 : (double) beta * c[i + j * ldc];
                c[i + j * ldc] = (float) (alpha * sum + old);
            }
        }
    }

    /** y[n, c, s] += bias[c]. */
    public static void addBias(float[] y, Shape yShape, float[] bias) {
        int n = yShape.dim(0), ch = yShape.dim(1), s = yShape.spatial();
        for (int i = 0; i < n; i++)
            for (int c = 0; c < ch; c++)
                for (int j = 0; j < s; j++) y[(i * ch + c) * s + j] += bias[c];
    }

    /** dBias[c] (=|+=) sum over n, s of dy[n, c, s]. */
    public static void biasGrad(float[] dy, Shape dyShape, float[] dBias, boolean accumulate) {
        int n = dyShape.dim(0), ch = dyShape.dim(1), s = dyShape.spatial();
        for (int c = 0; c < ch; c++) {
            double sum = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < s; j++) sum += dy[(i * ch + c) * s + j];
            dBias[c] = (float) (accumulate ? dBias[c] + sum : sum);
        }
    }

    // ---- elementwise product ------------------------------------------------------------

    /**
     * y = a * b in float, b of a's size or one value per row of a viewed as (b.length, F): element
     * i takes b[i / F] with F = a.length / b.length (1 for b of a's size). y may be a.
     */
    public static void multiply(float[] a, float[] b, float[] y) {
        int f = a.length / b.length;
        for (int i = 0; i < a.length; i++) y[i] = a[i] * b[i / f];
    }

    // ---- convolution: cross-correlation, x (N, C, H, W), w (K, C, R, S), y (N, K, P, Q) -----
    //
    // One relation: input row h meets output row p through kernel row r when
    // h = p * strideH - padH + r (columns likewise); rows outside x are zeros. All three ops run
    // the same loop nest over (n, k, c, r, s, p, q) and add one product into a double accumulator
    // of their output, rounded to float once at the end.

    /** y[n,k,p,q] = sum_{c,r,s} x[n, c, p*sh - ph + r, q*sw - pw + s] * w[k,c,r,s]. */
    public static void conv2dForward(float[] x, Shape xShape, float[] w, Shape wShape, float[] y, Shape yShape, ConvGeometry g) {
        int n = xShape.dim(0), ch = xShape.dim(1), h = xShape.dim(2), wd = xShape.dim(3);
        int k = wShape.dim(0), r = wShape.dim(2), s = wShape.dim(3), p = yShape.dim(2), q = yShape.dim(3);
        double[] acc = new double[y.length];
        for (int i = 0; i < n; i++)
            for (int o = 0; o < k; o++)
                for (int c = 0; c < ch; c++)
                    for (int rr = 0; rr < r; rr++)
                        for (int ss = 0; ss < s; ss++) {
                            double weight = w[((o * ch + c) * r + rr) * s + ss];
                            for (int pp = 0; pp < p; pp++) {
                                int hh = pp * g.strideH() - g.padH() + rr;
                                if (hh < 0 || hh >= h) continue;
                                int xRow = ((i * ch + c) * h + hh) * wd, yRow = ((i * k + o) * p + pp) * q;
                                for (int qq = 0; qq < q; qq++) {
                                    int ww = qq * g.strideW() - g.padW() + ss;
                                    if (ww >= 0 && ww < wd) acc[yRow + qq] += x[xRow + ww] * weight;
                                }
                            }
                        }
        for (int j = 0; j < y.length; j++) y[j] = (float) acc[j];
    }

    /**
     * dx[n,c,h,w] = sum of dy[n,k,p,q] * w[k,c,r,s] over all k, r, s, p, q with
     * h = p*sh - ph + r and w = q*sw - pw + s (written). This is also the transposed convolution;
     * dx may be larger than the minimum (output padding), and rows no window reaches get 0.
     */
    public static void conv2dBackwardData(float[] dy, Shape dyShape, float[] w, Shape wShape, float[] dx, Shape dxShape, ConvGeometry g) {
        int n = dxShape.dim(0), ch = dxShape.dim(1), h = dxShape.dim(2), wd = dxShape.dim(3);
        int k = wShape.dim(0), r = wShape.dim(2), s = wShape.dim(3), p = dyShape.dim(2), q = dyShape.dim(3);
        double[] acc = new double[dx.length];
        for (int i = 0; i < n; i++)
            for (int o = 0; o < k; o++)
                for (int c = 0; c < ch; c++)
                    for (int rr = 0; rr < r; rr++)
                        for (int ss = 0; ss < s; ss++) {
                            double weight = w[((o * ch + c) * r + rr) * s + ss];
                            for (int pp = 0; pp < p; pp++) {
                                int hh = pp * g.strideH() - g.padH() + rr;
                                if (hh < 0 || hh >= h) continue;
                                int dxRow = ((i * ch + c) * h + hh) * wd, dyRow = ((i * k + o) * p + pp) * q;
                                for (int qq = 0; qq < q; qq++) {
                                    int ww = qq * g.strideW() - g.padW() + ss;
                                    if (ww >= 0 && ww < wd) acc[dxRow + ww] += dy[dyRow + qq] * weight;
                                }
                            }
                        }
        for (int j = 0; j < dx.length; j++) dx[j] = (float) acc[j];
    }

    /** dw[k,c,r,s] (=|+=) sum_{n,p,q} dy[n,k,p,q] * x[n, c, p*sh - ph + r, q*sw - pw + s]. */
    public static void conv2dBackwardFilter(float[] x, Shape xShape, float[] dy, Shape dyShape, float[] dw, Shape dwShape,
                                            ConvGeometry g, boolean accumulate) {
        int n = xShape.dim(0), ch = xShape.dim(1), h = xShape.dim(2), wd = xShape.dim(3);
        int k = dwShape.dim(0), r = dwShape.dim(2), s = dwShape.dim(3), p = dyShape.dim(2), q = dyShape.dim(3);
        double[] acc = new double[dw.length];
        for (int i = 0; i < n; i++)
            for (int o = 0; o < k; o++)
                for (int c = 0; c < ch; c++)
                    for (int rr = 0; rr < r; rr++)
                        for (int ss = 0; ss < s; ss++) {
                            double sum = 0;
                            for (int pp = 0; pp < p; pp++) {
                                int hh = pp * g.strideH() - g.padH() + rr;
                                if (hh < 0 || hh >= h) continue;
                                int xRow = ((i * ch + c) * h + hh) * wd, dyRow = ((i * k + o) * p + pp) * q;
                                for (int qq = 0; qq < q; qq++) {
                                    int ww = qq * g.strideW() - g.padW() + ss;
                                    if (ww >= 0 && ww < wd) sum += (double) dy[dyRow + qq] * x[xRow + ww];
                                }
                            }
                            acc[((o * ch + c) * r + rr) * s + ss] += sum;
                        }
        for (int j = 0; j < dw.length; j++) dw[j] = (float) (accumulate ? dw[j] + acc[j] : acc[j]);
    }

    // ---- dropout: inverted, mask from the Philox uniforms, in float as the Javadoc writes it ----

    /** mask_i = u_i <= p ? 0 : 1 / (1 - p) (float), y_i = x_i * mask_i. */
    public static void dropoutForward(float[] x, float[] mask, float[] y, float p, long seed, long offset) {
        float scale = 1f / (1f - p);
        for (int i = 0; i < x.length; i++) {
            mask[i] = Philox.uniformAt(seed, offset, i) <= p ? 0f : scale;
            y[i] = x[i] * mask[i];
        }
    }

    public static void dropoutBackward(float[] dy, float[] mask, float[] dx) {
        for (int i = 0; i < dy.length; i++) dx[i] = dy[i] * mask[i];
    }

    // ---- activations ----------------------------------------------------------------------

    public static void leakyRelu(float[] x, float[] y, float slope) {
        for (int i = 0; i < x.length; i++) y[i] = x[i] > 0 ? x[i] : slope * x[i];
    }

    public static void leakyReluBackward(float[] y, float[] dy, float[] dx, float slope) {
        for (int i = 0; i < y.length; i++) dx[i] = y[i] > 0 ? dy[i] : slope * dy[i];
    }

    public static void relu(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) y[i] = Math.max(x[i], 0f);
    }

    public static void reluBackward(float[] y, float[] dy, float[] dx) {
        for (int i = 0; i < y.length; i++) dx[i] = y[i] > 0 ? dy[i] : 0f;
    }

    public static void tanh(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) y[i] = (float) Math.tanh(x[i]);
    }

    public static void tanhBackward(float[] y, float[] dy, float[] dx) {
        for (int i = 0; i < y.length; i++) dx[i] = (float) (dy[i] * (1.0 - (double) y[i] * y[i]));
    }

    public static void sigmoid(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) y[i] = (float) (1.0 / (1.0 + Math.exp(-x[i])));
    }

    public static void sigmoidBackward(float[] y, float[] dy, float[] dx) {
        for (int i = 0; i < y.length; i++) dx[i] = (float) ((double) dy[i] * y[i] * (1.0 - y[i]));
    }

    // ---- batch norm -----------------------------------------------------------------------

    public static void batchNormTrain(float[] x, Shape xShape, float[] gamma, float[] beta,
                                      float[] runningMean, float[] runningVar, float momentum, float eps,
                                      float[] y, float[] saveMean, float[] saveInvStd) {
        int n = xShape.dim(0), ch = xShape.dim(1), s = xShape.spatial();
        long m = (long) n * s;
        for (int c = 0; c < ch; c++) {
            double sum = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < s; j++) sum += x[(i * ch + c) * s + j];
            double mean = sum / m;
            double squares = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < s; j++) {
                    double d = x[(i * ch + c) * s + j] - mean;
                    squares += d * d;
                }
            double var = squares / m;
            double invStd = 1.0 / Math.sqrt(var + eps);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < s; j++) {
                    int at = (i * ch + c) * s + j;
                    y[at] = (float) (gamma[c] * (x[at] - mean) * invStd + beta[c]);
                }
            saveMean[c] = (float) mean;
            saveInvStd[c] = (float) invStd;
            runningMean[c] = (float) ((1.0 - momentum) * runningMean[c] + momentum * mean);
            if (m > 1) runningVar[c] = (float) ((1.0 - momentum) * runningVar[c] + momentum * var * m / (m - 1));
        }
    }

    public static void batchNormInfer(float[] x, Shape xShape, float[] gamma, float[] beta,
                                      float[] runningMean, float[] runningVar, float eps, float[] y) {
        int n = xShape.dim(0), ch = xShape.dim(1), s = xShape.spatial();
        for (int i = 0; i < n; i++)
            for (int c = 0; c < ch; c++)
                for (int j = 0; j < s; j++) {
                    int at = (i * ch + c) * s + j;
                    y[at] = (float) (gamma[c] * (x[at] - (double) runningMean[c]) / Math.sqrt((double) runningVar[c] + eps) + beta[c]);
                }
    }

    /** dx = gamma invStd / M (M dy - sum dy - xhat sum(dy xhat)); dGamma (=|+=) sum dy xhat; dBeta (=|+=) sum dy. */
    public static void batchNormBackward(float[] x, Shape xShape, float[] dy, float[] gamma,
                                         float[] saveMean, float[] saveInvStd,
                                         float[] dx, float[] dGamma, float[] dBeta, boolean accumulate) {
        int n = xShape.dim(0), ch = xShape.dim(1), s = xShape.spatial();
        long m = (long) n * s;
        for (int c = 0; c < ch; c++) {
            double sumDy = 0, sumDyXhat = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < s; j++) {
                    int at = (i * ch + c) * s + j;
                    double xhat = (x[at] - (double) saveMean[c]) * saveInvStd[c];
                    sumDy += dy[at];
                    sumDyXhat += dy[at] * xhat;
                }
            for (int i = 0; i < n; i++)
                for (int j = 0; j < s; j++) {
                    int at = (i * ch + c) * s + j;
                    double xhat = (x[at] - (double) saveMean[c]) * saveInvStd[c];
                    dx[at] = (float) ((double) gamma[c] * saveInvStd[c] / m * (m * (double) dy[at] - sumDy - xhat * sumDyXhat));
                }
            dGamma[c] = (float) (accumulate ? dGamma[c] + sumDyXhat : sumDyXhat);
            dBeta[c] = (float) (accumulate ? dBeta[c] + sumDy : sumDy);
        }
    }

    /** {@link #batchNormTrain}, then y = y > 0 ? y : slope * y (ReLU, max(y, 0), when slope is 0). */
    public static void batchNormLeakyReluTrain(float[] x, Shape xShape, float[] gamma, float[] beta,
                                               float[] runningMean, float[] runningVar, float momentum, float eps,
                                               float slope, float[] y, float[] saveMean, float[] saveInvStd) {
        batchNormTrain(x, xShape, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd);
        if (slope == 0f) relu(y, y);
        else leakyRelu(y, y, slope);
    }

    /** dz = y > 0 ? dy : slope * dy from the forward's output y, then {@link #batchNormBackward} of dz. */
    public static void batchNormLeakyReluBackward(float[] x, Shape xShape, float[] y, float[] dy, float[] gamma,
                                                  float[] beta, float slope, float[] saveMean, float[] saveInvStd,
                                                  float[] dx, float[] dGamma, float[] dBeta, boolean accumulate) {
        float[] dz = new float[dy.length];
        if (slope == 0f) reluBackward(y, dy, dz);
        else leakyReluBackward(y, dy, dz, slope);
        batchNormBackward(x, xShape, dz, gamma, saveMean, saveInvStd, dx, dGamma, dBeta, accumulate);
    }

    // ---- loss -----------------------------------------------------------------------------

    /** Mean BCE over the logits; targets may be null (then every target is {@code target}). */
    public static void bceWithLogits(float[] logits, float[] targets, float target, float gradScale,
                                     float[] dLogits, float[] stats, int slot) {
        int n = logits.length;
        double loss = 0, sigmoidSum = 0, positives = 0;
        for (int i = 0; i < n; i++) {
            double l = logits[i], t = targets != null ? targets[i] : target;
            double sigmoid = 1.0 / (1.0 + Math.exp(-l));
            loss += Math.max(l, 0) - l * t + Math.log1p(Math.exp(-Math.abs(l)));
            sigmoidSum += sigmoid;
            if (l > 0) positives++;
            dLogits[i] = (float) (gradScale * (sigmoid - t) / n);
        }
        stats[slot] = (float) (loss / n);
        stats[slot + 1] = (float) (sigmoidSum / n);
        stats[slot + 2] = (float) (positives / n);
    }

    /** A critic loss (see Backend.criticLoss), in double. */
    public static void criticLoss(CriticLoss kind, float[] logits, float a, float gradScale, float[] dLogits, float[] stats, int slot) {
        int n = logits.length;
        double loss = 0, score = 0, above = 0;
        for (int i = 0; i < n; i++) {
            double l = logits[i], li, di;
            switch (kind) {
                case LINEAR -> { li = a * l; di = a; }
                case HINGE -> { li = Math.max(0, 1 - a * l); di = 1 - a * l > 0 ? -a : 0; }
                case SQUARED -> { li = (l - a) * (l - a) / 2; di = l - a; }
                default -> throw new AssertionError(kind);
            }
            loss += li;
            score += l;
            if (l > kind.boundary()) above++;
            dLogits[i] = (float) (gradScale * di / n);
        }
        stats[slot] = (float) (loss / n);
        stats[slot + 1] = (float) (score / n);
        stats[slot + 2] = (float) (above / n);
    }

    /** t = t < lo ? lo : (t > hi ? hi : t); a NaN stays NaN. */
    public static void clamp(float[] t, float lo, float hi) {
        for (int i = 0; i < t.length; i++) t[i] = t[i] < lo ? lo : (t[i] > hi ? hi : t[i]);
    }

    // ---- DiffAugment (x: (N, C, H, W), params: (N, kind.params())) -----------------------------

    /** DiffAugment's transform {@code kind} of x (see Backend.diffAugment), colour in double. */
    public static void diffAugment(DiffAugment kind, float[] x, Shape shape, float[] params, float[] y) {
        int n = shape.dim(0), c = shape.dim(1), h = shape.dim(2), w = shape.dim(3), s = h * w;
        for (int img = 0; img < n; img++) {
            int base = img * c * s;
            switch (kind) {
                case COLOR -> {
                    double b = params[3 * img] - 0.5, sat = 2.0 * params[3 * img + 1], k = params[3 * img + 2] + 0.5;
                    double[] x2 = new double[c * s];
                    double total = 0;
                    for (int p = 0; p < s; p++) {
                        double m = 0;
                        for (int ch = 0; ch < c; ch++) m += x[base + ch * s + p] + b;
                        m /= c;
                        for (int ch = 0; ch < c; ch++) {
                            x2[ch * s + p] = (x[base + ch * s + p] + b - m) * sat + m;
                            total += x2[ch * s + p];
                        }
                    }
                    double mean = total / (c * s);
                    for (int i = 0; i < c * s; i++) y[base + i] = (float) ((x2[i] - mean) * k + mean);
                }
                case TRANSLATION -> {
                    int th = augmentShift(params[2 * img], h), tw = augmentShift(params[2 * img + 1], w);
                    for (int ch = 0; ch < c; ch++)
                        for (int i = 0; i < h; i++)
                            for (int j = 0; j < w; j++) {
                                int fi = i + th, fj = j + tw;
                                boolean inside = fi >= 0 && fi < h && fj >= 0 && fj < w;
                                y[base + (ch * h + i) * w + j] = inside ? x[base + (ch * h + fi) * w + fj] : 0f;
                            }
                }
                case CUTOUT -> {
                    int a = augmentCutStart(params[2 * img], h), b = augmentCutStart(params[2 * img + 1], w);
                    int sh = (h + 1) / 2, sw = (w + 1) / 2;
                    for (int ch = 0; ch < c; ch++)
                        for (int i = 0; i < h; i++)
                            for (int j = 0; j < w; j++) {
                                int at = base + (ch * h + i) * w + j;
                                y[at] = i >= a && i < a + sh && j >= b && j < b + sw ? 0f : x[at];
                            }
                }
            }
        }
    }

    /** The adjoint of {@link #diffAugment} applied to dy (colour in double; translation shifts back; cutout is its own). */
    public static void diffAugmentBackward(DiffAugment kind, float[] dy, Shape shape, float[] params, float[] dx) {
        int n = shape.dim(0), c = shape.dim(1), h = shape.dim(2), w = shape.dim(3), s = h * w;
        if (kind == DiffAugment.CUTOUT) {
            diffAugment(kind, dy, shape, params, dx);
            return;
        }
        for (int img = 0; img < n; img++) {
            int base = img * c * s;
            if (kind == DiffAugment.COLOR) {
                double sat = 2.0 * params[3 * img + 1], k = params[3 * img + 2] + 0.5, total = 0;
                for (int i = 0; i < c * s; i++) total += dy[base + i];
                double d = total / (c * s);
                for (int p = 0; p < s; p++) {
                    double g = 0;   // contrast's adjoint, summed over the pixel's channels
                    for (int ch = 0; ch < c; ch++) g += k * dy[base + ch * s + p] + (1 - k) * d;
                    g /= c;
                    for (int ch = 0; ch < c; ch++)
                        dx[base + ch * s + p] = (float) (sat * (k * dy[base + ch * s + p] + (1 - k) * d) + (1 - sat) * g);
                }
            } else {
                int th = augmentShift(params[2 * img], h), tw = augmentShift(params[2 * img + 1], w);
                for (int ch = 0; ch < c; ch++)
                    for (int i = 0; i < h; i++)
                        for (int j = 0; j < w; j++) {
                            int fi = i - th, fj = j - tw;
                            boolean inside = fi >= 0 && fi < h && fj >= 0 && fj < w;
                            dx[base + (ch * h + i) * w + j] = inside ? dy[base + (ch * h + fi) * w + fj] : 0f;
                        }
            }
        }
    }

    /** floor(q m / 2^24) with q = floor(r 2^24) in [0, 2^24): DiffAugment's integer in [0, m), in double (exact). */
    static int augmentDraw(float r, int m) {
        double q = Math.min(Math.max(Math.floor(r * 16777216.0), 0), 16777215);
        return (int) Math.floor(q * m / 16777216.0);
    }

    /** Translation's shift in [-s, s], s = int(e / 8 + 0.5). */
    static int augmentShift(float r, int e) {
        int s = (int) (e * 0.125 + 0.5);
        return augmentDraw(r, 2 * s + 1) - s;
    }

    /** Cutout's first row (column): a centre in [0, e + (1 - size % 2)) minus size / 2, size = int(e / 2 + 0.5). */
    static int augmentCutStart(float r, int e) {
        int size = (int) (e * 0.5 + 0.5);
        return augmentDraw(r, e + 1 - size % 2) - size / 2;
    }

    /** Softmax of each of the n rows of x (n, k), in double. */
    public static void softmax(float[] x, int n, int k, float[] y) {
        for (int r = 0; r < n; r++) {
            double m = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < k; j++) m = Math.max(m, x[r * k + j]);
            for (int j = 0; j < k; j++) sum += Math.exp(x[r * k + j] - m);
            for (int j = 0; j < k; j++) y[r * k + j] = (float) (Math.exp(x[r * k + j] - m) / sum);
        }
    }

    /** Mean softmax cross-entropy of logits (n, k) against labels (class indices as floats); stats: loss, accuracy. */
    public static void softmaxCrossEntropy(float[] logits, int n, int k, float[] labels, float gradScale,
                                           float[] dLogits, float[] stats, int slot) {
        double loss = 0, correct = 0;
        for (int r = 0; r < n; r++) {
            int label = (int) labels[r], argmax = 0;
            double m = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < k; j++) {
                m = Math.max(m, logits[r * k + j]);
                if (logits[r * k + j] > logits[r * k + argmax]) argmax = j;
            }
            for (int j = 0; j < k; j++) sum += Math.exp(logits[r * k + j] - m);
            loss += m + Math.log(sum) - logits[r * k + label];
            if (argmax == label) correct++;
            for (int j = 0; j < k; j++) {
                double p = Math.exp(logits[r * k + j] - m) / sum;
                dLogits[r * k + j] = (float) (gradScale * (p - (j == label ? 1 : 0)) / n);
            }
        }
        stats[slot] = (float) (loss / n);
        stats[slot + 1] = (float) (correct / n);
    }

    // ---- pooling ------------------------------------------------------------------------------

    /** y[n, c, p, q] = max of the 2x2 window x[n, c, 2p..2p+1, 2q..2q+1]; y (N, C, H / 2, W / 2). */
    public static void maxPool2x2Forward(float[] x, Shape xShape, float[] y) {
        int planes = xShape.dim(0) * xShape.dim(1), h = xShape.dim(2), w = xShape.dim(3), p = h / 2, q = w / 2;
        for (int pl = 0; pl < planes; pl++)
            for (int i = 0; i < p; i++)
                for (int j = 0; j < q; j++) {
                    float m = Float.NEGATIVE_INFINITY;
                    for (int r = 0; r < 2; r++)
                        for (int s = 0; s < 2; s++) m = Math.max(m, x[(pl * h + 2 * i + r) * w + 2 * j + s]);
                    y[(pl * p + i) * q + j] = m;
                }
    }

    /** dx = dy at the first (row-major) position of each window where x equals y, 0 elsewhere. */
    public static void maxPool2x2Backward(float[] x, Shape xShape, float[] y, float[] dy, float[] dx) {
        int planes = xShape.dim(0) * xShape.dim(1), h = xShape.dim(2), w = xShape.dim(3), p = h / 2, q = w / 2;
        for (int i = 0; i < dx.length; i++) dx[i] = 0f;
        for (int pl = 0; pl < planes; pl++)
            for (int i = 0; i < p; i++)
                for (int j = 0; j < q; j++) {
                    boolean done = false;
                    for (int r = 0; r < 2 && !done; r++)
                        for (int s = 0; s < 2 && !done; s++) {
                            int at = (pl * h + 2 * i + r) * w + 2 * j + s;
                            if (x[at] == y[(pl * p + i) * q + j]) {
                                dx[at] = dy[(pl * p + i) * q + j];
                                done = true;
                            }
                        }
                }
    }

    // ---- averaging ----------------------------------------------------------------------------

    /** avg = decay * avg + (1 - decay) * x in float, as the Javadoc writes it (bit-exact). */
    public static void ema(float[] avg, float[] x, float decay) {
        float rest = 1f - decay;
        for (int i = 0; i < avg.length; i++) avg[i] = decay * avg[i] + rest * x[i];
    }

    // ---- optimizers -----------------------------------------------------------------------

    /** Adam step t >= 1 exactly as the Backend Javadoc writes it, in double. */
    public static void adamStep(List<float[]> params, List<float[]> grads, List<float[]> m, List<float[]> v,
                                float lr, float beta1, float beta2, float eps, float weightDecay, int t) {
        double bc1 = 1 - Math.pow(beta1, t), bc2 = 1 - Math.pow(beta2, t);
        for (int k = 0; k < params.size(); k++) {
            float[] p = params.get(k), g = grads.get(k), mk = m.get(k), vk = v.get(k);
            for (int i = 0; i < p.length; i++) {
                double gi = g[i] + (double) weightDecay * p[i];
                double mi = beta1 * (double) mk[i] + (1 - (double) beta1) * gi;
                double vi = beta2 * (double) vk[i] + (1 - (double) beta2) * gi * gi;
                mk[i] = (float) mi;
                vk[i] = (float) vi;
                p[i] = (float) (p[i] - lr * (mi / bc1) / (Math.sqrt(vi / bc2) + eps));
            }
        }
    }

    /** buf = momentum buf + g (buf = g at the first step); p -= lr buf. */
    public static void sgdStep(List<float[]> params, List<float[]> grads, List<float[]> velocity,
                               float lr, float momentum, boolean firstStep) {
        for (int k = 0; k < params.size(); k++) {
            float[] p = params.get(k), g = grads.get(k), buf = velocity.get(k);
            for (int i = 0; i < p.length; i++) {
                double b = firstStep ? g[i] : (double) momentum * buf[i] + g[i];
                buf[i] = (float) b;
                p[i] = (float) (p[i] - lr * b);
            }
        }
    }

    /** RMSprop as PyTorch: v = alpha v + (1 - alpha) g^2; p -= lr g / (sqrt(v) + eps), in double. */
    public static void rmspropStep(List<float[]> params, List<float[]> grads, List<float[]> squareAvg, float lr, float alpha, float eps) {
        for (int k = 0; k < params.size(); k++) {
            float[] p = params.get(k), g = grads.get(k), v = squareAvg.get(k);
            for (int i = 0; i < p.length; i++) {
                double vi = alpha * (double) v[i] + (1 - (double) alpha) * g[i] * g[i];
                v[i] = (float) vi;
                p[i] = (float) (p[i] - lr * (g[i] / (Math.sqrt(vi) + eps)));
            }
        }
    }

    // ---- spectral normalisation: M[r, o inner + j] = w[(o rows + r) inner + j] -------------

    /** rows, outer, inner of w's matrix view with rows its dimension dim (0 or 1). */
    public static int[] spectralMatrix(Shape w, int dim) {
        int rows = w.dim(dim), outer = dim == 0 ? 1 : w.dim(0);
        return new int[] {rows, outer, w.intSize() / (rows * outer)};
    }

    /** Backend.spectralNorm in double: u, v updated in place with update, wsn written, sigma returned. */
    public static double spectralNorm(float[] w, Shape shape, int dim, float[] u, float[] v, boolean update, float[] wsn) {
        int[] m = spectralMatrix(shape, dim);
        int rows = m[0], outer = m[1], inner = m[2], cols = outer * inner;
        if (update) {
            double[] vt = new double[cols];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) vt[c] += spectralAt(w, m, r, c) * u[r];
            normalizeInto(vt, v);
        }
        double[] mv = new double[rows];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) mv[r] += spectralAt(w, m, r, c) * v[c];
        if (update) normalizeInto(mv, u);
        double sigma = 0;
        for (int r = 0; r < rows; r++) sigma += u[r] * mv[r];
        for (int i = 0; i < w.length; i++) wsn[i] = (float) (w[i] / sigma);
        return sigma;
    }

    /** Backend.spectralNormBackward in double: dw (=|+=) (g - (g . wsn) u v^T) / sigma. */
    public static void spectralNormBackward(float[] g, float[] wsn, Shape shape, int dim, float[] u, float[] v, double sigma,
                                            float[] dw, boolean accumulate) {
        int[] m = spectralMatrix(shape, dim);
        double gw = 0;
        for (int i = 0; i < g.length; i++) gw += (double) g[i] * wsn[i];
        int rows = m[0], inner = m[2];
        for (int i = 0; i < g.length; i++) {
            int j = i % inner, r = (i / inner) % rows, o = i / inner / rows;
            double d = (g[i] - gw * u[r] * v[o * inner + j]) / sigma;
            dw[i] = (float) (accumulate ? dw[i] + d : d);
        }
    }

    private static double spectralAt(float[] w, int[] m, int r, int c) {
        int inner = m[2], o = c / inner, j = c % inner;
        return w[(o * m[0] + r) * inner + j];
    }

    private static void normalizeInto(double[] x, float[] out) {
        double s = 0;
        for (double e : x) s += e * e;
        double norm = Math.max(Math.sqrt(s), 1e-12);
        for (int i = 0; i < x.length; i++) out[i] = (float) (x[i] / norm);
    }

    // ---- random numbers: the float mapping in the Javadoc's order, for bit-exact checks ----

    public static void fillUniform(float[] t, float lo, float hi, long seed, long offset) {
        for (int i = 0; i < t.length; i++) t[i] = lo + (hi - lo) * Philox.uniformAt(seed, offset, i);
    }

    public static void fillNormal(float[] t, float mean, float std, long seed, long offset) {
        for (int i = 0; i < t.length; i++) t[i] = mean + std * Philox.normalAt(seed, offset, i);
    }

    public static void fillBernoulli(float[] t, float p, float ifTrue, float ifFalse, long seed, long offset) {
        for (int i = 0; i < t.length; i++) t[i] = Philox.uniformAt(seed, offset, i) <= p ? ifTrue : ifFalse;
    }
}
