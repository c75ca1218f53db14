package dev.jgan.backend;

import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestData;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static dev.jgan.testing.Approx.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** allocate, host transfers, copy and fill: all exact. */
class MemoryOpsTest {

    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("dev.jgan.testing.TestBackends#withAwkwardSizes")
    void allocateIsZeroAndHostRoundTripIsExact(Backend be, int n) {
        Tensor t = be.allocate(Shape.of(n));
        assertSameBits("allocate", new float[n], t.toHost());
        float[] data = TestData.uniform(n, n, -1e6f, 1e6f);
        data[0] = Float.NaN;
        if (n > 1) data[n - 1] = Float.NEGATIVE_INFINITY;
        be.copyFromHost(data, t);
        float[] back = new float[n + 3];
        be.toHost(t, back);
        assertSameBits("round trip", data, Arrays.copyOf(back, n));
        assertSameBits("toHost writes only src.size() floats", new float[3], Arrays.copyOfRange(back, n, n + 3));
    }

    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("dev.jgan.testing.TestBackends#withAwkwardSizes")
    void copyAndFill(Backend be, int n) {
        float[] data = TestData.uniform(7 * n, n, -3f, 3f);
        Tensor src = be.fromHost(data, Shape.of(n));
        Tensor dst = be.allocate(Shape.of(1, n));
        be.copy(src, dst);
        assertSameBits("copy", data, dst.toHost());
        be.fill(dst, -0.375f);
        float[] expected = new float[n];
        Arrays.fill(expected, -0.375f);
        assertSameBits("fill", expected, dst.toHost());
        assertSameBits("copy leaves src alone", data, src.toHost());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void viewSharesMemory(Backend be) {
        Tensor t = be.fromHost(new float[] {1, 2, 3, 4, 5, 6}, Shape.of(2, 3));
        Tensor v = t.view(Shape.of(6));
        be.fill(v, 7f);
        assertSameBits("view", new float[] {7, 7, 7, 7, 7, 7}, t.toHost());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void rejectsWrongSizes(Backend be) {
        Tensor a = be.allocate(Shape.of(2, 3)), b = be.allocate(Shape.of(7));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.copy(a, b));
        assertTrue(e.getMessage().contains("copy") && e.getMessage().contains("(2, 3)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.copyFromHost(new float[5], a));
        assertTrue(e.getMessage().contains("copyFromHost"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.toHost(a, new float[5]));
        assertTrue(e.getMessage().contains("toHost"), e.getMessage());
    }
}
