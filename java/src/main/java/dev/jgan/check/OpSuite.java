package dev.jgan.check;

import dev.jgan.backend.Backend;
import dev.jgan.backend.ConvGeometry;
import dev.jgan.backend.CriticLoss;
import dev.jgan.backend.DiffAugment;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * The op checks, written once: every {@link Backend} op on a given backend against
 * {@link Reference}, as a list of {@link Case}s. {@link #quick()} is small awkward shapes (sizes
 * 1, primes, not multiples of any vector width or block size; every transpose of a GEMM; the
 * convolution sweep of {@link ConvCases#SWEEP}); {@link PresetOps} adds the exact calls the presets
 * make. The test suite runs {@link #quick()} on every backend it has; {@code gan check} runs them
 * on the device it is given.
 *
 * <p>Inputs are uniform in [-1, 1] unless a case says otherwise. Tolerances, all
 * {@code |backend - reference| <= atol + rtol |reference|}, with the reasons of the test suite's
 * argued values (dev.jgan.backend's tests):
 */
public final class OpSuite {
    /** GEMM: float sums of k products of size ~1/3, error ~eps k in the worst case; 2e-6 k is ~30x OpenBLAS's, ~1000x below a wrong transpose. */
    public static final double GEMM_ATOL_PER_K = 2e-6, GEMM_RTOL = 1e-6;
    /** Convolution: measured worst 1.25 eps per term of a float sum; 8 eps (2^-21) per term leaves six times that, a slipped tap is off by ~0.3. */
    public static final double CONV_ATOL_PER_TERM = 0x1p-21, CONV_RTOL = 1e-6;
    /** Sums over (N, S) (bias gradient, BN's dGamma and dBeta): in another order than the reference's double sum, a few eps per term of size ~1. */
    public static final double SUM_ATOL_PER_TERM = 0x1p-21, SUM_RTOL = 1e-6;
    /** Vector tanh and exp within about 1 ulp of Math's, plus the reference's rounding and 1 / (1 + e): 4 ulps. */
    public static final double TRANSCENDENTAL_ATOL = Float.MIN_NORMAL, TRANSCENDENTAL_RTOL = 5e-7;
    /** dy (1 - y^2) and dy y (1 - y) in float: y^2 rounds by <= 6e-8, times |dy| <= 1, plus two roundings. */
    public static final double SMOOTH_BACKWARD_ATOL = 2.5e-7, SMOOTH_BACKWARD_RTOL = 5e-7;
    /** Batch norm outputs (y, dx): statistics of a channel from float sums, then a few float operations per element. */
    public static final double BN_ATOL = 1e-5, BN_RTOL = 1e-5;
    /** Batch norm statistics (saved mean and 1/std, running mean and variance): a channel's sums in another order. */
    public static final double BN_STAT_ATOL = 1e-6, BN_STAT_RTOL = 1e-6;
    /** BCE and softmax cross-entropy losses: terms of order 1-30 from float exp/log1p within ~1 ulp, summed in double. */
    public static final double LOSS_ATOL = 1e-6, LOSS_RTOL = 1e-6;
    /** BCE and softmax gradients: sigmoid(l) - t and p - 1 in float, about 4e-7 absolute, scaled by gradScale / N. */
    public static final double LOSS_GRAD_ABS_PER_SCALE = 4e-7, LOSS_GRAD_RTOL = 1e-6;
    /** Softmax probabilities: float exp of values of order 1-30, a row sum in double: a few ulp. */
    public static final double PROB_ATOL = 1e-7, PROB_RTOL = 1e-6;
    /** Optimizer parameters of order 1 updated in float: a few roundings of p (6e-8 each); the update itself is ~1e-3. */
    public static final double PARAM_ATOL = 3e-7, PARAM_RTOL = 1e-6;
    /** Adam's and SGD's first moment: float roughly 3e-8 roundings that survive cancellation; the second moment sums squares. */
    public static final double M_ATOL = 1e-7, V_ATOL = 1e-9, MOMENT_RTOL = 1e-6;
    /**
     * Spectral norm (u, v, sigma, wsn, dw): matrix-vector sums of up to a few thousand terms, in
     * float lanes on the CPU and double on the GPU, against double; u and v have entries of about
     * 1/sqrt(length) and a wrong index or a missed normalisation moves them by that much, far
     * above 1e-6 absolute or 2e-5 relative.
     */
    public static final double SN_ATOL = 1e-6, SN_RTOL = 2e-5;

    /** DiffAugment's colour: about eight float roundings of values up to ~4 (x in [-1, 1], brightness +-0.5, saturation x2, contrast x1.5), each <= 2.4e-7, against the reference's double. */
    public static final double AUGMENT_COLOR_ATOL = 2e-6, AUGMENT_COLOR_RTOL = 1e-6;

    /** The seed a case's inputs are drawn with ({@link Case#run(Backend, long)}); 0 unless bound. */
    private static final ScopedValue<Long> RUN_SEED = ScopedValue.newInstance();

    /** Elementwise sizes of the quick set: 1, primes, not a multiple of any vector width or block size, one past a power of two. */
    static final int[] AWKWARD_SIZES = {1, 13, 207, 1025};

    private OpSuite() {}

    /**
     * One check: a name (the op family and its parameters), the shape it runs at, the Backend
     * methods it calls (so a test can see that every op is covered) and the body, which runs the
     * backend and the reference and compares them.
     */
    public record Case(String name, String shape, Set<String> ops, Function<Backend, Comparison> body) {
        /** Runs the case, catching a failure of the backend (a device error) as a failed row. */
        public CheckResult run(Backend b) {
            return run(b, 0);
        }

        /**
         * Runs the case on inputs drawn with {@code seed} (0: the inputs of {@link #run(Backend)};
         * another seed draws other values of the same distributions, and another dropout and fill
         * seed): the kernel lab's check runs each case at several.
         */
        public CheckResult run(Backend b, long seed) {
            return ScopedValue.where(RUN_SEED, seed).call(() -> timedRun(b));
        }

        /** The body on inputs drawn with {@code seed}; a failure of the backend propagates. */
        public Comparison compare(Backend b, long seed) {
            return ScopedValue.where(RUN_SEED, seed).call(() -> body.apply(b));
        }

        private CheckResult timedRun(Backend b) {
            long t0 = System.nanoTime();
            try {
                Comparison c = body.apply(b);
                return CheckResult.of("ops", name, shape, c, (System.nanoTime() - t0) / 1e6);
            } catch (RuntimeException e) {
                return CheckResult.thrown("ops", name, shape, e, (System.nanoTime() - t0) / 1e6);
            }
        }

        /** Identity for de-duplication: the same op family at the same shape and parameters. */
        String key() { return name + " " + shape; }

        @Override public String toString() { return name + " " + shape; }
    }

    /** Small awkward shapes covering every Backend op; what CI and {@code gan check --quick} run. */
    public static List<Case> quick() {
        List<Case> cases = new ArrayList<>();
        for (int n : AWKWARD_SIZES) cases.add(memory(n));
        int[][] gemms = {{1, 1, 1}, {13, 7, 5}, {17, 33, 65}, {64, 1, 207}};
        for (int[] s : gemms)
            for (int t = 0; t < 4; t++) cases.add(gemm((t & 1) != 0, (t & 2) != 0, s[0], s[1], s[2], 1f, 0f));
        cases.add(gemm(true, false, 13, 7, 5, 0.5f, 1f));   // alpha and beta, the accumulating form (weight gradients)
        for (Shape s : List.of(Shape.of(3, 5), Shape.of(2, 3, 5, 7), Shape.of(13, 1)))
            for (boolean acc : new boolean[] {false, true}) cases.add(bias(s, acc));
        for (int n : AWKWARD_SIZES) cases.add(multiply(Shape.of(n), false, n == 13));
        for (Shape s : List.of(Shape.of(13, 7), Shape.of(2, 3, 5, 7), Shape.of(3, 1025), Shape.of(64, 16)))
            for (boolean inPlace : new boolean[] {false, true}) cases.add(multiply(s, true, inPlace));
        for (ConvCases.Conv c : ConvCases.SWEEP) cases.add(conv(c.image(), c.weights(), c.g()));
        for (int n : AWKWARD_SIZES) {
            cases.add(leakyRelu(n, 0.2f));
            cases.add(relu(n));
            cases.add(tanh(n));
            cases.add(sigmoid(n));
            cases.add(dropout(n, 0.3f));
            cases.add(ema(n, 0.999f));
            cases.add(fillUniform(n, -1f, 3f));
            cases.add(fillNormal(n, 0.5f, 2f));
            cases.add(fillBernoulli(n, 0.25f));
        }
        for (Shape s : List.of(Shape.of(1, 5), Shape.of(13, 7), Shape.of(2, 3, 5, 7))) {
            cases.add(batchNorm(s, 0.1f, 1e-2f));
            cases.add(batchNormLeakyRelu(s, 0.1f, 1e-2f, 0f));
            cases.add(batchNormLeakyRelu(s, 0.1f, 1e-2f, 0.2f));
        }
        for (int n : AWKWARD_SIZES) {
            cases.add(bce(n, false, 0.9f, 1f));
            cases.add(bce(n, true, 0f, -2f));
            cases.add(criticLoss(n, CriticLoss.LINEAR, -1f, 1f));
            cases.add(criticLoss(n, CriticLoss.HINGE, 1f, 1f));
            cases.add(criticLoss(n, CriticLoss.HINGE, -1f, 2f));
            cases.add(criticLoss(n, CriticLoss.SQUARED, 0f, -1f));
            cases.add(criticLoss(n, CriticLoss.SQUARED, 1f, 1f));
            cases.add(clamp(n, -0.5f, 0.75f));
        }
        for (SpectralCase c : SPECTRAL_SWEEP) {
            for (boolean update : new boolean[] {false, true}) cases.add(spectralNorm(c.w(), c.dim(), update));
            for (boolean acc : new boolean[] {false, true}) cases.add(spectralNormBackward(c.w(), c.dim(), acc));
        }
        cases.add(softmax(1, 1));
        cases.add(softmax(13, 10));
        cases.add(softmaxCrossEntropy(1, 3));
        cases.add(softmaxCrossEntropy(13, 10));
        cases.add(maxPool(Shape.of(2, 3, 7, 9)));
        cases.add(maxPool(Shape.of(1, 1, 2, 2)));
        cases.add(adam(new int[] {1, 13, 207}, 2e-4f, 0.5f, 0.999f, 1e-8f, 0f, 1));
        cases.add(adam(new int[] {13, 1025}, 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, 7));
        cases.add(sgd(new int[] {1, 13, 207}, 1e-2f, 0.9f, true));
        cases.add(sgd(new int[] {13, 1025}, 1e-2f, 0.9f, false));
        cases.add(rmsprop(new int[] {1, 13, 207}, 5e-5f, 0.99f, 1e-8f));
        cases.add(rmsprop(new int[] {13, 1025}, 1e-3f, 0.9f, 1e-6f));
        for (DiffAugment kind : DiffAugment.values())
            for (Shape s : List.of(Shape.of(2, 3, 5, 7), Shape.of(3, 1, 8, 8), Shape.of(1, 3, 13, 16)))
                cases.add(diffAugment(kind, s));
        return cases;
    }

    // ---- the cases --------------------------------------------------------------------------

    /** allocate (zero-filled), copyFromHost and toHost (a round trip), copy, fill. */
    public static Case memory(int n) {
        return new Case("memory", "(" + n + ")", Set.of("allocate", "copyFromHost", "toHost", "copy", "fill", "synchronize"), b -> {
            Shape s = Shape.of(n);
            float[] x = uniform(1, n), zeros = new float[n], filled = new float[n];
            Comparison c = new Comparison();
            c.sameBits("allocate (zeros)", zeros, b.allocate(s).toHost());
            Tensor t = b.fromHost(x, s), u = b.allocate(s);
            c.sameBits("copyFromHost + toHost", x, t.toHost());
            b.copy(t, u);
            float[] copied = new float[n];
            Reference.copy(x, copied);
            c.sameBits("copy", copied, u.toHost());
            b.fill(u, -2.5f);
            b.synchronize();
            Reference.fill(filled, -2.5f);
            c.sameBits("fill", filled, u.toHost());
            return c;
        });
    }

    /** Row-major C = alpha op(A) op(B) + beta C, C starting from values (read when beta != 0). */
    public static Case gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float beta) {
        String name = "gemm " + (transA ? "T" : "N") + (transB ? "T" : "N") + (alpha != 1f || beta != 0f ? " alpha " + alpha + " beta " + beta : "");
        return new Case(name, "m " + m + " n " + n + " k " + k, Set.of("gemm"), b -> {
            float[] a = uniform(2, m * k), bb = uniform(3, k * n), c0 = uniform(4, m * n), c = c0.clone();
            Shape as = transA ? Shape.of(k, m) : Shape.of(m, k), bs = transB ? Shape.of(n, k) : Shape.of(k, n), cs = Shape.of(m, n);
            Tensor tc = b.fromHost(c0, cs);
            b.gemm(transA, transB, m, n, k, alpha, b.fromHost(a, as), b.fromHost(bb, bs), beta, tc);
            Reference.gemm(transA, transB, m, n, k, alpha, a, bb, beta, c);
            return new Comparison().close("C", c, tc.toHost(), GEMM_ATOL_PER_K * k * Math.max(1, Math.abs(alpha)), GEMM_RTOL);
        });
    }

    /** addBias, then biasGrad written or accumulated. */
    public static Case bias(Shape y, boolean accumulate) {
        return new Case("bias" + (accumulate ? " (+=)" : ""), y.toString(), Set.of("addBias", "biasGrad"), b -> {
            int ch = y.dim(1), terms = y.intSize() / ch;
            float[] v = uniform(5, y.intSize()), bias = uniform(6, ch), dBias = uniform(7, ch);
            Tensor tv = b.fromHost(v, y), tdb = b.fromHost(dBias, Shape.of(ch));
            b.addBias(tv, b.fromHost(bias, Shape.of(ch)));
            float[] added = v.clone();
            Reference.addBias(added, y, bias);
            Comparison c = new Comparison().close("y + bias", added, tv.toHost(), 0, 1e-7);
            b.biasGrad(b.fromHost(v, y), tdb, accumulate);
            Reference.biasGrad(v, y, dBias, accumulate);
            return c.close("dBias", dBias, tdb.toHost(), SUM_ATOL_PER_TERM * Math.max(terms, 8), SUM_RTOL);
        });
    }

    /**
     * The elementwise product of a (shape {@code a}) with b of a's size or, {@code rows}, one value
     * per row (b of a.dim(0)), into another tensor or in place (y = a). One float product per
     * element, rounded once, on every backend and in the reference: bit for bit (tolerance 0).
     */
    public static Case multiply(Shape a, boolean rows, boolean inPlace) {
        return new Case("multiply" + (rows ? " by row" : "") + (inPlace ? " (y = a)" : ""), a.toString(), Set.of("multiply"), b -> {
            Shape bs = rows ? Shape.of(a.dim(0)) : a;
            float[] x = scaled(uniform(80, a.intSize()), 3f), h = scaled(uniform(81, bs.intSize()), 2f), y = new float[x.length];
            Tensor ta = b.fromHost(x, a), ty = inPlace ? ta : b.allocate(a);
            b.multiply(ta, b.fromHost(h, bs), ty);
            Reference.multiply(x, h, y);
            return new Comparison().sameBits("y", y, ty.toHost());
        });
    }

    /** The three convolution calls (a transposed convolution is the same three swapped), the filter gradient written and accumulated. */
    public static Case conv(Shape image, Shape weights, ConvGeometry g) {
        Shape out = Shape.of(image.dim(0), weights.dim(0), g.outH(image.dim(2), weights.dim(2)), g.outW(image.dim(3), weights.dim(3)));
        String geo = " s" + g.strideH() + (g.strideW() != g.strideH() ? "x" + g.strideW() : "") + " p" + g.padH()
                + (g.padW() != g.padH() ? "x" + g.padW() : "");
        return new Case("conv " + weights.dim(2) + "x" + weights.dim(3) + geo, image + " * " + weights + " -> " + out,
                Set.of("conv2dForward", "conv2dBackwardData", "conv2dBackwardFilter"), b -> {
                    int forwardTerms = image.dim(1) * weights.dim(2) * weights.dim(3);
                    int dataTerms = weights.dim(0) * weights.dim(2) * weights.dim(3);
                    int filterTerms = out.dim(0) * out.dim(2) * out.dim(3);
                    float[] x = uniform(8, image.intSize()), w = uniform(9, weights.intSize()), dy = uniform(10, out.intSize()),
                            old = uniform(11, weights.intSize());
                    Tensor tx = b.fromHost(x, image), tw = b.fromHost(w, weights), tdy = b.fromHost(dy, out);
                    Comparison c = new Comparison();
                    Tensor ty = b.allocate(out);
                    b.fill(ty, Float.NaN);
                    b.conv2dForward(tx, tw, ty, g);
                    float[] y = new float[out.intSize()];
                    Reference.conv2dForward(x, image, w, weights, y, out, g);
                    c.close("forward", y, ty.toHost(), CONV_ATOL_PER_TERM * forwardTerms, CONV_RTOL);
                    Tensor tdx = b.allocate(image);
                    b.fill(tdx, Float.NaN);
                    b.conv2dBackwardData(tdy, tw, tdx, g);
                    float[] dx = new float[image.intSize()];
                    Reference.conv2dBackwardData(dy, out, w, weights, dx, image, g);
                    c.close("backward data", dx, tdx.toHost(), CONV_ATOL_PER_TERM * dataTerms, CONV_RTOL);
                    Tensor tdw = b.allocate(weights);
                    b.fill(tdw, Float.NaN);
                    b.conv2dBackwardFilter(tx, tdy, tdw, g, false);
                    float[] dw = new float[weights.intSize()];
                    Reference.conv2dBackwardFilter(x, image, dy, out, dw, weights, g, false);
                    c.close("backward filter", dw, tdw.toHost(), CONV_ATOL_PER_TERM * filterTerms, CONV_RTOL);
                    Tensor tacc = b.fromHost(old, weights);
                    b.conv2dBackwardFilter(tx, tdy, tacc, g, true);
                    Reference.conv2dBackwardFilter(x, image, dy, out, old, weights, g, true);
                    return c.close("backward filter (+=)", old, tacc.toHost(), CONV_ATOL_PER_TERM * filterTerms, CONV_RTOL);
                });
    }

    /** Inverted dropout: the mask and y bit for bit (Philox uniforms, the scale in float), then dx = dy * mask. */
    public static Case dropout(int n, float p) {
        return new Case("dropout p " + p, "(" + n + ")", Set.of("dropoutForward", "dropoutBackward"), b -> {
            Shape s = Shape.of(n);
            long seed = 0x0123456789abcdefL ^ runSeed() * 0x9E3779B97F4A7C15L, offset = (1L << 32) + 3 + runSeed();
            float[] x = uniform(12, n), dy = uniform(13, n), mask = new float[n], y = new float[n], dx = new float[n];
            Tensor tm = b.allocate(s), ty = b.allocate(s), tdx = b.allocate(s);
            b.dropoutForward(b.fromHost(x, s), tm, ty, p, seed, offset);
            b.dropoutBackward(b.fromHost(dy, s), tm, tdx);
            Reference.dropoutForward(x, mask, y, p, seed, offset);
            Reference.dropoutBackward(dy, mask, dx);
            return new Comparison().sameBits("mask", mask, tm.toHost()).sameBits("y", y, ty.toHost()).sameBits("dx", dx, tdx.toHost());
        });
    }

    /** LeakyReLU and its backward: one float multiply each, bit for bit; inputs in [-6, 6] with exact zeros. */
    public static Case leakyRelu(int n, float slope) {
        return new Case("leakyRelu " + slope, "(" + n + ")", Set.of("leakyRelu", "leakyReluBackward"), b -> {
            Shape s = Shape.of(n);
            float[] x = activationInputs(n), dy = uniform(14, n), y = new float[n], dx = new float[n];
            Tensor ty = b.allocate(s), tdx = b.allocate(s);
            b.leakyRelu(b.fromHost(x, s), ty, slope);
            b.leakyReluBackward(ty, b.fromHost(dy, s), tdx, slope);
            Reference.leakyRelu(x, y, slope);
            Reference.leakyReluBackward(y, dy, dx, slope);
            return new Comparison().sameBits("y", y, ty.toHost()).sameBits("dx", dx, tdx.toHost());
        });
    }

    public static Case relu(int n) {
        return new Case("relu", "(" + n + ")", Set.of("relu", "reluBackward"), b -> {
            Shape s = Shape.of(n);
            float[] x = activationInputs(n), dy = uniform(15, n), y = new float[n], dx = new float[n];
            Tensor ty = b.allocate(s), tdx = b.allocate(s);
            b.relu(b.fromHost(x, s), ty);
            b.reluBackward(ty, b.fromHost(dy, s), tdx);
            Reference.relu(x, y);
            Reference.reluBackward(y, dy, dx);
            return new Comparison().sameBits("y", y, ty.toHost()).sameBits("dx", dx, tdx.toHost());
        });
    }

    /** tanh, then its backward from the reference's y (so the backward is checked on its own). */
    public static Case tanh(int n) {
        return new Case("tanh", "(" + n + ")", Set.of("tanh", "tanhBackward"), b -> {
            Shape s = Shape.of(n);
            float[] x = activationInputs(n), dy = uniform(16, n), y = new float[n], dx = new float[n];
            Tensor ty = b.allocate(s), tdx = b.allocate(s);
            b.tanh(b.fromHost(x, s), ty);
            Reference.tanh(x, y);
            b.tanhBackward(b.fromHost(y, s), b.fromHost(dy, s), tdx);
            Reference.tanhBackward(y, dy, dx);
            return new Comparison().close("y", y, ty.toHost(), TRANSCENDENTAL_ATOL, TRANSCENDENTAL_RTOL)
                    .close("dx", dx, tdx.toHost(), SMOOTH_BACKWARD_ATOL, SMOOTH_BACKWARD_RTOL);
        });
    }

    public static Case sigmoid(int n) {
        return new Case("sigmoid", "(" + n + ")", Set.of("sigmoid", "sigmoidBackward"), b -> {
            Shape s = Shape.of(n);
            float[] x = activationInputs(n), dy = uniform(17, n), y = new float[n], dx = new float[n];
            Tensor ty = b.allocate(s), tdx = b.allocate(s);
            b.sigmoid(b.fromHost(x, s), ty);
            Reference.sigmoid(x, y);
            b.sigmoidBackward(b.fromHost(y, s), b.fromHost(dy, s), tdx);
            Reference.sigmoidBackward(y, dy, dx);
            return new Comparison().close("y", y, ty.toHost(), TRANSCENDENTAL_ATOL, TRANSCENDENTAL_RTOL)
                    .close("dx", dx, tdx.toHost(), SMOOTH_BACKWARD_ATOL, SMOOTH_BACKWARD_RTOL);
        });
    }

    /** Training forward (y, saved and running statistics), inference forward, backward written then accumulated. */
    public static Case batchNorm(Shape x, float momentum, float eps) {
        return new Case("batchNorm m " + momentum + " eps " + eps, x.toString(),
                Set.of("batchNormTrain", "batchNormInfer", "batchNormBackward"), b -> {
                    Bn d = new Bn(x);
                    Tensor[] t = d.upload(b);
                    b.batchNormTrain(t[0], t[1], t[2], t[3], t[4], momentum, eps, t[5], t[6], t[7]);
                    Reference.batchNormTrain(d.x, x, d.gamma, d.beta, d.rm, d.rv, momentum, eps, d.y, d.sm, d.si);
                    Comparison c = d.compareForward(t);
                    Tensor yi = b.allocate(x);
                    b.batchNormInfer(t[0], t[1], t[2], t[3], t[4], eps, yi);
                    float[] ref = new float[x.intSize()];
                    Reference.batchNormInfer(d.x, x, d.gamma, d.beta, d.rm, d.rv, eps, ref);
                    c.close("y (infer)", ref, yi.toHost(), BN_ATOL, BN_RTOL);
                    for (boolean acc : new boolean[] {false, true}) {
                        b.batchNormBackward(t[0], t[8], t[1], t[6], t[7], t[9], t[10], t[11], acc);
                        Reference.batchNormBackward(d.x, x, d.dy, d.gamma, d.sm, d.si, d.dx, d.dGamma, d.dBeta, acc);
                        d.compareBackward(c, t, acc);
                    }
                    return c;
                });
    }

    /**
     * Training forward on shifted data: every channel about {@code mean} with standard deviation 1
     * (x = mean + sqrt(3) u, u uniform in [-1, 1)), where statistics summed naively lose the
     * variance (x^2 ~ 1e8 in float keeps no digit of a spread of 1). The saved and running statistics
     * and y are held to the suite's batch-norm tolerances: a sound one-pass or two-pass method keeps them.
     */
    public static Case batchNormShifted(Shape x, float mean) {
        return new Case("batchNorm shifted to " + mean, x.toString(), Set.of("batchNormTrain"), b -> {
            Bn d = new Bn(x);
            for (int i = 0; i < d.x.length; i++) d.x[i] = mean + 1.7320508f * ((d.x[i] - 0.5f) / 2.5f);
            Tensor[] t = d.upload(b);
            b.batchNormTrain(t[0], t[1], t[2], t[3], t[4], 0.1f, 1e-5f, t[5], t[6], t[7]);
            Reference.batchNormTrain(d.x, x, d.gamma, d.beta, d.rm, d.rv, 0.1f, 1e-5f, d.y, d.sm, d.si);
            // y: the backend subtracts the float mean, within half an ulp of the reference's double one,
            // times gamma invStd <= 1.5 * 1.01: within one ulp of the mean more than the usual bound
            return new Comparison().close("saveMean", d.sm, t[6].toHost(), BN_STAT_ATOL, BN_STAT_RTOL)
                    .close("saveInvStd", d.si, t[7].toHost(), BN_STAT_ATOL, BN_STAT_RTOL)
                    .close("runningMean", d.rm, t[3].toHost(), BN_STAT_ATOL, BN_STAT_RTOL)
                    .close("runningVar", d.rv, t[4].toHost(), BN_STAT_ATOL, BN_STAT_RTOL)
                    .close("y", d.y, t[5].toHost(), BN_ATOL + Math.ulp(mean), BN_RTOL);
        });
    }

    /** The fused batch norm + LeakyReLU (ReLU at slope 0): forward, then backward written and accumulated. */
    public static Case batchNormLeakyRelu(Shape x, float momentum, float eps, float slope) {
        return new Case("batchNorm+leakyRelu " + slope + " m " + momentum + " eps " + eps, x.toString(),
                Set.of("batchNormLeakyReluTrain", "batchNormLeakyReluBackward"), b -> {
                    Bn d = new Bn(x);
                    Tensor[] t = d.upload(b);
                    b.batchNormLeakyReluTrain(t[0], t[1], t[2], t[3], t[4], momentum, eps, slope, t[5], t[6], t[7]);
                    Reference.batchNormLeakyReluTrain(d.x, x, d.gamma, d.beta, d.rm, d.rv, momentum, eps, slope, d.y, d.sm, d.si);
                    Comparison c = d.compareForward(t);
                    for (boolean acc : new boolean[] {false, true}) {
                        b.batchNormLeakyReluBackward(t[0], t[5], t[8], t[1], t[2], slope, t[6], t[7], t[9], t[10], t[11], acc);
                        // the reference takes its mask from its own y: the same elements are > 0 unless one is within rounding of 0
                        Reference.batchNormLeakyReluBackward(d.x, x, d.y, d.dy, d.gamma, d.beta, slope, d.sm, d.si, d.dx, d.dGamma, d.dBeta, acc);
                        d.compareBackward(c, t, acc);
                    }
                    return c;
                });
    }

    /** BCE with logits in [-8, 8] (inside float's sigmoid range): loss, mean D output and fraction positive, and the gradient. */
    public static Case bce(int n, boolean perElement, float target, float gradScale) {
        return new Case("bceWithLogits " + (perElement ? "targets" : "target " + target) + " scale " + gradScale, "(" + n + ")",
                Set.of("bceWithLogits"), b -> {
                    Shape s = Shape.of(n);
                    float[] l = scaled(uniform(18, n), 8f), targets = perElement ? unit(uniform(19, n)) : null;
                    // stats start as other values: the op writes its slot's and must leave the rest as they were
                    float[] dl = new float[n], stats = uniform(35, 5);
                    Tensor tdl = b.allocate(s), ts = b.fromHost(stats, Shape.of(5));
                    b.bceWithLogits(b.fromHost(l, s), targets == null ? null : b.fromHost(targets, s), target, gradScale, tdl, ts, 1);
                    Reference.bceWithLogits(l, targets, target, gradScale, dl, stats, 1);
                    return new Comparison().close("stats", stats, ts.toHost(), LOSS_ATOL, LOSS_RTOL)
                            .close("dLogits", dl, tdl.toHost(), LOSS_GRAD_ABS_PER_SCALE * Math.abs(gradScale) / n, LOSS_GRAD_RTOL);
                });
    }

    /**
     * A critic loss on outputs in [-3, 3] (both sides of the hinge's margin and of LSGAN's
     * boundary): loss, mean score and fraction above the boundary, and the gradient. The float
     * terms (a l, 1 - a l, (l - a)^2 / 2) are within an ulp of the reference's double ones, so the
     * BCE tolerances hold with room.
     */
    public static Case criticLoss(int n, CriticLoss kind, float a, float gradScale) {
        return new Case("criticLoss " + kind.name().toLowerCase(java.util.Locale.ROOT) + " a " + a + " scale " + gradScale,
                "(" + n + ")", Set.of("criticLoss"), b -> {
                    Shape s = Shape.of(n);
                    float[] l = scaled(uniform(36, n), 3f);
                    float[] dl = new float[n], stats = uniform(37, 5);
                    Tensor tdl = b.allocate(s), ts = b.fromHost(stats, Shape.of(5));
                    b.criticLoss(kind, b.fromHost(l, s), a, gradScale, tdl, ts, 1);
                    Reference.criticLoss(kind, l, a, gradScale, dl, stats, 1);
                    return new Comparison().close("stats", stats, ts.toHost(), LOSS_ATOL, LOSS_RTOL)
                            .close("dLogits", dl, tdl.toHost(), LOSS_GRAD_ABS_PER_SCALE * Math.abs(gradScale) / n, LOSS_GRAD_RTOL);
                });
    }

    /** A weight and the dimension of it that is the spectral norm's rows. */
    record SpectralCase(Shape w, int dim) {}

    /**
     * Dense weights (a 1x1, an odd one, one past a power of two wide), a convolution's and a
     * transposed convolution's (rows its dim 1: outer 5 runs of 9 per row).
     */
    static final List<SpectralCase> SPECTRAL_SWEEP = List.of(new SpectralCase(Shape.of(1, 1), 0),
            new SpectralCase(Shape.of(13, 207), 0), new SpectralCase(Shape.of(64, 1025), 0),
            new SpectralCase(Shape.of(8, 3, 4, 4), 0), new SpectralCase(Shape.of(5, 7, 3, 3), 1));

    /**
     * Spectral norm of w in [-1, 1]: with the power iteration from u, v in [-1, 1] (not
     * normalised: the op must not assume it); without, from the u and v of one iteration (so that
     * sigma = |M v| is well away from 0).
     */
    public static Case spectralNorm(Shape w, int dim, boolean update) {
        return new Case("spectralNorm dim " + dim + (update ? " update" : ""), w.toString(), Set.of("spectralNorm"), b -> {
            int[] m = Reference.spectralMatrix(w, dim);
            int rows = m[0], cols = m[1] * m[2];
            float[] wh = uniform(40, w.intSize()), u = uniform(41, rows), v = uniform(42, cols), wsn = new float[wh.length];
            if (!update) Reference.spectralNorm(wh, w, dim, u, v, true, wsn);   // u and v of one iteration: sigma = |M v| > 0
            Tensor tu = b.fromHost(u, Shape.of(rows)), tv = b.fromHost(v, Shape.of(cols)), tn = b.allocate(w);
            Tensor work = b.allocate(Shape.of(2 + rows));
            b.spectralNorm(b.fromHost(wh, w), dim, tu, tv, update, tn, work);
            double sigma = Reference.spectralNorm(wh, w, dim, u, v, update, wsn);
            return new Comparison().close("u", u, tu.toHost(), SN_ATOL, SN_RTOL).close("v", v, tv.toHost(), SN_ATOL, SN_RTOL)
                    .close("sigma", new float[] {(float) sigma}, new float[] {work.toHost()[0]}, SN_ATOL, SN_RTOL)
                    .close("wsn", wsn, tn.toHost(), SN_ATOL, SN_RTOL);
        });
    }

    /** The spectral norm's weight gradient from g in [-1, 1] after a spectralNorm without update, written or added to dw. */
    public static Case spectralNormBackward(Shape w, int dim, boolean accumulate) {
        return new Case("spectralNormBackward dim " + dim + (accumulate ? " accumulate" : ""), w.toString(),
                Set.of("spectralNorm", "spectralNormBackward"), b -> {
                    int[] m = Reference.spectralMatrix(w, dim);
                    int rows = m[0], cols = m[1] * m[2];
                    float[] wh = uniform(43, w.intSize()), u = uniform(44, rows), v = uniform(45, cols), g = uniform(46, wh.length);
                    float[] dw = uniform(47, wh.length), wsn = new float[wh.length];
                    Reference.spectralNorm(wh, w, dim, u, v, true, wsn);
                    Tensor tu = b.fromHost(u, Shape.of(rows)), tv = b.fromHost(v, Shape.of(cols)), tn = b.allocate(w);
                    Tensor work = b.allocate(Shape.of(2 + rows)), tdw = b.fromHost(dw, w);
                    b.spectralNorm(b.fromHost(wh, w), dim, tu, tv, false, tn, work);
                    b.spectralNormBackward(b.fromHost(g, w), tn, dim, tu, tv, work, tdw, accumulate);
                    double sigma = Reference.spectralNorm(wh, w, dim, u, v, false, wsn);
                    Reference.spectralNormBackward(g, wsn, w, dim, u, v, sigma, dw, accumulate);
                    return new Comparison().close("dw", dw, tdw.toHost(), SN_ATOL, SN_RTOL);
                });
    }

    /** Clamping values in [-2, 2] to [lo, hi], with a NaN at the last element: bit for bit, the NaN kept. */
    public static Case clamp(int n, float lo, float hi) {
        return new Case("clamp " + lo + " " + hi, "(" + n + ")", Set.of("clamp"), b -> {
            Shape s = Shape.of(n);
            float[] t = scaled(uniform(38, n), 2f);
            if (n > 1) t[n - 1] = Float.NaN;
            Tensor tt = b.fromHost(t, s);
            b.clamp(tt, lo, hi);
            Reference.clamp(t, lo, hi);
            return new Comparison().sameBits("t", t, tt.toHost());
        });
    }

    /**
     * A DiffAugment transform forward and backward on images in [-1, 1] with params in [0, 1), the
     * first image's at the ends (0 and the largest float below 1: the extreme shifts and cut
     * positions). Translation and cutout move or clear values: bit for bit.
     */
    public static Case diffAugment(DiffAugment kind, Shape x) {
        return new Case("diffAugment " + kind.flag(), x.toString(), Set.of("diffAugment", "diffAugmentBackward"), b -> {
            int n = x.dim(0), size = x.intSize();
            Shape ps = Shape.of(n, kind.params());
            float[] v = uniform(39, size), dy = uniform(40, size), p = uniform(41, ps.intSize(), 0f, 1f);
            for (int j = 0; j < kind.params(); j++) p[j] = j % 2 == 0 ? 0f : Math.nextDown(1f);
            float[] y = new float[size], dx = new float[size];
            Tensor tp = b.fromHost(p, ps), ty = b.allocate(x), tdx = b.allocate(x);
            b.diffAugment(kind, b.fromHost(v, x), tp, ty);
            b.diffAugmentBackward(kind, b.fromHost(dy, x), tp, tdx);
            Reference.diffAugment(kind, v, x, p, y);
            Reference.diffAugmentBackward(kind, dy, x, p, dx);
            Comparison c = new Comparison();
            if (kind != DiffAugment.COLOR) return c.sameBits("y", y, ty.toHost()).sameBits("dx", dx, tdx.toHost());
            return c.close("y", y, ty.toHost(), AUGMENT_COLOR_ATOL, AUGMENT_COLOR_RTOL)
                    .close("dx", dx, tdx.toHost(), AUGMENT_COLOR_ATOL, AUGMENT_COLOR_RTOL);
        });
    }

    /** Softmax over rows of logits in [-30, 30]. */
    public static Case softmax(int n, int k) {
        return new Case("softmax", "(" + n + ", " + k + ")", Set.of("softmax"), b -> {
            Shape s = Shape.of(n, k);
            float[] x = scaled(uniform(20, n * k), 30f), y = new float[n * k];
            Tensor ty = b.allocate(s);
            b.softmax(b.fromHost(x, s), ty);
            Reference.softmax(x, n, k, y);
            return new Comparison().close("y", y, ty.toHost(), PROB_ATOL, PROB_RTOL);
        });
    }

    public static Case softmaxCrossEntropy(int n, int k) {
        return new Case("softmaxCrossEntropy", "(" + n + ", " + k + ")", Set.of("softmaxCrossEntropy"), b -> {
            Shape s = Shape.of(n, k);
            float[] l = scaled(uniform(21, n * k), 10f), labels = new float[n], dl = new float[n * k], stats = uniform(36, 3);
            for (int i = 0; i < n; i++) labels[i] = (i * 7) % k;
            // stats start as other values: the op writes its slot's and must leave the rest as they were
            Tensor tdl = b.allocate(s), ts = b.fromHost(stats, Shape.of(3));
            b.softmaxCrossEntropy(b.fromHost(l, s), b.fromHost(labels, Shape.of(n)), 1f, tdl, ts, 1);
            Reference.softmaxCrossEntropy(l, n, k, labels, 1f, dl, stats, 1);
            return new Comparison().close("stats", stats, ts.toHost(), LOSS_ATOL, LOSS_RTOL)
                    .close("dLogits", dl, tdl.toHost(), LOSS_GRAD_ABS_PER_SCALE / n, LOSS_GRAD_RTOL);
        });
    }

    /** 2x2 max pooling and its backward, bit for bit; ties (from values rounded to a coarse grid) test the first-position rule. */
    public static Case maxPool(Shape x) {
        Shape ys = Shape.of(x.dim(0), x.dim(1), x.dim(2) / 2, x.dim(3) / 2);
        return new Case("maxPool2x2", x.toString(), Set.of("maxPool2x2Forward", "maxPool2x2Backward"), b -> {
            float[] v = uniform(22, x.intSize()), y = new float[ys.intSize()], dy = uniform(23, ys.intSize()), dx = new float[x.intSize()];
            for (int i = 0; i < v.length; i++) v[i] = Math.round(v[i] * 2) / 2f;
            Tensor tx = b.fromHost(v, x), ty = b.allocate(ys), tdx = b.allocate(x);
            b.maxPool2x2Forward(tx, ty);
            b.maxPool2x2Backward(tx, ty, b.fromHost(dy, ys), tdx);
            Reference.maxPool2x2Forward(v, x, y);
            Reference.maxPool2x2Backward(v, x, y, dy, dx);
            return new Comparison().sameBits("y", y, ty.toHost()).sameBits("dx", dx, tdx.toHost());
        });
    }

    /** The moving average, defined in float with two roundings: bit for bit. */
    public static Case ema(int n, float decay) {
        return new Case("ema " + decay, "(" + n + ")", Set.of("ema"), b -> {
            Shape s = Shape.of(n);
            float[] avg = uniform(24, n), x = uniform(25, n);
            Tensor ta = b.fromHost(avg, s);
            b.ema(ta, b.fromHost(x, s), decay);
            Reference.ema(avg, x, decay);
            return new Comparison().sameBits("avg", avg, ta.toHost());
        });
    }

    /** One Adam step at step t over several tensors in one call, from non-zero moments. */
    public static Case adam(int[] sizes, float lr, float beta1, float beta2, float eps, float weightDecay, int t) {
        return new Case("adam lr " + lr + " b1 " + beta1 + " b2 " + beta2 + (weightDecay != 0 ? " wd " + weightDecay : "") + " t " + t,
                sizesString(sizes), Set.of("adamStep"), b -> {
                    Opt o = new Opt(b, sizes, true);
                    b.adamStep(o.tp, o.tg, o.tm, o.tv, lr, beta1, beta2, eps, weightDecay, t);
                    Reference.adamStep(o.p, o.g, o.m, o.v, lr, beta1, beta2, eps, weightDecay, t);
                    return o.compare();
                });
    }

    /** One SGD-with-momentum step (the first, which sets the buffer, or a later one). */
    public static Case sgd(int[] sizes, float lr, float momentum, boolean firstStep) {
        return new Case("sgd lr " + lr + " momentum " + momentum + (firstStep ? " first step" : ""), sizesString(sizes), Set.of("sgdStep"), b -> {
            Opt o = new Opt(b, sizes, false);
            b.sgdStep(o.tp, o.tg, o.tm, lr, momentum, firstStep);
            Reference.sgdStep(o.p, o.g, o.m, lr, momentum, firstStep);
            return o.compare();
        });
    }

    /** One RMSprop step over several tensors in one call, from a non-zero square average. */
    public static Case rmsprop(int[] sizes, float lr, float alpha, float eps) {
        return new Case("rmsprop lr " + lr + " alpha " + alpha + " eps " + eps, sizesString(sizes), Set.of("rmspropStep"), b -> {
            Opt o = new Opt(b, sizes, true);
            b.rmspropStep(o.tp, o.tg, o.tv, lr, alpha, eps);
            Reference.rmspropStep(o.p, o.g, o.v, lr, alpha, eps);
            Comparison c = new Comparison();
            for (int i = 0; i < sizes.length; i++) {
                c.close("param " + i, o.p.get(i), o.tp.get(i).toHost(), PARAM_ATOL, PARAM_RTOL);
                c.close("square_avg " + i, o.v.get(i), o.tv.get(i).toHost(), V_ATOL, MOMENT_RTOL);
            }
            return c;
        });
    }

    /** Philox fills at an offset past 2^32 blocks (both counter words), bit for bit. */
    public static Case fillUniform(int n, float lo, float hi) {
        return fill("fillUniform " + lo + " " + hi, n, "fillUniform", (b, t) -> b.fillUniform(t, lo, hi, fillSeed(), fillOffset()),
                r -> Reference.fillUniform(r, lo, hi, fillSeed(), fillOffset()));
    }

    public static Case fillNormal(int n, float mean, float std) {
        return fill("fillNormal " + mean + " " + std, n, "fillNormal", (b, t) -> b.fillNormal(t, mean, std, fillSeed(), fillOffset()),
                r -> Reference.fillNormal(r, mean, std, fillSeed(), fillOffset()));
    }

    public static Case fillBernoulli(int n, float p) {
        return fill("fillBernoulli " + p, n, "fillBernoulli", (b, t) -> b.fillBernoulli(t, p, 2f, -1f, fillSeed(), fillOffset()),
                r -> Reference.fillBernoulli(r, p, 2f, -1f, fillSeed(), fillOffset()));
    }

    private static final long SEED = 0x0123456789abcdefL, OFFSET = (1L << 32) + 3;

    private static Case fill(String name, int n, String op, java.util.function.BiConsumer<Backend, Tensor> run,
                             java.util.function.Consumer<float[]> ref) {
        return new Case(name, "(" + n + ")", Set.of(op), b -> {
            Tensor t = b.allocate(Shape.of(n));
            run.accept(b, t);
            float[] r = new float[n];
            ref.accept(r);
            return new Comparison().sameBits("t", r, t.toHost());
        });
    }

    // ---- inputs -----------------------------------------------------------------------------

    /** Batch norm's inputs and outputs on the host, and their tensors in a fixed order (see {@link #upload}). */
    private static final class Bn {
        final Shape shape;
        final int ch, terms;
        final float[] x, gamma, beta, rm, rv, y, sm, si, dy, dx, dGamma, dBeta;

        Bn(Shape s) {
            shape = s;
            ch = s.dim(1);
            terms = s.intSize() / ch;
            x = uniform(26, s.intSize());
            for (int i = 0; i < x.length; i++) x[i] = 2.5f * x[i] + 0.5f;   // mean 0.5, not centred
            gamma = uniform(27, ch, 0.5f, 1.5f);
            beta = uniform(28, ch);
            rm = uniform(29, ch);
            rv = uniform(30, ch, 0.5f, 2f);
            y = new float[s.intSize()];
            sm = new float[ch];
            si = new float[ch];
            dy = uniform(31, s.intSize());
            dx = new float[s.intSize()];
            dGamma = uniform(32, ch);
            dBeta = uniform(33, ch);
        }

        /** x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd, dy, dx, dGamma, dBeta. */
        Tensor[] upload(Backend b) {
            Shape c = Shape.of(ch);
            return new Tensor[] {b.fromHost(x, shape), b.fromHost(gamma, c), b.fromHost(beta, c), b.fromHost(rm, c), b.fromHost(rv, c),
                    b.allocate(shape), b.allocate(c), b.allocate(c), b.fromHost(dy, shape), b.allocate(shape), b.fromHost(dGamma, c),
                    b.fromHost(dBeta, c)};
        }

        Comparison compareForward(Tensor[] t) {
            return new Comparison().close("saveMean", sm, t[6].toHost(), BN_STAT_ATOL, BN_STAT_RTOL)
                    .close("saveInvStd", si, t[7].toHost(), BN_STAT_ATOL, BN_STAT_RTOL)
                    .close("runningMean", rm, t[3].toHost(), BN_STAT_ATOL, BN_STAT_RTOL)
                    .close("runningVar", rv, t[4].toHost(), BN_STAT_ATOL, BN_STAT_RTOL)
                    .close("y", y, t[5].toHost(), BN_ATOL, BN_RTOL);
        }

        void compareBackward(Comparison c, Tensor[] t, boolean acc) {
            String a = acc ? " (+=)" : "";
            double sumAtol = Math.max(1e-5, SUM_ATOL_PER_TERM * terms);
            c.close("dx" + a, dx, t[9].toHost(), BN_ATOL, BN_RTOL)
                    .close("dGamma" + a, dGamma, t[10].toHost(), sumAtol, SUM_RTOL)
                    .close("dBeta" + a, dBeta, t[11].toHost(), sumAtol, SUM_RTOL);
        }
    }

    /** An optimizer's parameters, gradients and moments (m for Adam's first moment or SGD's velocity), on both sides. */
    private static final class Opt {
        final List<float[]> p = new ArrayList<>(), g = new ArrayList<>(), m = new ArrayList<>(), v = new ArrayList<>();
        final List<Tensor> tp = new ArrayList<>(), tg = new ArrayList<>(), tm = new ArrayList<>(), tv = new ArrayList<>();
        final boolean adam;

        Opt(Backend b, int[] sizes, boolean adam) {
            this.adam = adam;
            for (int i = 0; i < sizes.length; i++) {
                int n = sizes[i];
                Shape s = Shape.of(n);
                p.add(uniform(40 + i, n));
                g.add(scaled(uniform(50 + i, n), 0.5f));
                m.add(scaled(uniform(60 + i, n), 0.1f));
                v.add(uniform(70 + i, n, 0f, 0.01f));
                tp.add(b.fromHost(p.get(i), s));
                tg.add(b.fromHost(g.get(i), s));
                tm.add(b.fromHost(m.get(i), s));
                tv.add(b.fromHost(v.get(i), s));
            }
        }

        Comparison compare() {
            Comparison c = new Comparison();
            for (int i = 0; i < p.size(); i++) {
                c.close("param " + i, p.get(i), tp.get(i).toHost(), PARAM_ATOL, PARAM_RTOL);
                c.close((adam ? "m " : "velocity ") + i, m.get(i), tm.get(i).toHost(), M_ATOL, MOMENT_RTOL);
                if (adam) c.close("v " + i, v.get(i), tv.get(i).toHost(), V_ATOL, MOMENT_RTOL);
            }
            return c;
        }
    }

    static String sizesString(int[] sizes) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < sizes.length; i++) sb.append(i > 0 ? ", " : "").append(sizes[i]);
        return sb.append("]").toString();
    }

    /** n values uniform in [-1, 1), the same for every run (SplittableRandom of the seed). */
    static float[] uniform(long seed, int n) { return uniform(seed, n, -1f, 1f); }

    static float[] uniform(long seed, int n, float lo, float hi) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + n + runSeed() * 0xC2B2AE3D27D4EB4FL);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) (lo + (hi - lo) * r.nextDouble());
        return out;
    }

    /** The Philox seed and offset of the fill cases: SEED and OFFSET, moved by the run's seed. */
    private static long fillSeed() { return SEED ^ runSeed() * 0x9E3779B97F4A7C15L; }

    private static long fillOffset() { return OFFSET + runSeed(); }

    /** The bound seed of {@link Case#run(Backend, long)}, 0 outside one. */
    static long runSeed() {
        return RUN_SEED.isBound() ? RUN_SEED.get() : 0;
    }

    private static float[] scaled(float[] a, float k) {
        for (int i = 0; i < a.length; i++) a[i] *= k;
        return a;
    }

    /** [-1, 1) to [0, 1): per-element BCE targets. */
    private static float[] unit(float[] a) {
        for (int i = 0; i < a.length; i++) a[i] = (a[i] + 1f) / 2f;
        return a;
    }

    /** [-6, 6] with every eleventh value an exact zero (where the ReLUs' branches meet). */
    private static float[] activationInputs(int n) {
        float[] x = scaled(uniform(34, n), 6f);
        for (int i = 0; i < n; i += 11) x[i] = 0f;
        return x;
    }
}
