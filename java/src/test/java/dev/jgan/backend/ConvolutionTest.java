package dev.jgan.backend;

import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.check.ConvCases;
import dev.jgan.check.ConvCases.Conv;
import dev.jgan.testing.FiniteDifference;
import dev.jgan.check.Reference;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;

import static dev.jgan.testing.Approx.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * conv2dForward, conv2dBackwardData and conv2dBackwardFilter against the reference, and both
 * backwards against central finite differences of a double-precision forward, over odd sizes,
 * strides 1 to 3, paddings 0 to 2, kernels 1 to 5, non-square strides, paddings and kernels,
 * floors that drop rows, and dx larger than the minimum (a transposed convolution's output
 * padding); then the exact shapes of the dcgan-28 and dcgan-64 presets at batch 2 (the cases are
 * in {@link ConvCases}).
 */
public class ConvolutionTest {
    /**
     * Inputs are in [-1, 1], so every output is a sum of {@code terms} products of size ~1/3,
     * accumulated in float by the backend (in an order of its choosing) and in double by the
     * reference and the finite differences. The float sum makes ~sqrt(terms) significant roundings
     * of partial sums of size ~sqrt(terms) / 3, so its error grows like eps * terms: measured worst
     * over these cases 1.25 eps per term (dcgan-64 backward filter), typically 0.2 to 0.9.
     * ATOL_PER_TERM = 8 eps (2^-21) leaves six times that, yet a slip of one kernel tap, one row of
     * padding or one channel is off by ~0.3 in many elements (the tolerance is 4e-3 at the largest,
     * 8192 terms). RTOL: the final rounding of the value and of the (+=) add (1e-6 = 17 eps).
     */
    public static final double ATOL_PER_TERM = 0x1p-21, RTOL = 1e-6;
    /**
     * The loss L = sum wgt * conv(x, w) is linear in x and in w, so central differences have no
     * truncation error; the step only sets the double rounding, ~1e-16 |L| / H.
     */
    static final double H = 0.25;

    static Stream<Arguments> sweep() { return cases(ConvCases.SWEEP); }

    static Stream<Arguments> dcgan() { return cases(ConvCases.DCGAN); }

    static Stream<Arguments> wide() { return cases(ConvCases.WIDE); }

    static Stream<Arguments> cases(Conv[] convs) {
        return TestBackends.all().flatMap(be -> Stream.of(convs).map(cv -> Arguments.of(Named.of(be.name(), be), cv)));
    }

    static double atol(int terms) { return ATOL_PER_TERM * terms; }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("sweep")
    void sweepMatchesReference(Backend be, Conv cv) {
        matchesReference(be, cv);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("wide")
    void wideChannelsMatchReference(Backend be, Conv cv) {
        matchesReference(be, cv);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dcgan")
    void dcganShapesMatchReference(Backend be, Conv cv) {
        matchesReference(be, cv);
    }

    /** All three ops, the filter gradient written and accumulated; outputs start as garbage (NaN) where written. */
    static void matchesReference(Backend be, Conv cv) {
        Shape is = cv.image(), ws = cv.weights(), os = cv.output();
        float[] x = TestData.uniform(1, is.intSize(), -1f, 1f), w = TestData.uniform(2, ws.intSize(), -1f, 1f),
                dy = TestData.uniform(3, os.intSize(), -1f, 1f), old = TestData.uniform(4, ws.intSize(), -1f, 1f);
        Tensor tx = be.fromHost(x, is), tw = be.fromHost(w, ws), tdy = be.fromHost(dy, os);

        Tensor ty = be.allocate(os);
        be.fill(ty, Float.NaN);
        be.conv2dForward(tx, tw, ty, cv.g());
        float[] y = new float[os.intSize()];
        Reference.conv2dForward(x, is, w, ws, y, os, cv.g());
        assertClose("forward " + cv, y, ty.toHost(), atol(cv.forwardTerms()), RTOL);

        Tensor tdx = be.allocate(is);
        be.fill(tdx, Float.NaN);
        be.conv2dBackwardData(tdy, tw, tdx, cv.g());
        float[] dx = new float[is.intSize()];
        Reference.conv2dBackwardData(dy, os, w, ws, dx, is, cv.g());
        assertClose("backward data " + cv, dx, tdx.toHost(), atol(cv.dataTerms()), RTOL);

        Tensor tdw = be.allocate(ws);
        be.fill(tdw, Float.NaN);
        be.conv2dBackwardFilter(tx, tdy, tdw, cv.g(), false);
        float[] dw = new float[ws.intSize()];
        Reference.conv2dBackwardFilter(x, is, dy, os, dw, ws, cv.g(), false);
        assertClose("backward filter (=) " + cv, dw, tdw.toHost(), atol(cv.filterTerms()), RTOL);

        be.copyFromHost(old, tdw);
        be.conv2dBackwardFilter(tx, tdy, tdw, cv.g(), true);
        float[] acc = new float[dw.length]; // the reference's (+=) is old + the (=) sum, rounded once
        for (int i = 0; i < dw.length; i++) acc[i] = (float) (old[i] + (double) dw[i]);
        assertClose("backward filter (+=) " + cv, acc, tdw.toHost(), atol(cv.filterTerms()), RTOL);
    }

    /** dx and dw of L = sum wgt * conv(x, w) against central differences of L computed in double. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("sweep")
    void backwardsMatchFiniteDifferences(Backend be, Conv cv) {
        Shape is = cv.image(), ws = cv.weights(), os = cv.output();
        float[] x = TestData.uniform(5, is.intSize(), -1f, 1f), w = TestData.uniform(6, ws.intSize(), -1f, 1f),
                wgt = TestData.uniform(7, os.intSize(), -1f, 1f);
        Tensor tx = be.fromHost(x, is), tw = be.fromHost(w, ws), twgt = be.fromHost(wgt, os);
        Tensor tdx = be.allocate(is), tdw = be.allocate(ws);
        be.conv2dBackwardData(twgt, tw, tdx, cv.g());
        be.conv2dBackwardFilter(tx, twgt, tdw, cv.g(), false);

        double[] xd = toDouble(x), wd = toDouble(w);
        float[] fdx = new float[x.length], fdw = new float[w.length];
        for (int j = 0; j < x.length; j++) fdx[j] = (float) central(xd, j, () -> loss(cv, xd, wd, wgt));
        for (int j = 0; j < w.length; j++) fdw[j] = (float) central(wd, j, () -> loss(cv, xd, wd, wgt));
        assertClose("backward data vs finite differences " + cv, fdx, tdx.toHost(), atol(cv.dataTerms()), RTOL);
        assertClose("backward filter vs finite differences " + cv, fdw, tdw.toHost(), atol(cv.filterTerms()), RTOL);
    }

    /**
     * Output padding by hand: a 3x3 stride-2 transposed convolution from 3x4 to 7x9 (minimum) and
     * to 8x10 (output padding 1). With padding 0 the extra row and column meet no window, so they
     * get exactly 0 (over NaN garbage), and the rest equals the minimum-size result; with padding 1
     * (5x7 minimum, 6x8 padded) the extra row is one that kernel row 2 reaches, and gets the
     * reference's values.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void outputPaddingRowsGetTheirGradient(Backend be) {
        Shape dyShape = Shape.of(2, 4, 3, 4), ws = Shape.of(4, 3, 3, 3);
        float[] dy = TestData.uniform(8, dyShape.intSize(), -1f, 1f), w = TestData.uniform(9, ws.intSize(), -1f, 1f);
        Tensor tdy = be.fromHost(dy, dyShape), tw = be.fromHost(w, ws);

        ConvGeometry g0 = ConvGeometry.of(2, 0);
        assertEquals(7, ConvGeometry.transposedOutputSize(3, 3, 2, 0, 0));
        Shape small = Shape.of(2, 3, 7, 9), big = Shape.of(2, 3, 8, 10);
        Tensor tSmall = be.allocate(small), tBig = be.allocate(big);
        be.fill(tBig, Float.NaN);
        be.conv2dBackwardData(tdy, tw, tSmall, g0);
        be.conv2dBackwardData(tdy, tw, tBig, g0);
        float[] s = tSmall.toHost(), b = tBig.toHost(), minimumThenZeros = new float[big.intSize()];
        for (int i = 0; i < 2 * 3; i++)
            for (int h = 0; h < 7; h++)
                for (int x = 0; x < 9; x++) minimumThenZeros[(i * 8 + h) * 10 + x] = s[(i * 7 + h) * 9 + x];
        // the extra row and column are expected 0: exactly, since they are in no sum
        assertClose("output padding 1 with padding 0: the minimum result, then zeros", minimumThenZeros, b, atol(4 * 9), RTOL);
        for (int i = 0; i < 2 * 3; i++) {
            for (int x = 0; x < 10; x++) assertEquals(0f, b[(i * 8 + 7) * 10 + x], "row 7 of plane " + i);
            for (int h = 0; h < 8; h++) assertEquals(0f, b[(i * 8 + h) * 10 + 9], "column 9 of plane " + i);
        }

        ConvGeometry g1 = ConvGeometry.of(2, 1);
        Shape minimum = Shape.of(2, 3, ConvGeometry.transposedOutputSize(3, 3, 2, 1, 0), ConvGeometry.transposedOutputSize(4, 3, 2, 1, 0));
        Shape padded = Shape.of(2, 3, ConvGeometry.transposedOutputSize(3, 3, 2, 1, 1), ConvGeometry.transposedOutputSize(4, 3, 2, 1, 1));
        for (Shape dxShape : new Shape[] {minimum, padded}) {
            Tensor tdx = be.allocate(dxShape);
            be.fill(tdx, Float.NaN);
            be.conv2dBackwardData(tdy, tw, tdx, g1);
            float[] expected = new float[dxShape.intSize()];
            Reference.conv2dBackwardData(dy, dyShape, w, ws, expected, dxShape, g1);
            assertClose("transposed conv into " + dxShape, expected, tdx.toHost(), atol(4 * 9), RTOL);
            if (dxShape == padded) {
                float lastRow = 0;
                for (int x = 0; x < dxShape.dim(3); x++) lastRow += Math.abs(expected[(dxShape.dim(2) - 1) * dxShape.dim(3) + x]);
                assertTrue(lastRow > 0, "with padding 1 the output-padding row is reached by the kernel");
            }
        }
    }

    /** Calling again reuses cached work: the same inputs give the same bits, with new data in between. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void repeatedCallsWithNewDataAreConsistent(Backend be) {
        Conv cv = ConvCases.SWEEP[1];
        Shape is = cv.image(), ws = cv.weights(), os = cv.output();
        Tensor x1 = be.fromHost(TestData.uniform(11, is.intSize(), -1f, 1f), is), x2 = be.fromHost(TestData.uniform(12, is.intSize(), -1f, 1f), is);
        Tensor w = be.fromHost(TestData.uniform(13, ws.intSize(), -1f, 1f), ws);
        Tensor y1 = be.allocate(os), y2 = be.allocate(os), again = be.allocate(os);
        be.conv2dForward(x1, w, y1, cv.g());
        be.conv2dForward(x2, w, y2, cv.g());
        be.conv2dForward(x1, w, again, cv.g());
        assertTrue(Arrays.equals(y1.toHost(), again.toHost()), "same inputs, same output");
        assertTrue(!Arrays.equals(y1.toHost(), y2.toHost()), "new data is read, not the first call's");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void rejectsInconsistentShapes(Backend be) {
        ConvGeometry g = ConvGeometry.of(2, 1);
        Tensor x = be.allocate(Shape.of(2, 3, 7, 9)), w = be.allocate(Shape.of(5, 3, 3, 3)), y = be.allocate(Shape.of(2, 5, 4, 5));
        be.conv2dForward(x, w, y, g); // consistent

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.conv2dForward(x, w, be.allocate(Shape.of(2, 5, 4, 4)), g));
        assertTrue(e.getMessage().startsWith("conv2dForward: y (2, 5, 4, 4) must be (2, 5, 4, 5)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.conv2dForward(x, be.allocate(Shape.of(5, 2, 3, 3)), y, g));
        assertTrue(e.getMessage().contains("C = 3"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> be.conv2dForward(x, w, be.allocate(Shape.of(2, 4, 4, 5)), g));
        assertThrows(IllegalArgumentException.class, () -> be.conv2dForward(x, w, be.allocate(Shape.of(1, 5, 4, 5)), g));
        assertThrows(IllegalArgumentException.class, () -> be.conv2dForward(x.view(Shape.of(6, 7, 9)), w, y, g));
        e = assertThrows(IllegalArgumentException.class,
                () -> be.conv2dForward(x, be.allocate(Shape.of(5, 3, 12, 3)), y, g));
        assertTrue(e.getMessage().startsWith("conv2dForward: kernel 12 larger than padded input 9"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> be.conv2dForward(x, w, y, null));

        // dx may exceed the minimum 7x9 by up to stride - 1: 8x10 works, 9 rows give P = 5
        be.conv2dBackwardData(y, w, be.allocate(Shape.of(2, 3, 8, 10)), g);
        e = assertThrows(IllegalArgumentException.class, () -> be.conv2dBackwardData(y, w, be.allocate(Shape.of(2, 3, 9, 9)), g));
        assertTrue(e.getMessage().startsWith("conv2dBackwardData: dy (2, 5, 4, 5) must be (2, 5, 5, 5)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.conv2dBackwardFilter(x, y, be.allocate(Shape.of(5, 3, 3, 1)), g, false));
        assertTrue(e.getMessage().startsWith("conv2dBackwardFilter: dy (2, 5, 4, 5) must be (2, 5, 4, 6)"), e.getMessage());

        // outputs must not share memory with inputs
        Tensor square = be.allocate(Shape.of(1, 1, 3, 3));
        e = assertThrows(IllegalArgumentException.class,
                () -> be.conv2dForward(square, be.allocate(Shape.of(1, 1, 1, 1)), square, ConvGeometry.of(1, 0)));
        assertTrue(e.getMessage().contains("must not share memory"), e.getMessage());
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    static double central(double[] v, int j, DoubleSupplier loss) {
        return FiniteDifference.central(v, j, H, loss);
    }

    /** L = sum_{n,k,p,q} wgt * (x (*) w)[n,k,p,q], all in double (the forward written out again, not the reference's float one). */
    static double loss(Conv cv, double[] x, double[] w, float[] wgt) {
        ConvGeometry g = cv.g();
        int p = g.outH(cv.h(), cv.r()), q = g.outW(cv.w(), cv.s());
        double total = 0;
        for (int i = 0; i < cv.n(); i++)
            for (int o = 0; o < cv.k(); o++)
                for (int pp = 0; pp < p; pp++)
                    for (int qq = 0; qq < q; qq++) {
                        double sum = 0;
                        for (int c = 0; c < cv.c(); c++)
                            for (int r = 0; r < cv.r(); r++)
                                for (int s = 0; s < cv.s(); s++) {
                                    int hh = pp * g.strideH() - g.padH() + r, ww = qq * g.strideW() - g.padW() + s;
                                    if (hh >= 0 && hh < cv.h() && ww >= 0 && ww < cv.w())
                                        sum += x[((i * cv.c() + c) * cv.h() + hh) * cv.w() + ww] * w[((o * cv.c() + c) * cv.r() + r) * cv.s() + s];
                                }
                        total += wgt[((i * cv.k() + o) * p + pp) * q + qq] * sum;
                    }
        return total;
    }
}
