package dev.jgan.backend;

import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.FiniteDifference;
import dev.jgan.testing.TestData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.function.DoubleSupplier;
import java.util.function.DoubleUnaryOperator;

import static dev.jgan.testing.Approx.assertClose;

/**
 * Backward ops against central finite differences of a double-precision forward: for a random
 * weighting w, L = sum w * f(x), and dL/dx_j ~ (L(x + h e_j) - L(x - h e_j)) / 2h. The backend's
 * backward (dy = w) must agree. This checks the formulas, independently of the reference.
 */
class BackwardFiniteDifferenceTest {
    /** Step for the double forward: truncation error ~ h^2 |f'''| ~ 1e-8, rounding ~ 1e-16 / h. */
    static final double H = 1e-4;
    /** The backend's float gradients: a few roundings of values of order 1. */
    static final double ATOL = 2e-6, RTOL = 1e-5;

    interface Op { void forward(Backend be, Tensor x, Tensor y); void backward(Backend be, Tensor y, Tensor dy, Tensor dx); }

    static void check(Backend be, String name, DoubleUnaryOperator f, Op op, float lo, float hi) {
        int n = 77;
        float[] x = TestData.uniform(3, n, lo, hi), w = TestData.uniform(4, n, -1f, 1f);
        for (int i = 0; i < n; i++) if (Math.abs(x[i]) < 10 * H) x[i] = 0.5f; // away from kinks
        Tensor tx = be.fromHost(x, Shape.of(n)), ty = be.allocate(Shape.of(n)), tdx = be.allocate(Shape.of(n));
        op.forward(be, tx, ty);
        op.backward(be, ty, be.fromHost(w, Shape.of(n)), tdx);
        float[] fd = new float[n];
        for (int j = 0; j < n; j++) fd[j] = (float) (w[j] * (f.applyAsDouble(x[j] + H) - f.applyAsDouble(x[j] - H)) / (2 * H));
        assertClose(name + " backward vs finite differences", fd, tdx.toHost(), ATOL, RTOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void activations(Backend be) {
        check(be, "leakyRelu", v -> v > 0 ? v : 0.2 * v, new Op() {
            public void forward(Backend b, Tensor x, Tensor y) { b.leakyRelu(x, y, 0.2f); }
            public void backward(Backend b, Tensor y, Tensor dy, Tensor dx) { b.leakyReluBackward(y, dy, dx, 0.2f); }
        }, -3f, 3f);
        check(be, "relu", v -> Math.max(v, 0), new Op() {
            public void forward(Backend b, Tensor x, Tensor y) { b.relu(x, y); }
            public void backward(Backend b, Tensor y, Tensor dy, Tensor dx) { b.reluBackward(y, dy, dx); }
        }, -3f, 3f);
        check(be, "tanh", Math::tanh, new Op() {
            public void forward(Backend b, Tensor x, Tensor y) { b.tanh(x, y); }
            public void backward(Backend b, Tensor y, Tensor dy, Tensor dx) { b.tanhBackward(y, dy, dx); }
        }, -3f, 3f);
        check(be, "sigmoid", v -> 1 / (1 + Math.exp(-v)), new Op() {
            public void forward(Backend b, Tensor x, Tensor y) { b.sigmoid(x, y); }
            public void backward(Backend b, Tensor y, Tensor dy, Tensor dx) { b.sigmoidBackward(y, dy, dx); }
        }, -6f, 6f);
    }

    /** L = sum w * BN(x) with batch statistics, differentiated in x, gamma and beta. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void batchNorm(Backend be) {
        for (Shape shape : new Shape[] {Shape.of(6, 19), Shape.of(3, 2, 2, 3)}) {
            int n = shape.intSize(), c = shape.dim(1);
            Shape cs = Shape.of(c);
            float eps = 1e-3f;
            float[] x = TestData.normal(7, n, 0.3, 1.5), w = TestData.uniform(8, n, -1f, 1f);
            float[] gamma = TestData.uniform(9, c, 0.5f, 2f), beta = TestData.uniform(10, c, -1f, 1f);

            Tensor tx = be.fromHost(x, shape), tg = be.fromHost(gamma, cs), tsm = be.allocate(cs), tsi = be.allocate(cs);
            be.batchNormTrain(tx, tg, be.fromHost(beta, cs), be.allocate(cs), be.allocate(cs), 0.1f, eps,
                    be.allocate(shape), tsm, tsi);
            Tensor tdx = be.allocate(shape), tdg = be.allocate(cs), tdb = be.allocate(cs);
            be.batchNormBackward(tx, be.fromHost(w, shape), tg, tsm, tsi, tdx, tdg, tdb, false);

            double[] xd = new double[n], gd = new double[c], bd = new double[c];
            for (int i = 0; i < n; i++) xd[i] = x[i];
            for (int i = 0; i < c; i++) { gd[i] = gamma[i]; bd[i] = beta[i]; }
            float[] fdx = new float[n], fdg = new float[c], fdb = new float[c];
            for (int j = 0; j < n; j++) fdx[j] = (float) central(xd, j, () -> loss(xd, shape, gd, bd, eps, w));
            for (int j = 0; j < c; j++) {
                fdg[j] = (float) central(gd, j, () -> loss(xd, shape, gd, bd, eps, w));
                fdb[j] = (float) central(bd, j, () -> loss(xd, shape, gd, bd, eps, w));
            }
            assertClose("BN dx " + shape, fdx, tdx.toHost(), ATOL, RTOL);
            assertClose("BN dGamma " + shape, fdg, tdg.toHost(), ATOL, RTOL);
            assertClose("BN dBeta " + shape, fdb, tdb.toHost(), ATOL, RTOL);
        }
    }

    /**
     * L = sum w * LeakyReLU(BN(x)) (slope 0: ReLU) with batch statistics, differentiated in x,
     * gamma and beta. The inputs are moved first so that no z is within {@link #KINK_MARGIN} of
     * the kink, where a step of H would cross it and the difference would mix the two slopes.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void batchNormLeakyRelu(Backend be) {
        for (float slope : new float[] {0f, 0.2f})
            for (Shape shape : new Shape[] {Shape.of(6, 19), Shape.of(3, 2, 2, 3)}) {
                int n = shape.intSize(), c = shape.dim(1);
                Shape cs = Shape.of(c);
                float eps = 1e-3f;
                float[] x = TestData.normal(7, n, 0.3, 1.5), w = TestData.uniform(8, n, -1f, 1f);
                float[] gamma = TestData.uniform(9, c, 0.5f, 2f), beta = TestData.uniform(10, c, -1f, 1f);

                double[] xd = new double[n], gd = new double[c], bd = new double[c];
                for (int i = 0; i < c; i++) { gd[i] = gamma[i]; bd[i] = beta[i]; }
                awayFromKink(x, xd, shape, gd, bd, eps);
                Tensor tx = be.fromHost(x, shape), tg = be.fromHost(gamma, cs), tb = be.fromHost(beta, cs);
                Tensor ty = be.allocate(shape), tsm = be.allocate(cs), tsi = be.allocate(cs);
                be.batchNormLeakyReluTrain(tx, tg, tb, be.allocate(cs), be.allocate(cs), 0.1f, eps, slope, ty, tsm, tsi);
                Tensor tdx = be.allocate(shape), tdg = be.allocate(cs), tdb = be.allocate(cs);
                be.batchNormLeakyReluBackward(tx, ty, be.fromHost(w, shape), tg, tb, slope, tsm, tsi, tdx, tdg, tdb, false);

                float[] fdx = new float[n], fdg = new float[c], fdb = new float[c];
                for (int j = 0; j < n; j++) fdx[j] = (float) central(xd, j, () -> leakyLoss(xd, shape, gd, bd, eps, slope, w));
                for (int j = 0; j < c; j++) {
                    fdg[j] = (float) central(gd, j, () -> leakyLoss(xd, shape, gd, bd, eps, slope, w));
                    fdb[j] = (float) central(bd, j, () -> leakyLoss(xd, shape, gd, bd, eps, slope, w));
                }
                String what = " " + shape + " slope " + slope;
                assertClose("BN+LeakyReLU dx" + what, fdx, tdx.toHost(), ATOL, RTOL);
                assertClose("BN+LeakyReLU dGamma" + what, fdg, tdg.toHost(), ATOL, RTOL);
                assertClose("BN+LeakyReLU dBeta" + what, fdb, tdb.toHost(), ATOL, RTOL);
            }
    }

    /**
     * A step of H moves a z by at most about gamma * invStd * H (x), H * |xhat| (gamma) or H (beta),
     * all below 3e-4 here (gamma <= 2, std ~ 1.5, |xhat| <= 3); from 1e-3 on, no step crosses the kink.
     */
    static final double KINK_MARGIN = 1e-3;

    /** Moves each x whose z is within KINK_MARGIN of 0 by 0.05 until none is; xd gets the result. */
    static void awayFromKink(float[] x, double[] xd, Shape shape, double[] gamma, double[] beta, double eps) {
        for (boolean moved = true; moved; ) {
            for (int i = 0; i < x.length; i++) xd[i] = x[i];
            double[] z = normalised(xd, shape, gamma, beta, eps);
            moved = false;
            for (int i = 0; i < x.length; i++)
                if (Math.abs(z[i]) < KINK_MARGIN) { x[i] += 0.05f; moved = true; }
        }
    }

    /** z = gamma (x - mean) / sqrt(var + eps) + beta per element, all in double. */
    static double[] normalised(double[] x, Shape shape, double[] gamma, double[] beta, double eps) {
        int n = shape.dim(0), c = shape.dim(1), s = shape.spatial();
        double[] z = new double[x.length];
        for (int ch = 0; ch < c; ch++) {
            double mean = 0, var = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < s; j++) mean += x[(i * c + ch) * s + j];
            mean /= n * s;
            for (int i = 0; i < n; i++) for (int j = 0; j < s; j++) { double d = x[(i * c + ch) * s + j] - mean; var += d * d; }
            var /= n * s;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < s; j++) {
                    int at = (i * c + ch) * s + j;
                    z[at] = gamma[ch] * (x[at] - mean) / Math.sqrt(var + eps) + beta[ch];
                }
        }
        return z;
    }

    /** sum w * (z > 0 ? z : slope z), all in double. */
    static double leakyLoss(double[] x, Shape shape, double[] gamma, double[] beta, double eps, double slope, float[] w) {
        double[] z = normalised(x, shape, gamma, beta, eps);
        double total = 0;
        for (int i = 0; i < z.length; i++) total += w[i] * (z[i] > 0 ? z[i] : slope * z[i]);
        return total;
    }

    static double central(double[] v, int j, DoubleSupplier loss) {
        return FiniteDifference.central(v, j, H, loss);
    }

    /** sum w * (gamma (x - mean) / sqrt(var + eps) + beta), all in double. */
    static double loss(double[] x, Shape shape, double[] gamma, double[] beta, double eps, float[] w) {
        int n = shape.dim(0), c = shape.dim(1), s = shape.spatial();
        double total = 0;
        for (int ch = 0; ch < c; ch++) {
            double mean = 0, var = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < s; j++) mean += x[(i * c + ch) * s + j];
            mean /= n * s;
            for (int i = 0; i < n; i++) for (int j = 0; j < s; j++) { double d = x[(i * c + ch) * s + j] - mean; var += d * d; }
            var /= n * s;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < s; j++) {
                    int at = (i * c + ch) * s + j;
                    total += w[at] * (gamma[ch] * (x[at] - mean) / Math.sqrt(var + eps) + beta[ch]);
                }
        }
        return total;
    }
}
