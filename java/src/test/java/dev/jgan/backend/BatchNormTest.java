package dev.jgan.backend;

import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.check.Reference;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.stream.Stream;

import static dev.jgan.testing.Approx.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Batch norm training/inference forward and backward against the reference, the running statistics, and cancellation. */
class BatchNormTest {
    /** Outputs of order 1 from a handful of float operations on inputs of order 1-10. */
    static final double Y_ATOL = 1e-5, Y_RTOL = 1e-5;
    /** Statistics: both sides accumulate in double and round once. */
    static final double STAT_ATOL = 1e-6, STAT_RTOL = 1e-6;
    /** Per-channel gradient sums over M terms of order 1, both in double. */
    static final double SUM_ATOL = 1e-5, SUM_RTOL = 1e-6;
    static final float MOMENTUM = 0.1f;
    /** Large enough, against channel variances of 0.25 to 20, that leaving eps out shows. */
    static final float EPS = 1e-2f;

    /** (N, C) and (N, C, H, W), including M = N * S = 1 and channel counts off the vector widths. */
    static final int[][] SHAPES = {
            {1, 13}, {2, 1}, {64, 1024}, {7, 207}, {3, 702}, {13, 3}, {64, 17},
            {4, 3, 5, 7}, {2, 13, 8, 8}, {1, 5, 1, 1}, {3, 2, 1, 65}};

    static Stream<Arguments> cases() {
        return TestBackends.all().flatMap(be -> Stream.of(SHAPES).map(d -> Arguments.of(Named.of(be.name(), be), Shape.of(d))));
    }

    /** Inputs with a different mean and spread per channel. */
    static float[] input(long seed, Shape shape) {
        int n = shape.dim(0), c = shape.dim(1), s = shape.spatial();
        float[] x = TestData.normal(seed, shape.intSize(), 0, 1);
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
                for (int j = 0; j < s; j++) {
                    int at = (i * c + ch) * s + j;
                    x[at] = x[at] * (0.5f + ch % 5) + (ch % 7) - 3f;
                }
        return x;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void trainInferBackwardMatchReference(Backend be, Shape shape) {
        int n = shape.intSize(), c = shape.dim(1);
        Shape cs = Shape.of(c);
        float[] x = input(n, shape), dy = TestData.uniform(n + 1, n, -1f, 1f);
        float[] gamma = TestData.uniform(c, c, 0.5f, 1.5f), beta = TestData.uniform(c + 1, c, -1f, 1f);
        float[] rm = TestData.uniform(c + 2, c, -1f, 1f), rv = TestData.uniform(c + 3, c, 0.5f, 2f);
        float[] y = new float[n], sm = new float[c], si = new float[c];

        Tensor tx = be.fromHost(x, shape), tg = be.fromHost(gamma, cs), tb = be.fromHost(beta, cs);
        Tensor trm = be.fromHost(rm, cs), trv = be.fromHost(rv, cs);
        Tensor ty = be.allocate(shape), tsm = be.allocate(cs), tsi = be.allocate(cs);
        be.batchNormTrain(tx, tg, tb, trm, trv, MOMENTUM, EPS, ty, tsm, tsi);
        Reference.batchNormTrain(x, shape, gamma, beta, rm, rv, MOMENTUM, EPS, y, sm, si);
        assertClose("saveMean", sm, tsm.toHost(), STAT_ATOL, STAT_RTOL);
        assertClose("saveInvStd", si, tsi.toHost(), STAT_ATOL, STAT_RTOL);
        assertClose("runningMean", rm, trm.toHost(), STAT_ATOL, STAT_RTOL);
        assertClose("runningVar", rv, trv.toHost(), STAT_ATOL, STAT_RTOL);
        assertClose("y (train)", y, ty.toHost(), Y_ATOL, Y_RTOL);

        float[] yi = new float[n];
        Reference.batchNormInfer(x, shape, gamma, beta, rm, rv, EPS, yi);
        be.batchNormInfer(tx, tg, tb, trm, trv, EPS, ty);
        assertClose("y (infer)", yi, ty.toHost(), Y_ATOL, Y_RTOL);

        // backward from the reference's saved statistics, so both sides see the same inputs
        be.copyFromHost(sm, tsm);
        be.copyFromHost(si, tsi);
        float[] dx = new float[n], dGamma = TestData.uniform(5, c, -1f, 1f), dBeta = TestData.uniform(6, c, -1f, 1f);
        Tensor tdy = be.fromHost(dy, shape), tdx = be.allocate(shape);
        Tensor tdg = be.fromHost(dGamma, cs), tdb = be.fromHost(dBeta, cs);
        Reference.batchNormBackward(x, shape, dy, gamma, sm, si, dx, dGamma, dBeta, false);
        be.batchNormBackward(tx, tdy, tg, tsm, tsi, tdx, tdg, tdb, false);
        assertClose("dx", dx, tdx.toHost(), Y_ATOL, Y_RTOL);
        assertClose("dGamma (=)", dGamma, tdg.toHost(), SUM_ATOL, SUM_RTOL);
        assertClose("dBeta (=)", dBeta, tdb.toHost(), SUM_ATOL, SUM_RTOL);

        Reference.batchNormBackward(x, shape, dy, gamma, sm, si, dx, dGamma, dBeta, true);
        be.batchNormBackward(tx, tdy, tg, tsm, tsi, tdy, tdg, tdb, true); // dx aliases dy
        assertClose("dx (in place)", dx, tdy.toHost(), Y_ATOL, Y_RTOL);
        assertClose("dGamma (+=)", dGamma, tdg.toHost(), SUM_ATOL, SUM_RTOL);
        assertClose("dBeta (+=)", dBeta, tdb.toHost(), SUM_ATOL, SUM_RTOL);
    }

    /** One channel [1, 2, 3, 4]: mean 2.5, biased var 1.25, unbiased 5/3. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void runningStatisticsUseUnbiasedVariance(Backend be) {
        for (Shape shape : new Shape[] {Shape.of(4, 1), Shape.of(1, 1, 2, 2)}) {
            Shape one = Shape.of(1);
            Tensor x = be.fromHost(new float[] {1, 2, 3, 4}, shape), y = be.allocate(shape);
            Tensor rm = be.fromHost(new float[] {0f}, one), rv = be.fromHost(new float[] {1f}, one);
            Tensor sm = be.allocate(one), si = be.allocate(one);
            be.batchNormTrain(x, be.fromHost(new float[] {2f}, one), be.fromHost(new float[] {0.5f}, one),
                    rm, rv, 0.1f, 0f, y, sm, si);
            assertClose("running mean " + shape, 0.25f, rm.toHost()[0], 0, 1e-7);        // 0.9 * 0 + 0.1 * 2.5
            assertClose("running var " + shape, 1.0666667f, rv.toHost()[0], 0, 2e-7);    // 0.9 * 1 + 0.1 * 5/3
            assertClose("saveMean " + shape, 2.5f, sm.toHost()[0], 0, 0);
            assertClose("saveInvStd " + shape, (float) (1 / Math.sqrt(1.25)), si.toHost()[0], 0, 2e-7);
            float k = (float) (2 / Math.sqrt(1.25));
            assertClose("y " + shape, new float[] {-1.5f * k + 0.5f, -0.5f * k + 0.5f, 0.5f * k + 0.5f, 1.5f * k + 0.5f},
                    y.toHost(), 1e-6, 1e-6);
        }
    }

    /** M = 1: the batch variance is 0, y = beta, and the running variance is left alone. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void singleValueChannelsDoNotUpdateRunningVariance(Backend be) {
        int c = 21;
        Shape shape = Shape.of(1, c), cs = Shape.of(c);
        float[] x = TestData.uniform(1, c, -5f, 5f), beta = TestData.uniform(2, c, -1f, 1f), rv = TestData.uniform(3, c, 1f, 2f);
        Tensor y = be.allocate(shape), rm = be.allocate(cs), trv = be.fromHost(rv, cs);
        be.batchNormTrain(be.fromHost(x, shape), be.fromHost(TestData.uniform(4, c, 1f, 2f), cs), be.fromHost(beta, cs),
                rm, trv, 0.3f, 1e-3f, y, be.allocate(cs), be.allocate(cs));
        assertClose("y = beta", beta, y.toHost(), 1e-6, 0);
        assertClose("running var unchanged", rv, trv.toHost(), 0, 0);
        float[] expectedMean = new float[c];
        for (int i = 0; i < c; i++) expectedMean[i] = 0.3f * x[i];
        assertClose("running mean updated", expectedMean, rm.toHost(), 1e-6, 1e-6);
    }

    static Stream<Arguments> cancellationShapes() {
        // 10^6 values per channel along one run (S > 1), and 62500 rows of 16 channels (S = 1)
        return TestBackends.all().flatMap(be -> Stream.of(
                Arguments.of(Named.of(be.name(), be), Shape.of(1, 1, 1000, 1000)),
                Arguments.of(Named.of(be.name(), be), Shape.of(62500, 16))));
    }

    /**
     * Mean 1e4, std 1: E[x^2] - E[x]^2 in float would lose every digit; the variance must come
     * out to 1e-3 relative. y is off by at most |mean - float(mean)| * invStd <= 4.9e-4 (half an
     * ulp of 1e4), because saveMean is a float.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cancellationShapes")
    void largeMeanSmallSpread(Backend be, Shape shape) {
        final double varRtol = 1e-3, yAtol = 1e-3;
        int n = shape.intSize(), c = shape.dim(1);
        Shape cs = Shape.of(c);
        float[] x = TestData.normal(99, n, 1e4, 1), ones = new float[c];
        Arrays.fill(ones, 1f);
        float[] y = new float[n], sm = new float[c], si = new float[c], rm = new float[c], rv = ones.clone();
        Reference.batchNormTrain(x, shape, ones, new float[c], rm, rv, 1f, 0f, y, sm, si);

        Tensor tx = be.fromHost(x, shape), ty = be.allocate(shape), tsm = be.allocate(cs), tsi = be.allocate(cs);
        Tensor trm = be.allocate(cs), trv = be.fromHost(ones, cs);
        be.batchNormTrain(tx, be.fromHost(ones, cs), be.allocate(cs), trm, trv, 1f, 0f, ty, tsm, tsi);
        float[] invStd = tsi.toHost();
        for (int ch = 0; ch < c; ch++) {
            double var = 1.0 / ((double) invStd[ch] * invStd[ch]);
            double expected = 1.0 / ((double) si[ch] * si[ch]);
            assertEquals(expected, var, varRtol * expected, "batch variance of channel " + ch);
            assertTrue(Math.abs(expected - 1) < 0.05, "the data's own variance is ~1: " + expected);
        }
        assertClose("running var (momentum 1: the unbiased batch variance)", rv, trv.toHost(), 0, varRtol);
        assertClose("saveMean", sm, tsm.toHost(), 0, STAT_RTOL);
        assertClose("y", y, ty.toHost(), yAtol, 0);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void rejectsWrongChannelCounts(Backend be) {
        Shape shape = Shape.of(4, 3, 2, 2);
        Tensor x = be.allocate(shape), y = be.allocate(shape), c3 = be.allocate(Shape.of(3)), c4 = be.allocate(Shape.of(4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.batchNormTrain(x, c3, c3, c3, c4, 0.1f, 1e-5f, y, c3, c3));
        assertTrue(e.getMessage().contains("batchNormTrain") && e.getMessage().contains("runningVar"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> be.batchNormInfer(x, c3, c3, c3, c3, 1e-5f, c4));
        assertThrows(IllegalArgumentException.class, () -> be.batchNormBackward(x, y, c3, c3, c3, y, c4, c3, false));
    }
}
