package dev.jgan.backend;

import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.FiniteDifference;
import dev.jgan.check.Reference;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static dev.jgan.testing.Approx.assertClose;
import static dev.jgan.testing.Approx.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The ops of the evaluation classifier and of generator EMA: softmax, softmax cross-entropy, 2x2
 * max pooling (forward and backward) and the EMA update, against the reference, pinned values
 * and central finite differences.
 */
class EvalOpsTest {
    /** Softmax probabilities: float exp of values of order 1-30, a row sum in double: a few ulp. */
    static final double PROB_ATOL = 1e-7, PROB_RTOL = 1e-6;
    /** Mean loss: per-row log-sum-exp in double on both sides, rounded once. */
    static final double LOSS_ATOL = 1e-6, LOSS_RTOL = 1e-6;
    /** Central-difference step on a double loss, and the agreement with the float gradient (a few ulp of 1/N). */
    static final double H = 1e-3, FD_ATOL = 1e-6, FD_RTOL = 1e-4;

    static Stream<Arguments> rowCases() {
        List<Arguments> out = new ArrayList<>();
        TestBackends.all().forEach(b -> {
            for (int[] nk : new int[][] {{1, 1}, {1, 10}, {13, 10}, {64, 10}, {207, 3}, {5, 702}})
                out.add(Arguments.of(Named.of(b.name(), b), nk[0], nk[1]));
        });
        return out.stream();
    }

    @ParameterizedTest(name = "{0} n={1} k={2}")
    @MethodSource("rowCases")
    void softmaxAndCrossEntropyMatchReference(Backend be, int n, int k) {
        float[] logits = TestData.uniform(n * 31L + k, n * k, -12f, 12f), labels = labels(n, k, 5);
        float[] y = new float[n * k];
        Reference.softmax(logits, n, k, y);
        Tensor tl = be.fromHost(logits, Shape.of(n, k)), ty = be.allocate(Shape.of(n, k));
        be.softmax(tl, ty);
        assertClose("softmax", y, ty.toHost(), PROB_ATOL, PROB_RTOL);

        float[] d = new float[n * k], stats = new float[4];
        Reference.softmaxCrossEntropy(logits, n, k, labels, 2f, d, stats, 2);
        Tensor td = be.allocate(Shape.of(n, k)), ts = be.allocate(Shape.of(4));
        be.softmaxCrossEntropy(tl, be.fromHost(labels, Shape.of(n)), 2f, td, ts, 2);
        float[] got = ts.toHost();
        assertClose("dLogits", d, td.toHost(), PROB_ATOL * 2 / n, PROB_RTOL);
        assertClose("mean loss", stats[2], got[2], LOSS_ATOL, LOSS_RTOL);
        assertEquals(stats[3], got[3], "accuracy: the fraction of rows whose first maximum is the label");
        assertEquals(0f, got[0], "slots before `slot` are untouched");
    }

    /** Logits of +-1e4: loss exactly 0 or 2e4, probabilities exactly 0 and 1, no NaN. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void extremeLogits(Backend be) {
        float[] logits = {1e4f, -1e4f, -1e4f, 1e4f};   // two rows of two classes
        Tensor tl = be.fromHost(logits, Shape.of(2, 2)), td = be.allocate(Shape.of(2, 2)), ts = be.allocate(Shape.of(2));
        be.softmaxCrossEntropy(tl, be.fromHost(new float[] {0f, 0f}, Shape.of(2)), 1f, td, ts, 0);
        float[] s = ts.toHost(), d = td.toHost();
        assertEquals(1e4f, s[0], "mean of 0 (right) and 2e4 (wrong)");
        assertEquals(0.5f, s[1], "one of two rows right");
        assertSameBits("dLogits: (p - onehot) / 2", new float[] {0f, 0f, -0.5f, 0.5f}, d);
        Tensor ty = be.allocate(Shape.of(2, 2));
        be.softmax(tl, ty);
        assertSameBits("softmax", new float[] {1f, 0f, 0f, 1f}, ty.toHost());
    }

    /** Uniform logits: loss ln K, probabilities 1/K; the gradient of the label's logit (1/K - 1)/N. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void uniformLogitsPinned(Backend be) {
        int n = 3, k = 10;
        Tensor tl = be.fromHost(new float[n * k], Shape.of(n, k)), td = be.allocate(Shape.of(n, k)), ts = be.allocate(Shape.of(2));
        be.softmaxCrossEntropy(tl, be.fromHost(new float[] {0f, 4f, 9f}, Shape.of(n)), 1f, td, ts, 0);
        assertEquals((float) Math.log(10), ts.toHost()[0], Math.ulp(2.3f), "ln 10");
        assertEquals(1f / 3, ts.toHost()[1], 1e-7, "ties: the first maximum, class 0, is the label of row 0 only");
        float[] d = td.toHost();
        assertEquals((0.1f - 1f) / 3, d[4 + k], 1e-7, "row 1, its label 4");
        assertEquals(0.1f / 3, d[0 + k], 1e-7, "row 1, class 0");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void crossEntropyGradientIsTheDerivative(Backend be) {
        int n = 6, k = 7;
        float[] logits = TestData.uniform(8, n * k, -3f, 3f), labels = labels(n, k, 9);
        Tensor td = be.allocate(Shape.of(n, k)), ts = be.allocate(Shape.of(2));
        be.softmaxCrossEntropy(be.fromHost(logits, Shape.of(n, k)), be.fromHost(labels, Shape.of(n)), 1f, td, ts, 0);
        float[] d = td.toHost();
        double[] v = new double[n * k];
        for (int i = 0; i < v.length; i++) v[i] = logits[i];
        for (int j = 0; j < v.length; j++) {
            double fd = FiniteDifference.central(v, j, H, () -> meanCrossEntropy(v, n, k, labels));
            assertClose("dLogits[" + j + "] vs finite differences", (float) fd, d[j], FD_ATOL, FD_RTOL);
        }
    }

    static Stream<Arguments> poolCases() {
        List<Arguments> out = new ArrayList<>();
        TestBackends.all().forEach(b -> {
            for (Shape s : new Shape[] {Shape.of(1, 1, 2, 2), Shape.of(2, 3, 5, 7), Shape.of(4, 16, 28, 28), Shape.of(3, 13, 14, 14)})
                out.add(Arguments.of(Named.of(b.name(), b), s));
        });
        return out.stream();
    }

    /** Max pooling is exact: forward and backward equal the reference bit for bit, ties included. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("poolCases")
    void maxPoolMatchesReference(Backend be, Shape xs) {
        int n = xs.intSize();
        float[] x = TestData.uniform(n, n, -2f, 2f);
        for (int i = 0; i < n; i += 7) x[i] = 0.5f;   // ties within windows: the first position wins
        Shape ys = Shape.of(xs.dim(0), xs.dim(1), xs.dim(2) / 2, xs.dim(3) / 2);
        float[] y = new float[ys.intSize()], dy = TestData.uniform(n + 1, ys.intSize(), -1f, 1f), dx = new float[n];
        Reference.maxPool2x2Forward(x, xs, y);
        Reference.maxPool2x2Backward(x, xs, y, dy, dx);
        Tensor tx = be.fromHost(x, xs), ty = be.allocate(ys), tdx = be.fromHost(TestData.uniform(3, n, 5f, 6f), xs);
        be.maxPool2x2Forward(tx, ty);
        assertSameBits("y", y, ty.toHost());
        be.maxPool2x2Backward(tx, ty, be.fromHost(dy, ys), tdx);
        assertSameBits("dx (written, odd rows and columns zeroed)", dx, tdx.toHost());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void maxPoolBackwardIsTheDerivative(Backend be) {
        Shape xs = Shape.of(2, 2, 4, 6), ys = Shape.of(2, 2, 2, 3);
        // distinct values at least 0.01 apart, so a step of H never changes a window's maximum
        int n = xs.intSize();
        float[] x = new float[n], w = TestData.uniform(12, ys.intSize(), -1f, 1f);
        for (int i = 0; i < n; i++) x[i] = ((i * 37) % n) * 0.01f;
        Tensor tx = be.fromHost(x, xs), ty = be.allocate(ys), tdx = be.allocate(xs);
        be.maxPool2x2Forward(tx, ty);
        be.maxPool2x2Backward(tx, ty, be.fromHost(w, ys), tdx);
        float[] dx = tdx.toHost();
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = x[i];
        for (int j = 0; j < n; j++) {
            double fd = FiniteDifference.central(v, j, H, () -> {
                double l = 0;
                for (int pl = 0; pl < 4; pl++)
                    for (int i = 0; i < 2; i++)
                        for (int q = 0; q < 3; q++) {
                            double m = Double.NEGATIVE_INFINITY;
                            for (int r = 0; r < 2; r++)
                                for (int s = 0; s < 2; s++) m = Math.max(m, v[(pl * 4 + 2 * i + r) * 6 + 2 * q + s]);
                            l += w[(pl * 2 + i) * 3 + q] * m;
                        }
                return l;
            });
            assertClose("dx[" + j + "] vs finite differences", (float) fd, dx[j], FD_ATOL, FD_RTOL);
        }
    }

    static Stream<Arguments> sizes() { return TestBackends.withAwkwardSizes(); }

    /** EMA is two float products and a sum: the reference's bits exactly, for any size (vector body and tail). */
    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("sizes")
    void emaMatchesReferenceBitForBit(Backend be, int n) {
        float[] avg = TestData.uniform(n, n, -1f, 1f), x = TestData.uniform(n + 1, n, -1f, 1f);
        Tensor ta = be.fromHost(avg, Shape.of(n)), tx = be.fromHost(x, Shape.of(n));
        for (float decay : new float[] {0.999f, 0.5f, 0f, 1f}) {
            Reference.ema(avg, x, decay);
            be.ema(ta, tx, decay);
            assertSameBits("decay " + decay, avg, ta.toHost());
        }
    }

    /** By hand: 0.9 * 1 + 0.1 * 3 = 1.2, then 0.9 * 1.2 + 0.1 * 3 = 1.38 (to float rounding); decay 1 keeps, 0 copies. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void emaByHand(Backend be) {
        Tensor a = be.fromHost(new float[] {1f, -2f}, Shape.of(2)), x = be.fromHost(new float[] {3f, 4f}, Shape.of(2));
        be.ema(a, x, 0.9f);
        assertClose("one step", new float[] {1.2f, -1.4f}, a.toHost(), 1e-6, 1e-6);
        be.ema(a, x, 0.9f);
        assertClose("two steps", new float[] {1.38f, -0.86f}, a.toHost(), 1e-6, 1e-6);
        be.ema(a, x, 1f);
        assertClose("decay 1 keeps the average", new float[] {1.38f, -0.86f}, a.toHost(), 1e-6, 1e-6);
        be.ema(a, x, 0f);
        assertSameBits("decay 0 copies x", new float[] {3f, 4f}, a.toHost());
        assertThrows(IllegalArgumentException.class, () -> be.ema(a, x, 1.5f));
        assertThrows(IllegalArgumentException.class, () -> be.ema(a, be.allocate(Shape.of(3)), 0.5f));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void badArgumentsAreRejected(Backend be) {
        Tensor l = be.allocate(Shape.of(2, 3)), d = be.allocate(Shape.of(2, 3)), s = be.allocate(Shape.of(2));
        assertThrows(IllegalArgumentException.class,
                () -> be.softmaxCrossEntropy(l, be.fromHost(new float[] {0f, 3f}, Shape.of(2)), 1f, d, s, 0), "label 3 of 3 classes");
        assertThrows(IllegalArgumentException.class,
                () -> be.softmaxCrossEntropy(l, be.fromHost(new float[] {0f, 1.5f}, Shape.of(2)), 1f, d, s, 0), "label 1.5");
        assertThrows(IllegalArgumentException.class,
                () -> be.softmaxCrossEntropy(l, be.allocate(Shape.of(2)), 1f, d, s, 1), "stats too short for slot 1");
        assertThrows(IllegalArgumentException.class,
                () -> be.maxPool2x2Forward(be.allocate(Shape.of(1, 1, 4, 4)), be.allocate(Shape.of(1, 1, 3, 2))));
        assertThrows(IllegalArgumentException.class,
                () -> be.maxPool2x2Forward(be.allocate(Shape.of(1, 1, 1, 4)), be.allocate(Shape.of(1, 1, 1, 2))));
    }

    private static float[] labels(int n, int k, long seed) {
        float[] l = new float[n];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) l[i] = r.nextInt(k);
        return l;
    }

    private static double meanCrossEntropy(double[] v, int n, int k, float[] labels) {
        double total = 0;
        for (int r = 0; r < n; r++) {
            double m = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < k; j++) m = Math.max(m, v[r * k + j]);
            for (int j = 0; j < k; j++) sum += Math.exp(v[r * k + j] - m);
            total += m + Math.log(sum) - v[r * k + (int) labels[r]];
        }
        return total / n;
    }
}
