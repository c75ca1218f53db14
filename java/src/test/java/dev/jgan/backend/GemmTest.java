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
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Row-major GEMM against the reference: all four transpose combinations, non-square shapes, beta != 0. */
class GemmTest {
    /**
     * Per unit of k: a float dot product of k terms in [-1, 1] is within about k * 2^-24 * (sum of
     * |terms| <= k) in the worst case, but far less with random signs; 2e-6 * k is ~30x what
     * OpenBLAS shows and still ~1000x below the error of a wrong transpose or leading dimension.
     */
    static final double ATOL_PER_K = 2e-6;
    /** Rounding of alpha * AB + beta * C in float. */
    static final double RTOL = 1e-6;

    /** (m, n, k): ones, primes, a column, a row, and the mlp-gan generator's first and last layers. */
    static final int[][] SHAPES = {
            {1, 1, 1}, {13, 7, 207}, {7, 702, 13}, {33, 1, 65}, {1, 29, 31}, {64, 256, 100}, {64, 784, 1024}};

    static Stream<Arguments> cases() {
        return TestBackends.all().flatMap(be -> Arrays.stream(SHAPES).flatMap(s -> Stream.of(
                Arguments.of(Named.of(be.name(), be), s[0], s[1], s[2], false, false),
                Arguments.of(Named.of(be.name(), be), s[0], s[1], s[2], true, false),
                Arguments.of(Named.of(be.name(), be), s[0], s[1], s[2], false, true),
                Arguments.of(Named.of(be.name(), be), s[0], s[1], s[2], true, true))));
    }

    @ParameterizedTest(name = "{0} m={1} n={2} k={3} transA={4} transB={5}")
    @MethodSource("cases")
    void matchesReference(Backend be, int m, int n, int k, boolean transA, boolean transB) {
        long seed = 31L * m + 17L * n + k + (transA ? 1000 : 0) + (transB ? 2000 : 0);
        float[] a = TestData.uniform(seed, m * k, -1f, 1f);
        float[] b = TestData.uniform(seed + 1, k * n, -1f, 1f);
        float[] c = TestData.uniform(seed + 2, m * n, -1f, 1f);
        Tensor ta = be.fromHost(a, transA ? Shape.of(k, m) : Shape.of(m, k));
        Tensor tb = be.fromHost(b, transB ? Shape.of(n, k) : Shape.of(k, n));

        // beta != 0 and alpha != 1: C is read and scaled
        Tensor tc = be.fromHost(c, Shape.of(m, n));
        be.gemm(transA, transB, m, n, k, -0.75f, ta, tb, 0.5f, tc);
        float[] expected = c.clone();
        Reference.gemm(transA, transB, m, n, k, -0.75f, a, b, 0.5f, expected);
        assertClose("C = -0.75 op(A) op(B) + 0.5 C", expected, tc.toHost(), ATOL_PER_K * k, RTOL);

        // beta == 0: C is not read, so NaN in it does not propagate (BLAS semantics)
        float[] nans = new float[m * n];
        Arrays.fill(nans, Float.NaN);
        be.copyFromHost(nans, tc);
        be.gemm(transA, transB, m, n, k, 1f, ta, tb, 0f, tc);
        expected = new float[m * n];
        Reference.gemm(transA, transB, m, n, k, 1f, a, b, 0f, expected);
        assertClose("C = op(A) op(B)", expected, tc.toHost(), ATOL_PER_K * k, RTOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void smallHandComputedProduct(Backend be) {
        // [1 2 3; 4 5 6] * [1 0; 0 1; 1 1] = [4 5; 10 11]
        Tensor a = be.fromHost(new float[] {1, 2, 3, 4, 5, 6}, Shape.of(2, 3));
        Tensor b = be.fromHost(new float[] {1, 0, 0, 1, 1, 1}, Shape.of(3, 2));
        Tensor c = be.fromHost(new float[] {1, 1, 1, 1}, Shape.of(2, 2));
        be.gemm(false, false, 2, 2, 3, 1f, a, b, 1f, c);
        assertClose("A B + C", new float[] {5, 6, 11, 12}, c.toHost(), 0, 0);
        // A^T A: (3, 2) * (2, 3) = [17 22 27; 22 29 36; 27 36 45]
        Tensor ata = be.allocate(Shape.of(3, 3));
        be.gemm(true, false, 3, 3, 2, 1f, a, a, 0f, ata);
        assertClose("A^T A", new float[] {17, 22, 27, 22, 29, 36, 27, 36, 45}, ata.toHost(), 0, 0);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void rejectsMismatchedSizes(Backend be) {
        Tensor a = be.allocate(Shape.of(4, 3)), b = be.allocate(Shape.of(3, 5)), c = be.allocate(Shape.of(4, 5));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.gemm(false, false, 4, 5, 2, 1f, a, b, 0f, c));
        assertTrue(e.getMessage().contains("gemm") && e.getMessage().contains("(4, 3)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> be.gemm(false, false, 4, 6, 3, 1f, a, b, 0f, c));
        assertThrows(IllegalArgumentException.class, () -> be.gemm(false, false, 0, 5, 3, 1f, a, b, 0f, c));
    }
}
