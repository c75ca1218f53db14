package dev.jgan.backend;

import dev.jgan.random.Philox;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.check.Reference;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import static dev.jgan.testing.Approx.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Philox fills: bit for bit the documented mapping, at odd sizes and offsets; normal statistics. */
class RandomFillTest {
    /** Seeds with zero, low-only and both key words; offsets 0, odd, and past 2^32 blocks (both counter words). */
    static final long[] SEEDS = {0L, 42L, 0x0123456789abcdefL};
    static final long[] OFFSETS = {0L, 7L, (1L << 32) + 3};

    static Stream<Arguments> cases() {
        return TestBackends.all().flatMap(be -> IntStream.of(1, 2, 3, 13, 207, 702, 1024).boxed()
                .flatMap(n -> LongStream.of(SEEDS).boxed().flatMap(seed -> LongStream.of(OFFSETS)
                        .mapToObj(off -> Arguments.of(Named.of(be.name(), be), n, seed, off)))));
    }

    @ParameterizedTest(name = "{0} n={1} seed={2} offset={3}")
    @MethodSource("cases")
    void bitExactWithPhilox(Backend be, int n, long seed, long offset) {
        Tensor t = be.allocate(Shape.of(n));
        float[] expected = new float[n];

        be.fillUniform(t, -1f, 3f, seed, offset);
        Reference.fillUniform(expected, -1f, 3f, seed, offset);
        assertSameBits("fillUniform", expected, t.toHost());
        for (int i = 0; i < n; i++) assertEquals(-1f + 4f * Philox.uniformAt(seed, offset, i), expected[i]);

        be.fillNormal(t, 0.5f, 2f, seed, offset);
        Reference.fillNormal(expected, 0.5f, 2f, seed, offset);
        assertSameBits("fillNormal", expected, t.toHost());

        be.fillNormal(t, 0f, 1f, seed, offset);
        for (int i = 0; i < n; i++) expected[i] = Philox.normalAt(seed, offset, i);
        assertSameBits("fillNormal(0, 1) is Philox.normalAt", expected, t.toHost());

        be.fillBernoulli(t, 0.3f, 2.5f, -1f, seed, offset);
        Reference.fillBernoulli(expected, 0.3f, 2.5f, -1f, seed, offset);
        assertSameBits("fillBernoulli", expected, t.toHost());
    }

    /** Counter 0 under key 0 is the first Random123 vector: word 0 is 0x6627e8d5. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void firstBlockIsTheKnownAnswer(Backend be) {
        Tensor t = be.allocate(Shape.of(4));
        be.fillUniform(t, 0f, 1f, 0L, 0L);
        float[] u = t.toHost();
        int[] words = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
        for (int i = 0; i < 4; i++) assertEquals(((words[i] >>> 8) + 1) * 0x1p-24f, u[i], "word " + i);
    }

    /** Successive fills at offsets advanced by blocks(n) continue one stream when n is a multiple of 4. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void offsetsCountBlocks(Backend be) {
        Tensor whole = be.allocate(Shape.of(40)), first = be.allocate(Shape.of(12)), rest = be.allocate(Shape.of(28));
        be.fillNormal(whole, 0f, 1f, 5L, 100L);
        be.fillNormal(first, 0f, 1f, 5L, 100L);
        be.fillNormal(rest, 0f, 1f, 5L, 100L + Philox.blocks(12));
        float[] w = whole.toHost(), a = first.toHost(), b = rest.toHost();
        assertSameBits("first part", Arrays.copyOfRange(w, 0, 12), a);
        assertSameBits("second part", Arrays.copyOfRange(w, 12, 40), b);
    }

    /**
     * 2^20 normals: the sample mean has standard error 1/1024 and the sample std about
     * 1/sqrt(2 * 2^20) = 6.9e-4; 6 standard errors cannot fail by chance (p ~ 2e-9) yet catch a
     * wrong scale, a missing pair or a sin/cos slip.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void normalAndUniformStatistics(Backend be) {
        int n = 1 << 20;
        Tensor t = be.allocate(Shape.of(n));
        be.fillNormal(t, 3f, 0.5f, 1234L, 99L);
        float[] z = t.toHost();
        double sum = 0, squares = 0, odd = 0, oddSquares = 0;
        for (int i = 0; i < n; i++) {
            double v = (z[i] - 3.0) / 0.5;
            sum += v;
            squares += v * v;
            if ((i & 1) == 1) { odd += v; oddSquares += v * v; }
        }
        double mean = sum / n, std = Math.sqrt(squares / n - mean * mean);
        assertEquals(0, mean, 6.0 / Math.sqrt(n), "normal mean");
        assertEquals(1, std, 6.0 / Math.sqrt(2.0 * n), "normal std");
        double oddMean = odd / (n / 2.0), oddStd = Math.sqrt(oddSquares / (n / 2.0) - oddMean * oddMean);
        assertEquals(0, oddMean, 6.0 / Math.sqrt(n / 2.0), "sin half mean");
        assertEquals(1, oddStd, 6.0 / Math.sqrt(n), "sin half std");

        be.fillUniform(t, -2f, 2f, 1234L, 99L);
        float[] u = t.toHost();
        double us = 0, min = Double.MAX_VALUE, max = -Double.MAX_VALUE;
        for (float v : u) { us += v; min = Math.min(min, v); max = Math.max(max, v); }
        assertEquals(0, us / n, 6.0 * Math.sqrt(16.0 / 12.0 / n), "uniform mean");
        assertTrue(min > -2f && max <= 2f, "uniform in (lo, hi]: " + min + " .. " + max);

        be.fillBernoulli(t, 0.25f, 1f, 0f, 1234L, 99L);
        double ones = 0;
        for (float v : t.toHost()) ones += v;
        assertEquals(0.25, ones / n, 6.0 * Math.sqrt(0.25 * 0.75 / n), "bernoulli rate");
    }
}
