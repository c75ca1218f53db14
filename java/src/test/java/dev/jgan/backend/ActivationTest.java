package dev.jgan.backend;

import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.check.Reference;
import dev.jgan.testing.TestData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static dev.jgan.testing.Approx.assertClose;
import static dev.jgan.testing.Approx.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Activations and their backwards against the reference over awkward sizes, in place, and at extremes. */
class ActivationTest {
    /** 4 ulps (2^-23 each at worst): vector tanh/exp are within about 1 ulp of Math's, plus the reference's rounding and 1 / (1 + e). */
    static final double TRANSCENDENTAL_RTOL = 5e-7;
    /** Below the smallest normal float relative error is meaningless (sigmoid of large negative x). */
    static final double TRANSCENDENTAL_ATOL = Float.MIN_NORMAL;
    /** dy * (1 - y^2) and dy * y * (1 - y) in float: y * y rounds by <= 6e-8 (y in [-1, 1]), times |dy| <= 1, plus two roundings. */
    static final double SMOOTH_BACKWARD_ATOL = 2.5e-7;
    static final double SMOOTH_BACKWARD_RTOL = 5e-7;
    static final float SLOPE = 0.2f;

    /** Inputs in [-6, 6] with a few exact zeros. */
    static float[] inputs(int n) {
        float[] x = TestData.uniform(1000 + n, n, -6f, 6f);
        for (int i = 0; i < n; i += 11) x[i] = 0f;
        return x;
    }

    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("dev.jgan.testing.TestBackends#withAwkwardSizes")
    void leakyRelu(Backend be, int n) {
        float[] x = inputs(n), dy = TestData.uniform(n, n, -1f, 1f);
        float[] y = new float[n], dx = new float[n];
        Reference.leakyRelu(x, y, SLOPE);
        Reference.leakyReluBackward(y, dy, dx, SLOPE);
        Tensor tx = be.fromHost(x, Shape.of(n)), ty = be.allocate(Shape.of(n));
        be.leakyRelu(tx, ty, SLOPE);
        assertSameBits("leakyRelu", y, ty.toHost());
        Tensor tdy = be.fromHost(dy, Shape.of(n)), tdx = be.allocate(Shape.of(n));
        be.leakyReluBackward(ty, tdy, tdx, SLOPE);
        assertSameBits("leakyReluBackward", dx, tdx.toHost());
        // in place: y = x, dx = dy
        be.leakyRelu(tx, tx, SLOPE);
        assertSameBits("leakyRelu in place", y, tx.toHost());
        be.leakyReluBackward(tx, tdy, tdy, SLOPE);
        assertSameBits("leakyReluBackward in place", dx, tdy.toHost());
    }

    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("dev.jgan.testing.TestBackends#withAwkwardSizes")
    void relu(Backend be, int n) {
        float[] x = inputs(n), dy = TestData.uniform(n + 1, n, -1f, 1f);
        float[] y = new float[n], dx = new float[n];
        Reference.relu(x, y);
        Reference.reluBackward(y, dy, dx);
        Tensor tx = be.fromHost(x, Shape.of(n)), ty = be.allocate(Shape.of(n));
        be.relu(tx, ty);
        assertSameBits("relu", y, ty.toHost());
        Tensor tdy = be.fromHost(dy, Shape.of(n)), tdx = be.allocate(Shape.of(n));
        be.reluBackward(ty, tdy, tdx);
        assertSameBits("reluBackward", dx, tdx.toHost());
        be.relu(tx, tx);
        assertSameBits("relu in place", y, tx.toHost());
        be.reluBackward(tx, tdy, tdy);
        assertSameBits("reluBackward in place", dx, tdy.toHost());
    }

    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("dev.jgan.testing.TestBackends#withAwkwardSizes")
    void tanh(Backend be, int n) {
        float[] x = inputs(n), dy = TestData.uniform(n + 2, n, -1f, 1f);
        float[] y = new float[n], dx = new float[n];
        Reference.tanh(x, y);
        Tensor tx = be.fromHost(x, Shape.of(n)), ty = be.allocate(Shape.of(n));
        be.tanh(tx, ty);
        float[] yb = ty.toHost();
        assertClose("tanh", y, yb, TRANSCENDENTAL_ATOL, TRANSCENDENTAL_RTOL);
        Reference.tanhBackward(yb, dy, dx);
        Tensor tdy = be.fromHost(dy, Shape.of(n)), tdx = be.allocate(Shape.of(n));
        be.tanhBackward(ty, tdy, tdx);
        assertClose("tanhBackward", dx, tdx.toHost(), SMOOTH_BACKWARD_ATOL, SMOOTH_BACKWARD_RTOL);
        be.tanh(tx, tx);
        assertSameBits("tanh in place", yb, tx.toHost());
        be.tanhBackward(tx, tdy, tdy);
        assertSameBits("tanhBackward in place", tdx.toHost(), tdy.toHost());
    }

    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("dev.jgan.testing.TestBackends#withAwkwardSizes")
    void sigmoid(Backend be, int n) {
        float[] x = TestData.uniform(2000 + n, n, -30f, 30f), dy = TestData.uniform(n + 3, n, -1f, 1f);
        float[] y = new float[n], dx = new float[n];
        Reference.sigmoid(x, y);
        Tensor tx = be.fromHost(x, Shape.of(n)), ty = be.allocate(Shape.of(n));
        be.sigmoid(tx, ty);
        float[] yb = ty.toHost();
        assertClose("sigmoid", y, yb, TRANSCENDENTAL_ATOL, TRANSCENDENTAL_RTOL);
        Reference.sigmoidBackward(yb, dy, dx);
        Tensor tdy = be.fromHost(dy, Shape.of(n)), tdx = be.allocate(Shape.of(n));
        be.sigmoidBackward(ty, tdy, tdx);
        assertClose("sigmoidBackward", dx, tdx.toHost(), SMOOTH_BACKWARD_ATOL, SMOOTH_BACKWARD_RTOL);
        be.sigmoid(tx, tx);
        assertSameBits("sigmoid in place", yb, tx.toHost());
    }

    /** Extremes, on a length that takes both the vector body and the scalar tail of a CPU loop. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void extremes(Backend be) {
        float[] x = {300f, -300f, 1e4f, -1e4f, 0f, -0f, 20f, -20f, Float.MAX_VALUE, -Float.MAX_VALUE, 1e-30f,
                     300f, -300f, 1e4f, -1e4f, 0f, -0f, 20f, -20f, Float.MAX_VALUE, -Float.MAX_VALUE, 1e-30f,
                     300f, -300f, 1e4f, -1e4f, 0f, -0f, 20f, -20f, Float.MAX_VALUE, -Float.MAX_VALUE, 1e-30f,
                     300f, -300f, 1e4f};
        int n = x.length;
        Tensor tx = be.fromHost(x, Shape.of(n)), ty = be.allocate(Shape.of(n));
        be.tanh(tx, ty);
        float[] t = ty.toHost();
        be.sigmoid(tx, ty);
        float[] s = ty.toHost();
        for (int i = 0; i < n; i++) {
            float v = x[i];
            if (Math.abs(v) >= 20f) {
                assertEquals(Math.signum(v), t[i], "tanh(" + v + ") must be exactly +-1");
                assertEquals(v > 0 ? 1f : 0f, s[i], v > 0 ? 0f : 3e-9f, "sigmoid(" + v + ")");
            }
            if (Math.abs(v) >= 300f) assertEquals(v > 0 ? 1f : 0f, s[i], "sigmoid(" + v + ") must be exactly 0 or 1");
            assertTrue(Float.isFinite(s[i]) && Float.isFinite(t[i]), "finite at " + v);
        }
        assertEquals(0f, t[4]);
        assertEquals(0.5f, s[4]);
        assertEquals(1e-30f, t[10], 1e-37f, "tanh(x) = x for tiny x");
    }

    /** tanh against Math.tanh over a dense sweep, where the vector path does almost all the work. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void tanhSweep(Backend be) {
        int n = 200_001;
        float[] x = new float[n], y = new float[n];
        for (int i = 0; i < n; i++) x[i] = -10f + 20f * i / (n - 1);
        Reference.tanh(x, y);
        Tensor tx = be.fromHost(x, Shape.of(n));
        be.tanh(tx, tx);
        assertClose("tanh sweep", y, tx.toHost(), TRANSCENDENTAL_ATOL, TRANSCENDENTAL_RTOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void rejectsMismatchedSizes(Backend be) {
        Tensor a = be.allocate(Shape.of(4, 3)), b = be.allocate(Shape.of(13));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.tanh(a, b));
        assertTrue(e.getMessage().contains("tanh") && e.getMessage().contains("(4, 3)") && e.getMessage().contains("(13)"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> be.sigmoidBackward(a, a, b));
        assertThrows(IllegalArgumentException.class, () -> be.leakyRelu(a, b, 0.2f));
    }
}
