package dev.jgan.backend;

import dev.jgan.random.Philox;
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
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static dev.jgan.testing.Approx.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Inverted dropout: the mask bit for bit from the Philox uniforms (as fillUniform draws them), y and
 * dx bit for bit (one float multiply each), the dropped fraction and the mean preserved, p = 0 the
 * identity, in-place use, and the argument checks.
 */
class DropoutTest {
    static final float[] RATES = {0f, 0.1f, 0.5f, 0.9f};
    static final long SEED = 0x0123456789abcdefL, OFFSET = (1L << 32) + 3;

    static Stream<Arguments> cases() {
        return TestBackends.all().flatMap(be -> IntStream.of(TestData.AWKWARD_SIZES).boxed()
                .flatMap(n -> IntStream.range(0, RATES.length).mapToObj(i -> Arguments.of(Named.of(be.name(), be), n, RATES[i]))));
    }

    @ParameterizedTest(name = "{0} n={1} p={2}")
    @MethodSource("cases")
    void bitExactWithPhilox(Backend be, int n, float p) {
        Shape shape = Shape.of(n);
        float[] x = TestData.uniform(n, n, -3f, 3f), dy = TestData.uniform(n + 1, n, -1f, 1f);
        Tensor tx = be.fromHost(x, shape), mask = be.allocate(shape), y = be.allocate(shape), dx = be.allocate(shape);
        be.dropoutForward(tx, mask, y, p, SEED, OFFSET);

        float[] em = new float[n], ey = new float[n], edx = new float[n];
        Reference.dropoutForward(x, em, ey, p, SEED, OFFSET);
        float[] m = mask.toHost();
        assertSameBits("mask", em, m);
        assertSameBits("y", ey, y.toHost());
        float scale = 1f / (1f - p);
        for (int i = 0; i < n; i++)
            assertEquals(Philox.uniformAt(SEED, OFFSET, i) <= p ? 0f : scale, m[i], "mask[" + i + "] from Philox.uniformAt");

        // the mask is what fillBernoulli draws with the same seed and offset
        Tensor bernoulli = be.allocate(shape);
        be.fillBernoulli(bernoulli, p, 0f, scale, SEED, OFFSET);
        assertSameBits("mask = fillBernoulli(p, 0, 1 / (1 - p))", bernoulli.toHost(), m);

        be.dropoutBackward(be.fromHost(dy, shape), mask, dx);
        Reference.dropoutBackward(dy, em, edx);
        assertSameBits("dx", edx, dx.toHost());
    }

    /** p = 0: u is in (0, 1], never <= 0, so the mask is all 1 and y is x bit for bit. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void zeroRateIsTheIdentity(Backend be) {
        int n = 1027;
        float[] x = TestData.normal(3, n, 0, 100);
        x[0] = -0f;
        x[1] = Float.MIN_VALUE;
        Tensor tx = be.fromHost(x, Shape.of(n)), mask = be.allocate(Shape.of(n)), y = be.allocate(Shape.of(n));
        be.dropoutForward(tx, mask, y, 0f, 7L, 0L);
        assertSameBits("y = x", x, y.toHost());
        float[] ones = new float[n];
        Arrays.fill(ones, 1f);
        assertSameBits("mask = 1", ones, mask.toHost());
    }

    /**
     * 2^18 elements at p = 0.3: the dropped count is Binomial(n, p), standard error
     * sqrt(p (1 - p) / n) = 9e-4 in the fraction; 6 standard errors cannot fail by chance
     * (p ~ 2e-9) yet catch a wrong comparison, a reused block or a scale slip. The mean of y for
     * x = 1 is 1 (inverted dropout keeps the expectation), within 6 standard errors of
     * sqrt(p / (1 - p) / n).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void dropsTheFractionPAndKeepsTheMean(Backend be) {
        int n = 1 << 18;
        float p = 0.3f;
        Tensor x = be.allocate(Shape.of(n)), mask = be.allocate(Shape.of(n)), y = be.allocate(Shape.of(n));
        be.fill(x, 1f);
        be.dropoutForward(x, mask, y, p, 99L, 5L);
        double dropped = 0, sum = 0;
        for (float v : y.toHost()) {
            if (v == 0f) dropped++;
            sum += v;
        }
        assertEquals(p, dropped / n, 6 * Math.sqrt(p * (1 - p) / n), "dropped fraction");
        assertEquals(1.0, sum / n, 6 * Math.sqrt(p / (1 - p) / n), "mean of y for x = 1");
    }

    /**
     * The boundary u == p drops (u <= p): with p set to the uniform of one element, that element
     * is dropped, and with p one uniform step (2^-24) lower it is kept; the whole mask equals the
     * reference. Elements in a vector chunk and in the scalar tail, past 2^32 counter blocks.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void anElementWhoseUniformEqualsPIsDropped(Backend be) {
        int n = 1031;
        float[] x = TestData.uniform(5, n, 0.5f, 1f);
        for (int i : new int[] {0, 5, 37, 500, 1029}) {
            float p = Philox.uniformAt(SEED, OFFSET, i);
            if (p >= 1f) continue;
            Tensor mask = be.allocate(Shape.of(n)), y = be.allocate(Shape.of(n));
            be.dropoutForward(be.fromHost(x, Shape.of(n)), mask, y, p, SEED, OFFSET);
            float[] em = new float[n], ey = new float[n];
            Reference.dropoutForward(x, em, ey, p, SEED, OFFSET);
            assertEquals(0f, mask.toHost()[i], "element " + i + " has u == p: dropped");
            assertSameBits("mask with p = u[" + i + "]", em, mask.toHost());

            float below = p - 0x1p-24f; // the next uniform down (u = m 2^-24): now u > p, kept
            be.dropoutForward(be.fromHost(x, Shape.of(n)), mask, y, below, SEED, OFFSET);
            Reference.dropoutForward(x, em, ey, below, SEED, OFFSET);
            assertEquals(1f / (1f - below), mask.toHost()[i], "element " + i + " has u just above p: kept");
            assertSameBits("mask with p = u[" + i + "] - 2^-24", em, mask.toHost());
        }
    }

    /** y may be x and dx may be dy (in place); different offsets give different masks. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void inPlaceAndOffsets(Backend be) {
        int n = 207;
        float[] x = TestData.uniform(4, n, -1f, 1f), em = new float[n], ey = new float[n];
        Reference.dropoutForward(x, em, ey, 0.25f, 1L, 2L);
        Tensor t = be.fromHost(x, Shape.of(n)), mask = be.allocate(Shape.of(n));
        be.dropoutForward(t, mask, t, 0.25f, 1L, 2L);
        assertSameBits("y in place", ey, t.toHost());
        be.dropoutBackward(t, mask, t);
        float[] edx = new float[n];
        Reference.dropoutBackward(ey, em, edx);
        assertSameBits("dx in place", edx, t.toHost());

        Tensor other = be.allocate(Shape.of(n));
        be.dropoutForward(be.fromHost(x, Shape.of(n)), other, be.allocate(Shape.of(n)), 0.25f, 1L, 2L + Philox.blocks(n));
        assertTrue(!Arrays.equals(mask.toHost(), other.toHost()), "the next offset draws a new mask");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void rejectsBadRatesSizesAndAliasedMasks(Backend be) {
        Tensor x = be.allocate(Shape.of(8)), mask = be.allocate(Shape.of(8)), y = be.allocate(Shape.of(8));
        for (float p : new float[] {-0.1f, 1f, 1.5f, Float.NaN}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.dropoutForward(x, mask, y, p, 0L, 0L));
            assertTrue(e.getMessage().startsWith("dropoutForward: p must be in [0, 1)"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> be.dropoutForward(x, be.allocate(Shape.of(7)), y, 0.5f, 0L, 0L));
        assertThrows(IllegalArgumentException.class, () -> be.dropoutForward(x, mask, be.allocate(Shape.of(9)), 0.5f, 0L, 0L));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.dropoutForward(x, x, y, 0.5f, 0L, 0L));
        assertTrue(e.getMessage().contains("must not share memory"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> be.dropoutForward(x, y, y, 0.5f, 0L, 0L));
        assertThrows(IllegalArgumentException.class, () -> be.dropoutBackward(x, mask, be.allocate(Shape.of(9))));
        assertThrows(IllegalArgumentException.class, () -> be.dropoutBackward(x, be.allocate(Shape.of(7)), y));
    }
}
