package dev.jgan.backend;

import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.check.Reference;
import dev.jgan.testing.TestData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.jgan.testing.Approx.assertClose;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Adam, SGD and RMSprop over several tensors of odd sizes in one call. */
class OptimizerTest {
    /** Parameters of order 1 updated in float: a few roundings of p (6e-8 each), the update itself is ~1e-3. */
    static final double P_ATOL = 3e-7, P_RTOL = 1e-6;
    /** m: a signed running mean of gradients up to 0.5, whose float roundings (~3e-8) survive cancellation to a small m. */
    static final double M_ATOL = 1e-7;
    /** Both moments: two float multiply-adds per step against double (v sums squares, no cancellation). */
    static final double V_ATOL = 1e-9, MOMENT_RTOL = 1e-6;
    static final int[] SIZES = {1, 13, 207, 702, 1025};

    static List<Tensor> tensors(Backend be, List<float[]> data) {
        List<Tensor> out = new ArrayList<>();
        for (float[] d : data) out.add(be.fromHost(d, Shape.of(d.length)));
        return out;
    }

    static List<float[]> random(long seed, float lo, float hi) {
        List<float[]> out = new ArrayList<>();
        for (int n : SIZES) out.add(TestData.uniform(seed + n, n, lo, hi));
        return out;
    }

    static List<float[]> constant(float... perTensor) {
        List<float[]> out = new ArrayList<>();
        for (int k = 0; k < perTensor.length; k++) {
            float[] a = new float[SIZES[k]];
            Arrays.fill(a, perTensor[k]);
            out.add(a);
        }
        return out;
    }

    static void assertTensors(String what, List<float[]> expected, List<Tensor> actual, double atol, double rtol) {
        for (int k = 0; k < expected.size(); k++)
            assertClose(what + "[" + k + "] (n=" + expected.get(k).length + ")", expected.get(k), actual.get(k).toHost(), atol, rtol);
    }

    /**
     * lr 0.1, beta1 0.5, beta2 0.75, eps 0.5 (large, so that adding it after the square root of
     * the bias-corrected v is what is tested), two steps with constant gradients per tensor:
     * <pre>
     * g = (2, 1):   m = 1, 1;      v = 1, 1;      mhat = 2, 4/3;    vhat = 4, 16/7
     *               dp = -0.1 * 2 / (2 + 0.5) = -0.08,  -0.1 * (4/3) / (4/sqrt(7) + 0.5) = -0.066273733
     * g = (-2, -1): the same with the sign of m and dp flipped
     * g = (2, -2):  m = 1, -0.5;   v = 1, 1.75;   mhat = 2, -2/3;   vhat = 4, 4
     *               dp = -0.08, +0.1 * (2/3) / (2 + 0.5) = +0.026666667
     * g = (0, 0):   nothing moves (m = v = 0, dp = 0)
     * g = (1, 3):   m = 0.5, 1.75; v = 0.25, 2.4375; mhat = 1, 7/3; vhat = 1, 5.5714286
     *               dp = -0.1 / 1.5 = -0.066666667, -0.1 * (7/3) / (sqrt(5.5714286) + 0.5) = -0.081574033
     * </pre>
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void adamTwoStepsByHand(Backend be) {
        List<float[]> p0 = random(1, -1f, 1f);
        List<Tensor> p = tensors(be, p0), m = tensors(be, constant(0, 0, 0, 0, 0)), v = tensors(be, constant(0, 0, 0, 0, 0));
        be.adamStep(p, tensors(be, constant(2, -2, 2, 0, 1)), m, v, 0.1f, 0.5f, 0.75f, 0.5f, 0f, 1);
        be.adamStep(p, tensors(be, constant(1, -1, -2, 0, 3)), m, v, 0.1f, 0.5f, 0.75f, 0.5f, 0f, 2);
        double[] dp = {-0.08 - 0.066273733, 0.08 + 0.066273733, -0.08 + 0.026666667, 0, -0.066666667 - 0.081574033};
        assertTensors("p after two steps", shifted(p0, dp), p, 1e-6, 0);
        assertTensors("m after two steps", constant(1, -1, -0.5f, 0, 1.75f), m, 0, 0);
        assertTensors("v after two steps", constant(1, 1, 1.75f, 0, 2.4375f), v, 0, 0);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void adamMatchesReference(Backend be) {
        for (float weightDecay : new float[] {0f, 0.01f}) {
            List<float[]> p = random(10, -1f, 1f), m = constant(0, 0, 0, 0, 0), v = constant(0, 0, 0, 0, 0);
            List<Tensor> tp = tensors(be, p), tm = tensors(be, m), tv = tensors(be, v);
            for (int t = 1; t <= 3; t++) {
                List<float[]> g = random(100L * t, -0.5f, 0.5f);
                // the DCGAN settings: lr 2e-4, betas (0.5, 0.999), eps 1e-8
                Reference.adamStep(p, g, m, v, 2e-4f, 0.5f, 0.999f, 1e-8f, weightDecay, t);
                be.adamStep(tp, tensors(be, g), tm, tv, 2e-4f, 0.5f, 0.999f, 1e-8f, weightDecay, t);
            }
            assertTensors("p, weight decay " + weightDecay, p, tp, P_ATOL, P_RTOL);
            assertTensors("m, weight decay " + weightDecay, m, tm, M_ATOL, MOMENT_RTOL);
            assertTensors("v, weight decay " + weightDecay, v, tv, V_ATOL, MOMENT_RTOL);
        }
    }

    /** p = 1, g = 1, lr 0.1, momentum 0.5: buf 1, 1.5, 1.75 and p 0.9, 0.75, 0.575. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void sgdByHandAndAgainstReference(Backend be) {
        List<Tensor> p = tensors(be, constant(1, 1, 1, 1, 1)), g = tensors(be, constant(1, 1, 1, 1, 1));
        List<Tensor> buf = tensors(be, constant(9, 9, 9, 9, 9)); // ignored at the first step
        be.sgdStep(p, g, buf, 0.1f, 0.5f, true);
        be.sgdStep(p, g, buf, 0.1f, 0.5f, false);
        be.sgdStep(p, g, buf, 0.1f, 0.5f, false);
        assertTensors("p", constant(0.575f, 0.575f, 0.575f, 0.575f, 0.575f), p, 1e-6, 0);
        assertTensors("buf", constant(1.75f, 1.75f, 1.75f, 1.75f, 1.75f), buf, 0, 0);

        List<float[]> rp = random(20, -1f, 1f), rb = random(21, -1f, 1f);
        List<Tensor> tp = tensors(be, rp), tb = tensors(be, rb);
        for (int step = 0; step < 3; step++) {
            List<float[]> rg = random(30 + step, -1f, 1f);
            Reference.sgdStep(rp, rg, rb, 0.05f, 0.9f, step == 0);
            be.sgdStep(tp, tensors(be, rg), tb, 0.05f, 0.9f, step == 0);
        }
        assertTensors("p", rp, tp, P_ATOL, P_RTOL);
        assertTensors("velocity", rb, tb, 1e-6, 1e-6);
    }

    /**
     * lr 0.1, alpha 0.5, eps 0.5 (large, so that it is added after the square root), two steps
     * from v = 0 with constant gradients per tensor, p -= lr g / (sqrt(v) + eps):
     * <pre>
     * g = (2, 2):   v = 2, 3;   dp = -0.2 / (sqrt 2 + 0.5) - 0.2 / (sqrt 3 + 0.5) = -0.194085245
     * g = (-2, -2): the same, sign flipped
     * g = (2, -2):  v = 2, 3;   dp = -0.2 / (sqrt 2 + 0.5) + 0.2 / (sqrt 3 + 0.5) = -0.014877855
     * g = (0, 0):   nothing moves
     * g = (1, 3):   v = 0.5, 4.75; dp = -0.1 / (sqrt 0.5 + 0.5) - 0.3 / (sqrt 4.75 + 0.5) = -0.194806011
     * </pre>
     * then three steps from random state against the reference at the WGAN paper's settings.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void rmspropByHandAndAgainstReference(Backend be) {
        List<float[]> p0 = random(2, -1f, 1f);
        List<Tensor> p = tensors(be, p0), v = tensors(be, constant(0, 0, 0, 0, 0));
        be.rmspropStep(p, tensors(be, constant(2, -2, 2, 0, 1)), v, 0.1f, 0.5f, 0.5f);
        be.rmspropStep(p, tensors(be, constant(2, -2, -2, 0, 3)), v, 0.1f, 0.5f, 0.5f);
        double[] dp = {-0.194085245, 0.194085245, -0.014877855, 0, -0.194806011};
        assertTensors("p after two steps", shifted(p0, dp), p, 1e-6, 0);
        assertTensors("square_avg after two steps", constant(3, 3, 3, 0, 4.75f), v, 0, 0);

        List<float[]> rp = random(40, -1f, 1f), rv = random(41, 0f, 0.01f);
        List<Tensor> tp = tensors(be, rp), tv = tensors(be, rv);
        for (int step = 0; step < 3; step++) {
            List<float[]> rg = random(50 + step, -1f, 1f);
            Reference.rmspropStep(rp, rg, rv, 5e-5f, 0.99f, 1e-8f);
            be.rmspropStep(tp, tensors(be, rg), tv, 5e-5f, 0.99f, 1e-8f);
        }
        assertTensors("p", rp, tp, P_ATOL, P_RTOL);
        assertTensors("square_avg", rv, tv, V_ATOL, MOMENT_RTOL);
    }

    /** The CPU's vector body and scalar tail and the CUDA kernel round alike: the same bits on every backend. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void rmspropGivesTheCpuBackendsBits(Backend be) {
        List<float[]> p = random(60, -1f, 1f), v = random(61, 0f, 0.01f), g = random(62, -1f, 1f);
        Backend cpu = dev.jgan.testing.TestBackends.cpu();
        List<Tensor> cp = tensors(cpu, p), cv = tensors(cpu, v), bp = tensors(be, p), bv = tensors(be, v);
        cpu.rmspropStep(cp, tensors(cpu, g), cv, 1e-3f, 0.99f, 1e-8f);
        be.rmspropStep(bp, tensors(be, g), bv, 1e-3f, 0.99f, 1e-8f);
        for (int k = 0; k < p.size(); k++) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(cp.get(k).toHost(), bp.get(k).toHost(), 0f, "p[" + k + "]");
            org.junit.jupiter.api.Assertions.assertArrayEquals(cv.get(k).toHost(), bv.get(k).toHost(), 0f, "square_avg[" + k + "]");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void rejectsMismatchedLists(Backend be) {
        List<Tensor> p = tensors(be, constant(1, 1)), g = tensors(be, constant(1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.adamStep(p, g, p, p, 0.1f, 0.9f, 0.999f, 1e-8f, 0f, 1));
        assertTrue(e.getMessage().contains("adamStep"), e.getMessage());
        List<Tensor> wrongSize = List.of(p.get(0), be.allocate(Shape.of(12)));
        e = assertThrows(IllegalArgumentException.class, () -> be.sgdStep(p, wrongSize, p, 0.1f, 0.9f, true));
        assertTrue(e.getMessage().contains("sgdStep") && e.getMessage().contains("(12)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> be.adamStep(p, p, p, p, 0.1f, 0.9f, 0.999f, 1e-8f, 0f, 0));
    }

    /** Each tensor of {@code p0} with every element moved by that tensor's {@code dp[k]}, rounded to float. */
    private static List<float[]> shifted(List<float[]> p0, double[] dp) {
        List<float[]> out = new ArrayList<>();
        for (int k = 0; k < p0.size(); k++) {
            float[] e = p0.get(k).clone();
            for (int i = 0; i < e.length; i++) e[i] = (float) (e[i] + dp[k]);
            out.add(e);
        }
        return out;
    }
}
