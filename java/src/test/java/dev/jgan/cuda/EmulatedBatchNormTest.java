package dev.jgan.cuda;

import dev.jgan.backend.Backend;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.check.Reference;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.stream.Stream;

import static dev.jgan.testing.Approx.assertClose;

/**
 * Batch norm kernels through Kernels and the emulation: training forward, inference, backward,
 * plain and fused with ReLU and LeakyReLU, for (N, C) tiles and per-channel blocks, against the
 * reference and the CPU backend; and statistics that a one-pass float variance would lose.
 */
class EmulatedBatchNormTest {
    /** Outputs of order 1 from a handful of float operations on inputs of order 1-10. */
    static final double Y_ATOL = 1e-5, Y_RTOL = 1e-5;
    /** Statistics: kernels and reference accumulate in double and round once. */
    static final double STAT_ATOL = 1e-6, STAT_RTOL = 1e-6;
    /** Per-channel gradient sums over up to 65537 terms of order 1, both in double; dx from float operations on them. */
    static final double SUM_ATOL = 1e-4, SUM_RTOL = 1e-5;
    static final float MOMENTUM = 0.1f, EPS = 1e-2f, SLOPE = 0.2f;

    /** (N, C) tiles with C up to 1024 and off the tile width, M = 1; (N, C, H, W) per-channel blocks, S up to 65537. */
    static Stream<Shape> shapes() {
        return Stream.of(Shape.of(1, 13), Shape.of(2, 1), Shape.of(64, 1024), Shape.of(7, 207), Shape.of(3, 702),
                Shape.of(13, 3), Shape.of(4, 3, 5, 7), Shape.of(2, 13, 8, 8), Shape.of(1, 5, 1, 1), Shape.of(3, 2, 1, 65),
                Shape.of(2, 1024, 2, 2), Shape.of(1, 2, 65537));
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

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void trainInferBackwardMatchReferenceAndCpu(Shape shape) {
        Kernels k = Emulation.kernels();
        Backend cpu = TestBackends.cpu();
        int size = shape.intSize(), n = shape.dim(0), c = shape.dim(1), s = shape.spatial();
        Shape cs = Shape.of(c);
        float[] x = input(size, shape), dy = TestData.uniform(size + 1, size, -1f, 1f);
        float[] gamma = TestData.uniform(c, c, 0.5f, 1.5f), beta = TestData.uniform(c + 1, c, -1f, 1f);
        float[] rm = TestData.uniform(c + 2, c, -1f, 1f), rv = TestData.uniform(c + 3, c, 0.5f, 2f);
        Emulation.Buffer bx = Emulation.Buffer.of(x), bg = Emulation.Buffer.of(gamma), bb = Emulation.Buffer.of(beta);
        Emulation.Buffer brm = Emulation.Buffer.of(rm), brv = Emulation.Buffer.of(rv), by = new Emulation.Buffer(size);
        Emulation.Buffer bsm = new Emulation.Buffer(c), bsi = new Emulation.Buffer(c);

        k.batchNormForward(bx.address(), bg.address(), bb.address(), brm.address(), brv.address(), MOMENTUM, EPS,
                by.address(), bsm.address(), bsi.address(), n, c, s);
        float[] y = new float[size], sm = new float[c], si = new float[c], rmRef = rm.clone(), rvRef = rv.clone();
        Reference.batchNormTrain(x, shape, gamma, beta, rmRef, rvRef, MOMENTUM, EPS, y, sm, si);
        assertClose("saveMean", sm, bsm.get(), STAT_ATOL, STAT_RTOL);
        assertClose("saveInvStd", si, bsi.get(), STAT_ATOL, STAT_RTOL);
        assertClose("runningMean", rmRef, brm.get(), STAT_ATOL, STAT_RTOL);
        assertClose("runningVar", rvRef, brv.get(), STAT_ATOL, STAT_RTOL);
        assertClose("y (train)", y, by.get(), Y_ATOL, Y_RTOL);

        Tensor tx = cpu.fromHost(x, shape), tg = cpu.fromHost(gamma, cs), tb = cpu.fromHost(beta, cs);
        Tensor trm = cpu.fromHost(rm, cs), trv = cpu.fromHost(rv, cs), ty = cpu.allocate(shape);
        Tensor tsm = cpu.allocate(cs), tsi = cpu.allocate(cs);
        cpu.batchNormTrain(tx, tg, tb, trm, trv, MOMENTUM, EPS, ty, tsm, tsi);
        assertClose("y (train) vs cpu", ty.toHost(), by.get(), Y_ATOL, Y_RTOL);
        assertClose("runningVar vs cpu", trv.toHost(), brv.get(), STAT_ATOL, STAT_RTOL);

        float[] yi = new float[size];
        Reference.batchNormInfer(x, shape, gamma, beta, rmRef, rvRef, EPS, yi);
        k.batchNormInfer(bx.address(), bg.address(), bb.address(), brm.address(), brv.address(), EPS, by.address(), n, c, s);
        assertClose("y (infer)", yi, by.get(), Y_ATOL, Y_RTOL);
        cpu.batchNormInfer(tx, tg, tb, trm, trv, EPS, ty);
        assertClose("y (infer) vs cpu", ty.toHost(), by.get(), Y_ATOL, Y_RTOL);

        // backward from the kernel's saved statistics, so both sides see the same inputs
        float[] savedMean = bsm.get(), savedInvStd = bsi.get();
        Emulation.Buffer bdy = Emulation.Buffer.of(dy), bdx = new Emulation.Buffer(size);
        Emulation.Buffer bdg = Emulation.Buffer.of(TestData.uniform(9, c, -1f, 1f)), bdb = Emulation.Buffer.of(TestData.uniform(10, c, -1f, 1f));
        k.batchNormBackward(bx.address(), bdy.address(), bg.address(), bsm.address(), bsi.address(), bdx.address(),
                bdg.address(), bdb.address(), false, n, c, s);
        float[] dx = new float[size], dGamma = new float[c], dBeta = new float[c];
        Reference.batchNormBackward(x, shape, dy, gamma, savedMean, savedInvStd, dx, dGamma, dBeta, false);
        assertClose("dx", dx, bdx.get(), SUM_ATOL, SUM_RTOL);
        assertClose("dGamma", dGamma, bdg.get(), SUM_ATOL, SUM_RTOL);
        assertClose("dBeta", dBeta, bdb.get(), SUM_ATOL, SUM_RTOL);

        float[] accGamma = bdg.get(), accBeta = bdb.get();
        k.batchNormBackward(bx.address(), bdy.address(), bg.address(), bsm.address(), bsi.address(), bdx.address(),
                bdg.address(), bdb.address(), true, n, c, s);
        Reference.batchNormBackward(x, shape, dy, gamma, savedMean, savedInvStd, dx, accGamma, accBeta, true);
        assertClose("dGamma (+=)", accGamma, bdg.get(), SUM_ATOL, SUM_RTOL);
        assertClose("dBeta (+=)", accBeta, bdb.get(), SUM_ATOL, SUM_RTOL);

        Tensor tdy = cpu.fromHost(dy, shape), tdx = cpu.allocate(shape), tdg = cpu.allocate(cs), tdb = cpu.allocate(cs);
        cpu.batchNormBackward(tx, tdy, tg, cpu.fromHost(savedMean, cs), cpu.fromHost(savedInvStd, cs), tdx, tdg, tdb, false);
        assertClose("dx vs cpu", tdx.toHost(), bdx.get(), SUM_ATOL, SUM_RTOL);
    }

    /** Fused BN + ReLU and BN + LeakyReLU against the reference's BN followed by the activation. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void fusedMatchesBatchNormThenActivation(Shape shape) {
        Kernels k = Emulation.kernels();
        int size = shape.intSize(), n = shape.dim(0), c = shape.dim(1), s = shape.spatial();
        float[] x = input(size + 5, shape), dy = TestData.uniform(size + 6, size, -1f, 1f);
        float[] gamma = TestData.uniform(c, c, 0.5f, 1.5f), beta = TestData.uniform(c + 1, c, -1f, 1f);
        for (boolean leaky : new boolean[] {false, true}) {
            String what = leaky ? "BN + LeakyReLU" : "BN + ReLU";
            float[] rm = new float[c], rv = new float[c], z = new float[size], sm = new float[c], si = new float[c];
            Arrays.fill(rv, 1f);
            Emulation.Buffer bx = Emulation.Buffer.of(x), bg = Emulation.Buffer.of(gamma), bb = Emulation.Buffer.of(beta);
            Emulation.Buffer brm = Emulation.Buffer.of(rm), brv = Emulation.Buffer.of(rv), by = new Emulation.Buffer(size);
            Emulation.Buffer bsm = new Emulation.Buffer(c), bsi = new Emulation.Buffer(c);
            if (leaky)
                k.batchNormLeakyReluForward(bx.address(), bg.address(), bb.address(), brm.address(), brv.address(), MOMENTUM, EPS,
                        SLOPE, by.address(), bsm.address(), bsi.address(), n, c, s);
            else
                k.batchNormReluForward(bx.address(), bg.address(), bb.address(), brm.address(), brv.address(), MOMENTUM, EPS,
                        by.address(), bsm.address(), bsi.address(), n, c, s);
            Reference.batchNormTrain(x, shape, gamma, beta, rm, rv, MOMENTUM, EPS, z, sm, si);
            float[] y = new float[size];
            if (leaky) Reference.leakyRelu(z, y, SLOPE);
            else Reference.relu(z, y);
            assertClose(what + " y", y, by.get(), Y_ATOL, Y_RTOL);
            assertClose(what + " runningVar", rv, brv.get(), STAT_ATOL, STAT_RTOL);

            // backward: the activation's mask from the kernel's own output, then the BN backward of dz
            float[] yKernel = by.get(), dz = new float[size];
            if (leaky) Reference.leakyReluBackward(yKernel, dy, dz, SLOPE);
            else Reference.reluBackward(yKernel, dy, dz);
            float[] dx = new float[size], dGamma = new float[c], dBeta = new float[c];
            Reference.batchNormBackward(x, shape, dz, gamma, bsm.get(), bsi.get(), dx, dGamma, dBeta, false);
            Emulation.Buffer bdy = Emulation.Buffer.of(dy), bdx = new Emulation.Buffer(size), bdg = new Emulation.Buffer(c),
                    bdb = new Emulation.Buffer(c);
            if (leaky)
                k.batchNormLeakyReluBackward(bx.address(), bdy.address(), bg.address(), bb.address(), SLOPE, bsm.address(),
                        bsi.address(), bdx.address(), bdg.address(), bdb.address(), false, n, c, s);
            else
                k.batchNormReluBackward(bx.address(), bdy.address(), bg.address(), bb.address(), bsm.address(), bsi.address(),
                        bdx.address(), bdg.address(), bdb.address(), false, n, c, s);
            assertClose(what + " dx", dx, bdx.get(), SUM_ATOL, SUM_RTOL);
            assertClose(what + " dGamma", dGamma, bdg.get(), SUM_ATOL, SUM_RTOL);
            assertClose(what + " dBeta", dBeta, bdb.get(), SUM_ATOL, SUM_RTOL);
        }
    }

    /**
     * 10^6 values of mean 1e4 and std 1 in one channel: E[x^2] - E[x]^2 in float would cancel to
     * noise; the two passes in double keep the variance to float precision. Both layouts.
     */
    @ParameterizedTest(name = "(N, C) tile: {0}")
    @ValueSource(booleans = {true, false})
    void statisticsSurviveCancellation(boolean tile) {
        Kernels k = Emulation.kernels();
        Shape shape = tile ? Shape.of(1_000_000, 1) : Shape.of(1000, 1, 1000);
        int size = shape.intSize(), n = shape.dim(0), s = shape.spatial();
        float[] x = TestData.normal(11, size, 1e4, 1.0);
        float[] rm = {0f}, rv = {1f}, y = new float[size], sm = new float[1], si = new float[1];
        float[] gamma = {1f}, beta = {0f};
        Emulation.Buffer bx = Emulation.Buffer.of(x), by = new Emulation.Buffer(size), brm = Emulation.Buffer.of(rm),
                brv = Emulation.Buffer.of(rv), bsm = new Emulation.Buffer(1), bsi = new Emulation.Buffer(1);
        k.batchNormForward(bx.address(), Emulation.Buffer.of(gamma).address(), Emulation.Buffer.of(beta).address(),
                brm.address(), brv.address(), 1f, 1e-5f, by.address(), bsm.address(), bsi.address(), n, 1, s);
        Reference.batchNormTrain(x, shape, gamma, beta, rm, rv, 1f, 1e-5f, y, sm, si);
        assertClose("mean", sm[0], bsm.get()[0], 0, 1e-7);
        assertClose("invStd (about 1)", si[0], bsi.get()[0], 0, 1e-6);
        assertClose("running variance (about 1)", rv[0], brv.get()[0], 0, 1e-6);
        assertClose("y", y, by.get(), 1e-3, 0); // x - mean is exact to float's 1e-3 spacing at 1e4
    }
}
