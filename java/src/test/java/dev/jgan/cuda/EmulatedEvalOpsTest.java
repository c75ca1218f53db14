package dev.jgan.cuda;

import dev.jgan.backend.Backend;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.check.Reference;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.IntStream;
import java.util.stream.Stream;

import static dev.jgan.testing.Approx.assertClose;
import static dev.jgan.testing.Approx.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The evaluation classifier's kernels (softmax, softmax cross-entropy, 2x2 max pooling) and the
 * EMA kernel through Kernels and the emulation, against the reference and the CPU backend.
 */
class EmulatedEvalOpsTest {
    /** Probabilities and gradients: expf within a few ulp, row sums in double. */
    static final double PROB_ATOL = 1e-7, PROB_RTOL = 1e-5;
    /** Mean loss: log-sum-exp in double of expf terms. */
    static final double LOSS_ATOL = 1e-6, LOSS_RTOL = 1e-5;

    static Stream<int[]> rows() {
        return Stream.of(new int[] {1, 1}, new int[] {1, 10}, new int[] {13, 10}, new int[] {257, 10}, new int[] {702, 3},
                new int[] {5, 1024});
    }

    @ParameterizedTest(name = "n, k = {0}")
    @MethodSource("rows")
    void softmaxAndCrossEntropy(int[] nk) {
        int n = nk[0], k = nk[1];
        Kernels ks = Emulation.kernels();
        float[] logits = TestData.uniform(n + k, n * k, -15f, 15f), labels = new float[n];
        for (int i = 0; i < n; i++) labels[i] = (i * 7) % k;
        float[] y = new float[n * k], d = new float[n * k], stats = new float[4];
        Reference.softmax(logits, n, k, y);
        Reference.softmaxCrossEntropy(logits, n, k, labels, 3f, d, stats, 2);

        Emulation.Buffer bl = Emulation.Buffer.of(logits), bb = Emulation.Buffer.of(labels), by = new Emulation.Buffer(n * k),
                bd = new Emulation.Buffer(n * k), bs = new Emulation.Buffer(4);
        ks.softmax(bl.address(), by.address(), n, k);
        assertClose("softmax", y, by.get(), PROB_ATOL, PROB_RTOL);
        ks.softmaxCrossEntropy(bl.address(), bb.address(), 3f, bd.address(), bs.address(), 2, n, k);
        float[] got = bs.get();
        assertClose("dLogits", d, bd.get(), PROB_ATOL * 3 / n, PROB_RTOL);
        assertClose("mean loss", stats[2], got[2], LOSS_ATOL, LOSS_RTOL);
        assertEquals(stats[3], got[3], "accuracy");
        assertEquals(0f, got[1], "slots before `slot` are untouched");

        Backend cpu = TestBackends.cpu();
        Tensor td = cpu.allocate(Shape.of(n, k)), ts = cpu.allocate(Shape.of(4));
        cpu.softmaxCrossEntropy(cpu.fromHost(logits, Shape.of(n, k)), cpu.fromHost(labels, Shape.of(n)), 3f, td, ts, 2);
        assertClose("dLogits vs cpu", td.toHost(), bd.get(), PROB_ATOL * 3 / n, PROB_RTOL);
        assertClose("mean loss vs cpu", ts.toHost()[2], got[2], LOSS_ATOL, LOSS_RTOL);
    }

    /** Logits of +-1e4: exactly 0 or 2e4 per row, gradients exactly (p - onehot) / n. */
    @Test
    void extremeLogits() {
        Kernels ks = Emulation.kernels();
        Emulation.Buffer bl = Emulation.Buffer.of(new float[] {1e4f, -1e4f, -1e4f, 1e4f}), bb = Emulation.Buffer.of(new float[2]),
                bd = new Emulation.Buffer(4), bs = new Emulation.Buffer(2);
        ks.softmaxCrossEntropy(bl.address(), bb.address(), 1f, bd.address(), bs.address(), 0, 2, 2);
        assertSameBits("stats", new float[] {1e4f, 0.5f}, bs.get());
        assertSameBits("dLogits", new float[] {0f, 0f, -0.5f, 0.5f}, bd.get());
    }

    static Stream<int[]> pools() {
        return Stream.of(new int[] {1, 2, 2}, new int[] {6, 5, 7}, new int[] {64 * 16, 28, 28}, new int[] {39, 14, 14},
                new int[] {2, 3, 1025});
    }

    /** Pooling is exact: the reference's bits, ties (first position wins) and odd edges included. */
    @ParameterizedTest(name = "planes, h, w = {0}")
    @MethodSource("pools")
    void maxPool(int[] phw) {
        int planes = phw[0], h = phw[1], w = phw[2], n = planes * h * w, m = planes * (h / 2) * (w / 2);
        Shape xs = Shape.of(1, planes, h, w);
        float[] x = TestData.uniform(n, n, -3f, 3f), dy = TestData.uniform(n + 1, m, -1f, 1f), y = new float[m], dx = new float[n];
        for (int i = 0; i < n; i += 5) x[i] = 1f;   // ties
        Reference.maxPool2x2Forward(x, xs, y);
        Reference.maxPool2x2Backward(x, xs, y, dy, dx);
        Kernels ks = Emulation.kernels();
        Emulation.Buffer bx = Emulation.Buffer.of(x), by = new Emulation.Buffer(m), bdy = Emulation.Buffer.of(dy),
                bdx = Emulation.Buffer.of(TestData.uniform(2, n, 7f, 8f));
        ks.maxPool2x2Forward(bx.address(), by.address(), planes, h, w);
        assertSameBits("y", y, by.get());
        ks.maxPool2x2Backward(bx.address(), by.address(), bdy.address(), bdx.address(), planes, h, w);
        assertSameBits("dx", dx, bdx.get());
    }

    static IntStream sizes() { return IntStream.of(TestData.AWKWARD_SIZES); }

    /** EMA: the reference's and the CPU backend's bits (no FMA anywhere). */
    @ParameterizedTest(name = "n={0}")
    @MethodSource("sizes")
    void ema(int n) {
        float[] avg = TestData.uniform(n, n, -1f, 1f), x = TestData.uniform(n + 1, n, -1f, 1f);
        Backend cpu = TestBackends.cpu();
        Tensor ta = cpu.fromHost(avg, Shape.of(n)), tx = cpu.fromHost(x, Shape.of(n));
        Emulation.Buffer ba = Emulation.Buffer.of(avg), bx = Emulation.Buffer.of(x);
        for (float decay : new float[] {0.999f, 0.9f, 0f}) {
            Reference.ema(avg, x, decay);
            Emulation.kernels().ema(ba.address(), bx.address(), n, decay);
            cpu.ema(ta, tx, decay);
            assertSameBits("decay " + decay + " vs reference", avg, ba.get());
            assertSameBits("decay " + decay + " vs cpu", ta.toHost(), ba.get());
        }
    }
}
