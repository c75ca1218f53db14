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

import static dev.jgan.testing.Approx.assertClose;
import static dev.jgan.testing.Approx.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Activation kernels through Kernels and the emulation, against the reference and the CPU backend. */
class EmulatedActivationsTest {
    /** tanh and sigmoid: the kernels' expf/tanhf (host libm here, CUDA's within 2 ulp on a GPU) against double rounded once. */
    static final double TRANSCENDENTAL_ATOL = 1e-7, TRANSCENDENTAL_RTOL = 1e-6;
    /** Backwards are one to three float operations of the same inputs: a few ulp of order-1 values. */
    static final double BACKWARD_ATOL = 1e-7, BACKWARD_RTOL = 1e-6;
    static final float SLOPE = 0.2f;

    static IntStream sizes() { return IntStream.of(TestData.AWKWARD_SIZES); }

    @ParameterizedTest(name = "n={0}")
    @MethodSource("sizes")
    void forwardAndBackwardMatchReferenceAndCpu(int n) {
        Kernels k = Emulation.kernels();
        Backend cpu = TestBackends.cpu();
        float[] x = TestData.uniform(n, n, -6f, 6f), dy = TestData.uniform(n + 1, n, -1f, 1f);
        float[] expected = new float[n], dxExpected = new float[n];
        Emulation.Buffer bx = Emulation.Buffer.of(x), by = new Emulation.Buffer(n), bdy = Emulation.Buffer.of(dy),
                bdx = new Emulation.Buffer(n);
        Tensor tx = cpu.fromHost(x, Shape.of(n)), ty = cpu.allocate(Shape.of(n)), tdy = cpu.fromHost(dy, Shape.of(n)),
                tdx = cpu.allocate(Shape.of(n));

        k.leakyReluForward(bx.address(), by.address(), n, SLOPE);
        Reference.leakyRelu(x, expected, SLOPE);
        assertSameBits("leakyRelu", expected, by.get());
        cpu.leakyRelu(tx, ty, SLOPE);
        assertSameBits("leakyRelu vs cpu", ty.toHost(), by.get());
        k.leakyReluBackward(by.address(), bdy.address(), bdx.address(), n, SLOPE);
        Reference.leakyReluBackward(expected, dy, dxExpected, SLOPE);
        assertSameBits("leakyReluBackward", dxExpected, bdx.get());

        k.reluForward(bx.address(), by.address(), n);
        Reference.relu(x, expected);
        assertSameBits("relu", expected, by.get());
        k.reluBackward(by.address(), bdy.address(), bdx.address(), n);
        Reference.reluBackward(expected, dy, dxExpected);
        assertSameBits("reluBackward", dxExpected, bdx.get());

        k.tanhForward(bx.address(), by.address(), n);
        Reference.tanh(x, expected);
        assertClose("tanh", expected, by.get(), TRANSCENDENTAL_ATOL, TRANSCENDENTAL_RTOL);
        cpu.tanh(tx, ty);
        assertClose("tanh vs cpu", ty.toHost(), by.get(), TRANSCENDENTAL_ATOL, TRANSCENDENTAL_RTOL);
        float[] y = by.get();
        k.tanhBackward(by.address(), bdy.address(), bdx.address(), n);
        Reference.tanhBackward(y, dy, dxExpected);
        assertClose("tanhBackward", dxExpected, bdx.get(), BACKWARD_ATOL, BACKWARD_RTOL);

        k.sigmoidForward(bx.address(), by.address(), n);
        Reference.sigmoid(x, expected);
        assertClose("sigmoid", expected, by.get(), TRANSCENDENTAL_ATOL, TRANSCENDENTAL_RTOL);
        cpu.sigmoid(tx, ty);
        assertClose("sigmoid vs cpu", ty.toHost(), by.get(), TRANSCENDENTAL_ATOL, TRANSCENDENTAL_RTOL);
        y = by.get();
        k.sigmoidBackward(by.address(), bdy.address(), bdx.address(), n);
        Reference.sigmoidBackward(y, dy, dxExpected);
        assertClose("sigmoidBackward", dxExpected, bdx.get(), BACKWARD_ATOL, BACKWARD_RTOL);
    }

    /** Pinned extremes: tanh saturates to exactly +-1 at +-300, sigmoid to 0 and 1 without NaN at +-1e4. */
    @Test
    void extremes() {
        Kernels k = Emulation.kernels();
        Emulation.Buffer x = Emulation.Buffer.of(new float[] {-300f, 300f, -1e4f, 1e4f, 0f}), y = new Emulation.Buffer(5);
        k.tanhForward(x.address(), y.address(), 5);
        float[] t = y.get();
        assertEquals(-1f, t[0]);
        assertEquals(1f, t[1]);
        assertEquals(0f, t[4]);
        k.sigmoidForward(x.address(), y.address(), 5);
        float[] s = y.get();
        assertEquals(0f, s[2]);
        assertEquals(1f, s[3]);
        assertEquals(0.5f, s[4]);
    }

    /** Outputs may alias inputs: y = x and dx = dy in place. */
    @Test
    void inPlace() {
        Kernels k = Emulation.kernels();
        float[] x = TestData.uniform(5, 1000, -2f, 2f), expected = new float[1000];
        Emulation.Buffer b = Emulation.Buffer.of(x);
        k.leakyReluForward(b.address(), b.address(), x.length, SLOPE);
        Reference.leakyRelu(x, expected, SLOPE);
        assertSameBits("leakyRelu in place", expected, b.get());
    }
}
