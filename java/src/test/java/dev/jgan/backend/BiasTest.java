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
import static dev.jgan.testing.Approx.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** addBias and biasGrad for (N, C) and (N, C, H, W), written and accumulated. */
class BiasTest {
    /** Both sides sum in double and round once; only summation order differs. */
    static final double GRAD_RTOL = 1e-6, GRAD_ATOL = 1e-6;

    static final int[][] SHAPES = {
            {1, 1}, {1, 13}, {64, 256}, {7, 207}, {3, 702}, {2, 1024}, {5, 13, 1, 1}, {2, 3, 7, 7}, {4, 17, 13}, {1, 1, 65537}};

    static Stream<Arguments> cases() {
        return TestBackends.all().flatMap(be -> Stream.of(SHAPES).map(d -> Arguments.of(Named.of(be.name(), be), Shape.of(d))));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void addBias(Backend be, Shape shape) {
        int n = shape.intSize(), c = shape.dim(1);
        float[] y = TestData.uniform(n, n, -2f, 2f), bias = TestData.uniform(c, c, -1f, 1f);
        Tensor ty = be.fromHost(y, shape);
        be.addBias(ty, be.fromHost(bias, Shape.of(c)));
        Reference.addBias(y, shape, bias);
        assertSameBits("addBias", y, ty.toHost());
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void biasGrad(Backend be, Shape shape) {
        int n = shape.intSize(), c = shape.dim(1);
        float[] dy = TestData.uniform(n + 5, n, -1f, 1f), old = TestData.uniform(c, c, -1f, 1f);
        Tensor tdy = be.fromHost(dy, shape), tdb = be.fromHost(old, Shape.of(c));

        float[] expected = old.clone();
        Reference.biasGrad(dy, shape, expected, false);
        be.biasGrad(tdy, tdb, false);
        assertClose("biasGrad (=)", expected, tdb.toHost(), GRAD_ATOL, GRAD_RTOL);

        Reference.biasGrad(dy, shape, expected, true);
        be.biasGrad(tdy, tdb, true);
        assertClose("biasGrad (+=)", expected, tdb.toHost(), GRAD_ATOL, GRAD_RTOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void biasGradOfLargeOffsetIsExactEnough(Backend be) {
        // 65536 values of 1000.5 + tiny: a float running sum would lose the .5s; double does not
        int n = 65536;
        float[] dy = new float[n];
        Arrays.fill(dy, 1000.5f);
        Tensor tdb = be.allocate(Shape.of(1));
        be.biasGrad(be.fromHost(dy, Shape.of(n, 1)), tdb, false);
        assertClose("sum", 1000.5f * n, tdb.toHost()[0], 0, 1e-7);
        be.biasGrad(be.fromHost(dy, Shape.of(1, 1, n)), tdb, false);
        assertClose("sum", 1000.5f * n, tdb.toHost()[0], 0, 1e-7);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void rejectsWrongChannelCount(Backend be) {
        Tensor y = be.allocate(Shape.of(4, 3, 2, 2)), bias = be.allocate(Shape.of(4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.addBias(y, bias));
        assertTrue(e.getMessage().contains("addBias") && e.getMessage().contains("(4, 3, 2, 2)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> be.biasGrad(y, bias, false));
        assertThrows(IllegalArgumentException.class, () -> be.addBias(be.allocate(Shape.of(3)), be.allocate(Shape.of(3))));
    }
}
