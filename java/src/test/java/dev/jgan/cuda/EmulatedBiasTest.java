package dev.jgan.cuda;

import dev.jgan.backend.Backend;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.check.Reference;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static dev.jgan.testing.Approx.assertClose;
import static dev.jgan.testing.Approx.assertSameBits;

/** Bias add and bias gradient through Kernels and the emulation, (N, C) tiles and per-channel blocks. */
class EmulatedBiasTest {
    /** Per-channel sums of up to 65537 terms in [-1, 1]: both sides in double, rounded once. */
    static final double SUM_ATOL = 1e-5, SUM_RTOL = 1e-6;

    /** (N, C) with C off the tile width and up to 1024; (N, C, H, W) with S from 1 to 65537 values a channel. */
    static Stream<Shape> shapes() {
        return Stream.of(Shape.of(1, 1), Shape.of(13, 207), Shape.of(64, 1024), Shape.of(3, 702), Shape.of(1, 65537),
                Shape.of(2, 13, 1, 1), Shape.of(4, 3, 5, 7), Shape.of(2, 1024, 2, 2), Shape.of(1, 1, 1, 65537),
                Shape.of(3, 5, 13, 16));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void addAndGradMatchReferenceAndCpu(Shape shape) {
        Kernels k = Emulation.kernels();
        Backend cpu = TestBackends.cpu();
        int size = shape.intSize(), n = shape.dim(0), c = shape.dim(1), s = shape.spatial();
        float[] y = TestData.uniform(size, size, -1f, 1f), bias = TestData.uniform(c, c, -2f, 2f);
        Emulation.Buffer by = Emulation.Buffer.of(y), bb = Emulation.Buffer.of(bias);

        k.biasForward(by.address(), bb.address(), n, c, s);
        float[] expected = y.clone();
        Reference.addBias(expected, shape, bias);
        assertSameBits("addBias", expected, by.get());

        float[] dy = TestData.uniform(size + 1, size, -1f, 1f), dBias = TestData.uniform(7, c, -1f, 1f); // dBias: garbage that = overwrites
        Emulation.Buffer bdy = Emulation.Buffer.of(dy), bdb = Emulation.Buffer.of(dBias);
        Tensor tdy = cpu.fromHost(dy, shape), tdb = cpu.fromHost(dBias, Shape.of(c));
        k.biasBackward(bdy.address(), bdb.address(), n, c, s, false);
        float[] grad = new float[c];
        Reference.biasGrad(dy, shape, grad, false);
        assertClose("biasGrad", grad, bdb.get(), SUM_ATOL, SUM_RTOL);
        cpu.biasGrad(tdy, tdb, false);
        assertClose("biasGrad vs cpu", tdb.toHost(), bdb.get(), SUM_ATOL, SUM_RTOL);

        float[] accumulated = bdb.get();
        k.biasBackward(bdy.address(), bdb.address(), n, c, s, true);
        Reference.biasGrad(dy, shape, accumulated, true);
        assertClose("biasGrad (+=)", accumulated, bdb.get(), SUM_ATOL, SUM_RTOL);
    }
}
