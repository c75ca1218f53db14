package dev.jgan.backend;

import dev.jgan.check.Reference;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static dev.jgan.testing.Approx.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The critic losses (hinge, least squares, Wasserstein's linear): values by hand, the gradient
 * against central differences of the backend's own loss, the reference over sizes and slots, and
 * clamping (WGAN's weight clipping).
 */
class CriticLossTest {
    record Pin(CriticLoss kind, float a, float logit, float loss, float grad, boolean above) {}

    /** Each function on both sides of its kink or boundary; with N outputs the gradient is grad / N. */
    static final Pin[] PINS = {
            new Pin(CriticLoss.HINGE, 1f, 2f, 0f, 0f, true),        // real beyond the margin: no loss, no gradient
            new Pin(CriticLoss.HINGE, 1f, 0.5f, 0.5f, -1f, true),   // real inside it
            new Pin(CriticLoss.HINGE, -1f, -3f, 0f, 0f, false),     // fake beyond the margin
            new Pin(CriticLoss.HINGE, -1f, 0f, 1f, 1f, false),      // fake at 0: loss 1, pushed down
            new Pin(CriticLoss.LINEAR, -1f, 2.5f, -2.5f, -1f, true),
            new Pin(CriticLoss.LINEAR, 1f, -0.25f, -0.25f, 1f, false),
            new Pin(CriticLoss.SQUARED, 1f, 3f, 2f, 2f, true),
            new Pin(CriticLoss.SQUARED, 0f, -1f, 0.5f, -1f, false),
            new Pin(CriticLoss.SQUARED, 0f, 0.5f, 0.125f, 0.5f, false), // at LSGAN's boundary: not above it
    };

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void valuesByHand(Backend be) {
        int n = 21;   // past a vector width, with a tail
        for (Pin p : PINS) {
            float[] logits = new float[n];
            java.util.Arrays.fill(logits, p.logit);
            Tensor tl = be.fromHost(logits, Shape.of(n, 1)), td = be.allocate(Shape.of(n, 1)), stats = be.allocate(Shape.of(3));
            be.criticLoss(p.kind, tl, p.a, 1f, td, stats, 0);
            float[] s = stats.toHost();
            String what = p.kind + " a " + p.a + " at " + p.logit;
            assertEquals(p.loss, s[0], 1e-6, what + ": loss");
            assertEquals(p.logit, s[1], 1e-6, what + ": mean score");
            assertEquals(p.above ? 1f : 0f, s[2], what + ": fraction above the boundary");
            for (float g : td.toHost()) assertEquals(p.grad / n, g, 1e-8, what + ": gradient");
        }
    }

    /**
     * dLogits against (L(l + h e_j) - L(l - h e_j)) / 2h of the mean loss the backend itself
     * reports: linear and quadratic pieces make central differences exact but for float rounding
     * of the loss (~1e-7 of it, over 2h = 0.02: 1e-5), so 3e-5 absolute. Outputs within h of the
     * hinge's kink are moved off it.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void gradientMatchesFiniteDifferencesOfTheLoss(Backend be) {
        int n = 7;
        double h = 1e-2;
        float gradScale = -1.5f;
        for (CriticLoss kind : CriticLoss.values()) {
            for (float a : new float[] {1f, -1f}) {
                float[] l = TestData.uniform(11, n, -3f, 3f);
                for (int i = 0; i < n; i++) if (Math.abs(1 - a * l[i]) < 2 * h) l[i] += 0.1f;
                Shape s = Shape.of(n, 1);
                Tensor td = be.allocate(s), stats = be.allocate(Shape.of(3));
                be.criticLoss(kind, be.fromHost(l, s), a, gradScale, td, stats, 0);
                float[] analytic = td.toHost(), numeric = new float[n];
                for (int j = 0; j < n; j++) {
                    double[] at = new double[2];
                    for (int side = 0; side < 2; side++) {
                        float[] moved = l.clone();
                        moved[j] = (float) (l[j] + (side == 0 ? h : -h));
                        be.criticLoss(kind, be.fromHost(moved, s), a, gradScale, be.allocate(s), stats, 0);
                        at[side] = stats.toHost()[0];
                    }
                    double step = (float) (l[j] + h) - (double) (float) (l[j] - h);   // the steps as float made them
                    numeric[j] = (float) (gradScale * (at[0] - at[1]) / step);
                }
                assertClose(kind + " a " + a + ": gradient vs finite differences", numeric, analytic, 3e-5, 1e-4);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void matchesReferenceAtEverySlot(Backend be) {
        for (int n : new int[] {1, 13, 64, 1025}) {
            float[] l = TestData.uniform(n, n, -4f, 4f);
            Tensor tl = be.fromHost(l, Shape.of(n)), td = be.allocate(Shape.of(n)), stats = be.allocate(Shape.of(7));
            for (CriticLoss kind : CriticLoss.values())
                for (int slot : new int[] {0, 4}) {
                    float[] expected = {-7f, -7f, -7f, -7f, -7f, -7f, -7f}, d = new float[n];
                    be.copyFromHost(expected, stats);
                    Reference.criticLoss(kind, l, 1f, 2f, d, expected, slot);
                    be.criticLoss(kind, tl, 1f, 2f, td, stats, slot);
                    String what = kind + " n " + n + " slot " + slot + ": ";
                    assertClose(what + "dLogits", d, td.toHost(), 1e-6 / n, 1e-6);
                    float[] got = stats.toHost();
                    assertClose(what + "stats", expected, got, 1e-6, 1e-6);
                }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void rejectsBadArguments(Backend be) {
        Tensor l = be.allocate(Shape.of(8, 1)), d = be.allocate(Shape.of(8)), stats = be.allocate(Shape.of(4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.criticLoss(CriticLoss.HINGE, l, 1f, 1f, d, stats, 2));
        assertTrue(e.getMessage().contains("criticLoss") && e.getMessage().contains("slot 2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> be.criticLoss(CriticLoss.HINGE, l, 1f, 1f, be.allocate(Shape.of(9)), stats, 0));
        assertThrows(IllegalArgumentException.class, () -> be.criticLoss(null, l, 1f, 1f, d, stats, 0));
        assertThrows(IllegalArgumentException.class, () -> be.clamp(l, 1f, -1f));
    }

    /** Clamping keeps what is inside, sets what is outside to the bound and leaves a NaN a NaN. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void clampByHand(Backend be) {
        float[] t = {-0.5f, -0.01f, 0f, 0.004f, 0.01f, 0.02f, Float.NaN, 3f, -0.0101f, 0.0099f, 1e30f, -1e30f, 0.5f, 0.01f,
                -0.02f, 0.007f, 0.03f};
        float[] expected = {-0.01f, -0.01f, 0f, 0.004f, 0.01f, 0.01f, Float.NaN, 0.01f, -0.01f, 0.0099f, 0.01f, -0.01f, 0.01f,
                0.01f, -0.01f, 0.007f, 0.01f};
        Tensor tt = be.fromHost(t, Shape.of(t.length));
        be.clamp(tt, -0.01f, 0.01f);
        assertArrayEquals(expected, tt.toHost(), "clamped to [-0.01, 0.01]");
    }
}
