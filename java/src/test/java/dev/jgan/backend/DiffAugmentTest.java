package dev.jgan.backend;

import dev.jgan.check.OpSuite;
import dev.jgan.check.Reference;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static dev.jgan.testing.Approx.assertClose;
import static dev.jgan.testing.Approx.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * DiffAugment's transforms (Zhao et al. 2020): translation, cutout and colour by hand, the
 * backwards as exact adjoints (translation, cutout) and against central differences (colour),
 * the same random numbers and results on every backend, in place where the contract allows.
 */
class DiffAugmentTest {
    /** By-hand colour values are sums and quotients of a few floats, most exact in binary: a few ulps of values below 1. */
    private static final double BY_HAND_ATOL = 1e-7;
    /** <A x, v> and <x, A^T v> sum the same products in another order, in double: ~1e-16 of the terms; 1e-12 catches any moved pixel. */
    private static final double ADJOINT_RTOL = 1e-12;
    /**
     * Colour is affine, so central differences are exact but for the float rounding of y (~2.4e-7
     * per element of size <= 3, ~2e-6 over the loss's 72 terms) over a step 2h = 0.5: ~1e-5;
     * a lost mean term moves the gradient by ~0.1.
     */
    private static final double FD_ATOL = 5e-5, FD_RTOL = 1e-5;

    private static final Shape PINNED = Shape.of(2, 1, 4, 4);
    /** x[n, 0, i, j] = 4 i + j + 1 for both images. */
    private static final float[] COUNTING = counting();

    private static float[] counting() {
        float[] x = new float[32];
        for (int i = 0; i < 32; i++) x[i] = i % 16 + 1;
        return x;
    }

    private static float[] run(Backend be, DiffAugment kind, boolean backward, float[] x, Shape s, float[] params) {
        Tensor tx = be.fromHost(x, s), tp = be.fromHost(params, Shape.of(s.dim(0), kind.params())), ty = be.allocate(s);
        if (backward) be.diffAugmentBackward(kind, tx, tp, ty);
        else be.diffAugment(kind, tx, tp, ty);
        return ty.toHost();
    }

    /**
     * 4x4 images: the largest shift is int(4 / 8 + 0.5) = 1, so r = 0.9, 0, 0.5 give +1, -1, 0
     * (floor(3 r) - 1). Image 0 reads x[i + 1, j - 1]; image 1 is not moved. The backward moves back.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void translationByHand(Backend be) {
        float[] params = {0.9f, 0f, 0.5f, 0.5f};
        float[] y = {0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 0, 0, 0,
                1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        float[] dx = {0, 0, 0, 0, 2, 3, 4, 0, 6, 7, 8, 0, 10, 11, 12, 0,
                1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        assertArrayEquals(y, run(be, DiffAugment.TRANSLATION, false, COUNTING, PINNED, params), "y = x[i + 1, j - 1], 0 outside");
        assertArrayEquals(dx, run(be, DiffAugment.TRANSLATION, true, COUNTING, PINNED, params), "dx = dy[i - 1, j + 1], 0 outside");
    }

    /**
     * 4x4: the square is 2x2, its first row floor(5 r) - 1: image 0 (r = 0.5, 0) cuts rows 1-2 of
     * column 0 (the square clipped at the left border), image 1 (r = 0.99, 0.7) row 3, columns 2-3.
     * 5x5: a 3x3 square, first row floor(5 r) - 1 (odd size: centres in [0, 5)); r = 0, 0.99 cuts
     * rows 0-1, columns 3-4. The backward is the same mask.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void cutoutByHand(Backend be) {
        float[] params = {0.5f, 0f, 0.99f, 0.7f};
        float[] y = COUNTING.clone();
        y[4] = y[8] = 0;
        y[16 + 14] = y[16 + 15] = 0;
        assertArrayEquals(y, run(be, DiffAugment.CUTOUT, false, COUNTING, PINNED, params), "4x4 cutout");
        assertArrayEquals(y, run(be, DiffAugment.CUTOUT, true, COUNTING, PINNED, params), "4x4 cutout's backward");
        float[] x5 = new float[25], y5 = new float[25];
        for (int i = 0; i < 25; i++) x5[i] = y5[i] = i + 1;
        for (int i : new int[] {3, 4, 8, 9}) y5[i] = 0;
        assertArrayEquals(y5, run(be, DiffAugment.CUTOUT, false, x5, Shape.of(1, 1, 5, 5), new float[] {0f, 0.99f}), "5x5 cutout");
    }

    /**
     * One 2-pixel RGB image, pixels (1, 0, -1) and (0.5, 0.5, 0.5), r = (0.75, 0.25, 0): brightness
     * +0.25, saturation 0.5 around each pixel's mean (0.25, 0.75), contrast 0.5 around the mean 0.5.
     * The backward of dy = 1 at channel 0, pixel 0: the contrast spreads 1/12 of it to every value,
     * the saturation averages each pixel's channels by half.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void colourByHand(Backend be) {
        Shape s = Shape.of(1, 3, 1, 2);
        float[] x = {1f, 0.5f, 0f, 0.5f, -1f, 0.5f}, params = {0.75f, 0.25f, 0f};
        assertClose("colour y", new float[] {0.625f, 0.625f, 0.375f, 0.625f, 0.125f, 0.625f},
                run(be, DiffAugment.COLOR, false, x, s, params), BY_HAND_ATOL, 0);
        float[] dx = {5f / 12, 1f / 12, 1f / 6, 1f / 12, 1f / 6, 1f / 12};
        assertClose("colour dx", dx, run(be, DiffAugment.COLOR, true, new float[] {1, 0, 0, 0, 0, 0}, s, params), BY_HAND_ATOL, 0);
    }

    /** Translation and cutout are linear and their backward is the transpose: <A x, v> = <x, A^T v>, over random shifts and squares. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void translationAndCutoutBackwardsAreAdjoints(Backend be) {
        Shape s = Shape.of(5, 2, 7, 9);
        float[] x = TestData.uniform(1, s.intSize(), -1f, 1f), v = TestData.uniform(2, s.intSize(), -1f, 1f);
        for (DiffAugment kind : List.of(DiffAugment.TRANSLATION, DiffAugment.CUTOUT)) {
            float[] params = TestData.uniform(3, 5 * kind.params(), 0f, 1f);
            float[] ax = run(be, kind, false, x, s, params), atv = run(be, kind, true, v, s, params);
            double left = 0, right = 0, scale = 0;
            for (int i = 0; i < x.length; i++) {
                left += (double) ax[i] * v[i];
                right += (double) x[i] * atv[i];
                scale += Math.abs((double) x[i] * v[i]);
            }
            assertEquals(left, right, ADJOINT_RTOL * scale, kind.flag() + ": <A x, v> = <x, A^T v>");
            assertFalse(java.util.Arrays.equals(ax, x), kind.flag() + " moved something: the check can fail");
        }
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }

    /** Colour's dx against central differences of L(x) = sum w y(x), through the backend's own forward. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void colourBackwardMatchesFiniteDifferences(Backend be) {
        Shape s = Shape.of(2, 3, 3, 4);
        float h = 0.25f;
        float[] x = TestData.uniform(4, s.intSize(), -1f, 1f), w = TestData.uniform(5, s.intSize(), -1f, 1f);
        float[] params = {0.2f, 0.9f, 0.1f, 0.8f, 0.3f, 0.95f};
        float[] analytic = run(be, DiffAugment.COLOR, true, w, s, params), numeric = new float[x.length];
        for (int j = 0; j < x.length; j++) {
            float[] plus = x.clone(), minus = x.clone();
            plus[j] += h;
            minus[j] -= h;
            double step = (double) plus[j] - minus[j];   // the step as float made it
            numeric[j] = (float) ((dot(run(be, DiffAugment.COLOR, false, plus, s, params), w)
                    - dot(run(be, DiffAugment.COLOR, false, minus, s, params), w)) / step);
        }
        assertClose("colour dx vs central differences", numeric, analytic, FD_ATOL, FD_RTOL);
    }

    /**
     * The params as the trainer draws them (fillUniform from 1 to 0: r in [0, 1)) are the same bits
     * on every other backend as on the CPU, and so are translation and cutout of the same images;
     * colour agrees within the op suite's tolerance (its mean is a double sum in another order).
     */
    @Test
    void everyBackendDrawsTheSameParamsAndAugmentsAlike() {
        Backend cpu = TestBackends.cpu();
        List<Backend> others = TestBackends.all().filter(b -> b != cpu).toList();
        if (others.isEmpty()) abort("no backend beside the CPU here to compare with it: " + TestBackends.absent().toList());
        Shape s = Shape.of(6, 3, 12, 10);
        float[] x = TestData.uniform(6, s.intSize(), -1f, 1f);
        for (DiffAugment kind : DiffAugment.values()) {
            Shape ps = Shape.of(6, kind.params());
            Tensor cp = cpu.allocate(ps);
            cpu.fillUniform(cp, 1f, 0f, 42, 1000);
            float[] params = cp.toHost(), want = run(cpu, kind, false, x, s, params);
            for (float r : params) assertTrue(r >= 0f && r < 1f, "r = " + r + " outside [0, 1)");
            for (Backend be : others) {
                Tensor tp = be.allocate(ps);
                be.fillUniform(tp, 1f, 0f, 42, 1000);
                assertSameBits(kind.flag() + " params on " + be.name(), params, tp.toHost());
                Tensor ty = be.allocate(s);
                be.diffAugment(kind, be.fromHost(x, s), tp, ty);
                if (kind == DiffAugment.COLOR)
                    assertClose("colour on " + be.name(), want, ty.toHost(), OpSuite.AUGMENT_COLOR_ATOL, OpSuite.AUGMENT_COLOR_RTOL);
                else assertSameBits(kind.flag() + " on " + be.name(), want, ty.toHost());
            }
        }
    }

    /** Colour and cutout (forward and backward) may write over their input, with the same bits as out of place. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void colourAndCutoutInPlace(Backend be) {
        Shape s = Shape.of(3, 3, 9, 7);
        float[] x = TestData.uniform(7, s.intSize(), -1f, 1f);
        for (DiffAugment kind : List.of(DiffAugment.COLOR, DiffAugment.CUTOUT))
            for (boolean backward : new boolean[] {false, true}) {
                float[] params = TestData.uniform(8, 3 * kind.params(), 0f, 1f);
                Tensor t = be.fromHost(x, s), tp = be.fromHost(params, Shape.of(3, kind.params()));
                if (backward) be.diffAugmentBackward(kind, t, tp, t);
                else be.diffAugment(kind, t, tp, t);
                assertSameBits(kind.flag() + (backward ? " backward" : "") + " in place", run(be, kind, backward, x, s, params), t.toHost());
            }
    }

    /** The reference agrees with the pins too, so the op suite's comparisons stand on hand-checked ground. */
    @Test
    void referenceMatchesThePins() {
        float[] y = new float[32];
        Reference.diffAugment(DiffAugment.TRANSLATION, COUNTING, PINNED, new float[] {0.9f, 0f, 0.5f, 0.5f}, y);
        assertEquals(List.of(0f, 5f, 6f, 7f), List.of(y[0], y[1], y[2], y[3]));
        float[] c = new float[6];
        Reference.diffAugment(DiffAugment.COLOR, new float[] {1f, 0.5f, 0f, 0.5f, -1f, 0.5f}, Shape.of(1, 3, 1, 2),
                new float[] {0.75f, 0.25f, 0f}, c);
        assertArrayEquals(new float[] {0.625f, 0.625f, 0.375f, 0.625f, 0.125f, 0.625f}, c);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void rejectsBadArguments(Backend be) {
        Shape s = Shape.of(2, 3, 4, 4);
        Tensor x = be.allocate(s), y = be.allocate(s), p2 = be.allocate(Shape.of(2, 2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.diffAugment(DiffAugment.COLOR, x, p2, y));
        assertEquals("diffAugment: params (2, 2) must be (2, 3) for color", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.diffAugment(DiffAugment.TRANSLATION, x, p2, x));
        assertTrue(e.getMessage().startsWith("diffAugment: y (2, 3, 4, 4) must not share memory"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.diffAugmentBackward(DiffAugment.CUTOUT, be.allocate(Shape.of(2, 48)), p2,
                be.allocate(Shape.of(2, 48))));
        assertEquals("diffAugmentBackward: dy (2, 48) must be (N, C, H, W)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> be.diffAugment(DiffAugment.CUTOUT, x, p2, be.allocate(Shape.of(2, 3, 4, 5))));
        assertThrows(IllegalArgumentException.class, () -> be.diffAugment(null, x, p2, y));
    }
}
