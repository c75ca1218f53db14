package dev.jgan.backend;

import dev.jgan.check.Reference;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static dev.jgan.testing.Approx.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * multiply: y = a * b with b of a's size or one value a row, by hand (infinities, NaN, signed
 * zeros, a subnormal product) and against the reference over awkward shapes, into another tensor,
 * in place (y = a, and y = b when b has a's size), and its argument checks. One float product per
 * element on every side, so every comparison is bit for bit.
 */
class MultiplyTest {
    /** Row-broadcast shapes: one row, one column, rows shorter and longer than a vector, (N, C, H, W). */
    static final int[][] ROW_SHAPES = {{1, 1}, {1, 13}, {13, 1}, {7, 3}, {64, 16}, {5, 207}, {3, 1025}, {2, 3, 5, 7}};

    static Stream<Arguments> rowShapes() {
        return TestBackends.all().flatMap(be -> Stream.of(ROW_SHAPES).map(d -> Arguments.of(Named.of(be.name(), be), Shape.of(d))));
    }

    /**
     * Same size: the extremes of a float product, each rounded once (3e38 * 4 overflows, 1e-30 *
     * 1e-10 is subnormal), signed zeros kept. Compared as floatToIntBits does, which tells -0 from
     * 0 but takes any NaN as NaN: a NaN's payload is the hardware's (x86 makes inf * 0 negative,
     * a GPU its canonical 0x7fffffff).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void sameSizeByHand(Backend be) {
        float[] a = {2f, -3f, 0.5f, 3e38f, 1e-30f, 0f, -0f, Float.POSITIVE_INFINITY, Float.NaN, 1.5f, -2f, 7f, 0.1f, 1f, -1f, 4f, 3f};
        float[] b = {3f, 4f, -0.25f, 4f, 1e-10f, -5f, 2f, 0f, 1f, 1.5f, -0.5f, 0f, 0.1f, -1f, -1f, 0.25f, 3f};
        float[] expected = {6f, -12f, -0.125f, Float.POSITIVE_INFINITY, 1e-30f * 1e-10f, -0f, -0f, Float.NaN, Float.NaN, 2.25f, 1f,
                0f, 0.1f * 0.1f, -1f, 1f, 1f, 9f};
        assertTrue(expected[4] != 0f && expected[4] < Float.MIN_NORMAL, "the pin is a subnormal product");
        Shape s = Shape.of(a.length);
        Tensor ty = be.allocate(s);
        be.multiply(be.fromHost(a, s), be.fromHost(b, s), ty);
        assertArrayEquals(expected, ty.toHost(), "a * b");
    }

    /** One value a row: row r of (3, 5) scaled by b[r], a row of zeros by 0 and one by -1. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void rowsByHand(Backend be) {
        float[] a = {1f, 2f, 3f, 4f, 5f, 0.5f, -0.5f, 1f, -1f, 0f, 6f, -7f, 8f, -9f, 10f};
        float[] b = {2f, 0f, -1f};
        float[] expected = {2f, 4f, 6f, 8f, 10f, 0f, -0f, 0f, -0f, 0f, -6f, 7f, -8f, 9f, -10f};
        Shape s = Shape.of(3, 5);
        Tensor ty = be.allocate(s);
        be.multiply(be.fromHost(a, s), be.fromHost(b, Shape.of(3, 1)), ty);
        assertSameBits("a * b[row]", expected, ty.toHost());
    }

    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("dev.jgan.testing.TestBackends#withAwkwardSizes")
    void sameSizeMatchesReference(Backend be, int n) {
        float[] a = TestData.uniform(n, n, -3f, 3f), b = TestData.uniform(n + 1, n, -2f, 2f), y = new float[n];
        Shape s = Shape.of(n);
        Reference.multiply(a, b, y);
        Tensor ta = be.fromHost(a, s), tb = be.fromHost(b, s), ty = be.allocate(s);
        be.multiply(ta, tb, ty);
        assertSameBits("y", y, ty.toHost());
        be.multiply(ta, tb, ta);
        assertSameBits("y = a", y, ta.toHost());
        be.multiply(be.fromHost(a, s), tb, tb);
        assertSameBits("y = b", y, tb.toHost());
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("rowShapes")
    void rowsMatchReference(Backend be, Shape shape) {
        int n = shape.intSize(), rows = shape.dim(0);
        float[] a = TestData.uniform(n, n, -3f, 3f), b = TestData.uniform(rows + 7, rows, -2f, 2f), y = new float[n];
        Reference.multiply(a, b, y);
        Tensor ta = be.fromHost(a, shape), tb = be.fromHost(b, Shape.of(rows, 1)), ty = be.allocate(shape);
        be.multiply(ta, tb, ty);
        assertSameBits("y", y, ty.toHost());
        be.multiply(ta, tb, ta);
        assertSameBits("y = a", y, ta.toHost());
        assertSameBits("b untouched", b, tb.toHost());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void rejectsBadShapes(Backend be) {
        Tensor a = be.allocate(Shape.of(4, 6)), y = be.allocate(Shape.of(4, 6));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.multiply(a, be.allocate(Shape.of(5)), y));
        assertTrue(e.getMessage().contains("multiply") && e.getMessage().contains("(5)") && e.getMessage().contains("(4, 6)")
                && e.getMessage().contains("24") && e.getMessage().contains("(4)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.multiply(a, be.allocate(Shape.of(4)), be.allocate(Shape.of(4, 5))));
        assertTrue(e.getMessage().contains("multiply") && e.getMessage().contains("y (4, 5)"), e.getMessage());
        // one value a row written over by its own products: refused
        Tensor buffer = be.allocate(Shape.of(4, 6));
        e = assertThrows(IllegalArgumentException.class, () -> be.multiply(a, buffer.viewPrefix(Shape.of(4)), buffer));
        assertTrue(e.getMessage().contains("multiply") && e.getMessage().contains("share memory with b"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> be.multiply(null, be.allocate(Shape.of(4)), y));
    }
}
