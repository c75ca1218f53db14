package dev.jgan.backend;

import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.check.Reference;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static dev.jgan.testing.Approx.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused batch norm + ReLU/LeakyReLU op against the reference (batch norm, then the
 * activation), over every backend present, both layouts ((N, C) and (N, C, H, W)) and slopes
 * 0 (ReLU) and 0.2; and bit for bit against the unfused ops of the same backend where those are
 * what the backend runs.
 */
class BatchNormLeakyReluTest {
    /** As BatchNormTest: outputs of order 1 from a handful of float operations on inputs of order 1-10. */
    static final double Y_ATOL = 1e-5, Y_RTOL = 1e-5;
    /** Statistics: both sides accumulate in double and round once. */
    static final double STAT_ATOL = 1e-6, STAT_RTOL = 1e-6;
    /** Per-channel gradient sums over M terms of order 1, both in double. */
    static final double SUM_ATOL = 1e-5, SUM_RTOL = 1e-6;
    static final float MOMENTUM = 0.1f, EPS = 1e-2f;
    static final float[] SLOPES = {0f, 0.2f};

    /** The (N, C) tile and per-channel kernels, M = 1, and channel counts off the block and vector widths. */
    static final int[][] SHAPES = {{1, 13}, {64, 1024}, {7, 207}, {13, 3}, {4, 3, 5, 7}, {2, 13, 8, 8}, {3, 2, 1, 65}};

    static Stream<Arguments> cases() {
        return TestBackends.all().flatMap(be -> Stream.of(SHAPES).flatMap(d -> {
            Stream.Builder<Arguments> b = Stream.builder();
            for (float slope : SLOPES) b.add(Arguments.of(Named.of(be.name(), be), Shape.of(d), slope));
            return b.build();
        }));
    }

    @ParameterizedTest(name = "{0} {1} slope {2}")
    @MethodSource("cases")
    void trainAndBackwardMatchReference(Backend be, Shape shape, float slope) {
        int n = shape.intSize(), c = shape.dim(1);
        Shape cs = Shape.of(c);
        float[] x = BatchNormTest.input(n, shape), dy = TestData.uniform(n + 1, n, -1f, 1f);
        float[] gamma = TestData.uniform(c, c, 0.5f, 1.5f), beta = TestData.uniform(c + 1, c, -1f, 1f);
        float[] rm = TestData.uniform(c + 2, c, -1f, 1f), rv = TestData.uniform(c + 3, c, 0.5f, 2f);
        float[] y = new float[n], sm = new float[c], si = new float[c];

        Tensor tx = be.fromHost(x, shape), tg = be.fromHost(gamma, cs), tb = be.fromHost(beta, cs);
        Tensor trm = be.fromHost(rm, cs), trv = be.fromHost(rv, cs);
        Tensor ty = be.allocate(shape), tsm = be.allocate(cs), tsi = be.allocate(cs);
        be.batchNormLeakyReluTrain(tx, tg, tb, trm, trv, MOMENTUM, EPS, slope, ty, tsm, tsi);
        Reference.batchNormLeakyReluTrain(x, shape, gamma, beta, rm, rv, MOMENTUM, EPS, slope, y, sm, si);
        assertClose("saveMean", sm, tsm.toHost(), STAT_ATOL, STAT_RTOL);
        assertClose("saveInvStd", si, tsi.toHost(), STAT_ATOL, STAT_RTOL);
        assertClose("runningMean", rm, trm.toHost(), STAT_ATOL, STAT_RTOL);
        assertClose("runningVar", rv, trv.toHost(), STAT_ATOL, STAT_RTOL);
        float[] by = ty.toHost();
        assertClose("y", y, by, Y_ATOL, Y_RTOL);
        for (float v : by) assertTrue(v >= 0 || slope > 0, "ReLU output " + v + " is negative");

        // backward from the backend's own forward (y and statistics): an element whose z rounds to
        // the other side of 0 in the reference must not flip the mask between the two sides
        float[] bsm = tsm.toHost(), bsi = tsi.toHost();
        float[] dx = new float[n], dGamma = TestData.uniform(5, c, -1f, 1f), dBeta = TestData.uniform(6, c, -1f, 1f);
        Tensor tdy = be.fromHost(dy, shape), tdx = be.allocate(shape);
        Tensor tdg = be.fromHost(dGamma, cs), tdb = be.fromHost(dBeta, cs);
        Reference.batchNormLeakyReluBackward(x, shape, by, dy, gamma, beta, slope, bsm, bsi, dx, dGamma, dBeta, false);
        be.batchNormLeakyReluBackward(tx, ty, tdy, tg, tb, slope, tsm, tsi, tdx, tdg, tdb, false);
        assertClose("dx", dx, tdx.toHost(), Y_ATOL, Y_RTOL);
        assertClose("dGamma (=)", dGamma, tdg.toHost(), SUM_ATOL, SUM_RTOL);
        assertClose("dBeta (=)", dBeta, tdb.toHost(), SUM_ATOL, SUM_RTOL);

        Reference.batchNormLeakyReluBackward(x, shape, by, dy, gamma, beta, slope, bsm, bsi, dx, dGamma, dBeta, true);
        be.batchNormLeakyReluBackward(tx, ty, tdy, tg, tb, slope, tsm, tsi, tdy, tdg, tdb, true); // dx aliases dy
        assertClose("dx (in place)", dx, tdy.toHost(), Y_ATOL, Y_RTOL);
        assertClose("dGamma (+=)", dGamma, tdg.toHost(), SUM_ATOL, SUM_RTOL);
        assertClose("dBeta (+=)", dBeta, tdb.toHost(), SUM_ATOL, SUM_RTOL);
    }

    /** y may alias x, as for batchNormTrain. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void forwardInPlace(Backend be) {
        Shape shape = Shape.of(5, 6, 3, 3), cs = Shape.of(6);
        float[] x = BatchNormTest.input(3, shape), gamma = TestData.uniform(1, 6, 0.5f, 1.5f), beta = TestData.uniform(2, 6, -1f, 1f);
        Tensor ty = be.allocate(shape), tx = be.fromHost(x, shape);
        be.batchNormLeakyReluTrain(be.fromHost(x, shape), be.fromHost(gamma, cs), be.fromHost(beta, cs), be.allocate(cs),
                be.allocate(cs), MOMENTUM, EPS, 0.2f, ty, be.allocate(cs), be.allocate(cs));
        be.batchNormLeakyReluTrain(tx, be.fromHost(gamma, cs), be.fromHost(beta, cs), be.allocate(cs), be.allocate(cs),
                MOMENTUM, EPS, 0.2f, tx, be.allocate(cs), be.allocate(cs));
        assertArrayEquals(ty.toHost(), tx.toHost());
    }

    /** The CPU runs the unfused passes, so the fused op must give their bits (the model's losses stay the same). */
    @Test
    void cpuMatchesTheUnfusedOpsBitForBit() {
        Backend be = TestBackends.cpu();
        Shape shape = Shape.of(8, 5, 4, 4), cs = Shape.of(5);
        int n = shape.intSize();
        float[] x = BatchNormTest.input(11, shape), dy = TestData.uniform(12, n, -1f, 1f);
        Tensor tx = be.fromHost(x, shape), tg = be.fromHost(TestData.uniform(13, 5, 0.5f, 1.5f), cs),
                tb = be.fromHost(TestData.uniform(14, 5, -1f, 1f), cs), tdy = be.fromHost(dy, shape);
        for (float slope : SLOPES) {
            Tensor y1 = be.allocate(shape), y2 = be.allocate(shape), sm = be.allocate(cs), si = be.allocate(cs);
            be.batchNormTrain(tx, tg, tb, be.allocate(cs), be.allocate(cs), MOMENTUM, EPS, y1, sm, si);
            if (slope == 0) be.relu(y1, y1);
            else be.leakyRelu(y1, y1, slope);
            be.batchNormLeakyReluTrain(tx, tg, tb, be.allocate(cs), be.allocate(cs), MOMENTUM, EPS, slope, y2, sm, si);
            assertArrayEquals(y1.toHost(), y2.toHost(), "y, slope " + slope);

            Tensor dz = be.allocate(shape), dx1 = be.allocate(shape), dx2 = be.allocate(shape);
            Tensor dg1 = be.allocate(cs), db1 = be.allocate(cs), dg2 = be.allocate(cs), db2 = be.allocate(cs);
            if (slope == 0) be.reluBackward(y1, tdy, dz);
            else be.leakyReluBackward(y1, tdy, dz, slope);
            be.batchNormBackward(tx, dz, tg, sm, si, dx1, dg1, db1, false);
            be.batchNormLeakyReluBackward(tx, y2, tdy, tg, tb, slope, sm, si, dx2, dg2, db2, false);
            assertArrayEquals(dx1.toHost(), dx2.toHost(), "dx, slope " + slope);
            assertArrayEquals(dg1.toHost(), dg2.toHost(), "dGamma, slope " + slope);
            assertArrayEquals(db1.toHost(), db2.toHost(), "dBeta, slope " + slope);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void rejectsBadArguments(Backend be) {
        Shape shape = Shape.of(4, 3, 2, 2);
        Tensor x = be.allocate(shape), y = be.allocate(shape), c3 = be.allocate(Shape.of(3)), c4 = be.allocate(Shape.of(4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.batchNormLeakyReluTrain(x, c3, c3, c3, c3, 0.1f, 1e-5f, -0.1f, y, c3, c3));
        assertTrue(e.getMessage().equals("batchNormLeakyReluTrain: LeakyReLU slope must be >= 0, got -0.1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> be.batchNormLeakyReluTrain(x, c3, c3, c3, c4, 0.1f, 1e-5f, 0.2f, y, c3, c3));
        assertTrue(e.getMessage().contains("batchNormLeakyReluTrain") && e.getMessage().contains("runningVar"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> be.batchNormLeakyReluBackward(x, y, y, c3, c4, 0.2f, c3, c3, y, c3, c3, false));
        assertTrue(e.getMessage().contains("batchNormLeakyReluBackward") && e.getMessage().contains("beta"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> be.batchNormLeakyReluBackward(x, be.allocate(Shape.of(5)), y, c3, c3, 0.2f, c3, c3, y, c3, c3, false));
        assertTrue(e.getMessage().contains("batchNormLeakyReluBackward") && e.getMessage().contains("y"), e.getMessage());
    }
}
