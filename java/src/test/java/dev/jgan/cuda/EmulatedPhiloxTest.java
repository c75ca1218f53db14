package dev.jgan.cuda;

import dev.jgan.backend.Backend;
import dev.jgan.random.Philox;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.check.Reference;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.IntStream;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import static dev.jgan.testing.Approx.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Philox fills and dropout through Kernels and the emulation: bit for bit the CPU backend's numbers. */
class EmulatedPhiloxTest {
    /** Seeds with zero, low-only and both key words; offsets 0, odd, and past 2^32 blocks (both counter words). */
    static final long[] SEEDS = {0L, 42L, 0x0123456789abcdefL};
    static final long[] OFFSETS = {0L, 7L, (1L << 32) + 3};

    static Stream<Arguments> cases() {
        return IntStream.of(1, 2, 3, 13, 207, 702, 1024, 65537).boxed().flatMap(n -> LongStream.of(SEEDS).boxed()
                .flatMap(seed -> LongStream.of(OFFSETS).mapToObj(off -> Arguments.of(n, seed, off))));
    }

    @ParameterizedTest(name = "n={0} seed={1} offset={2}")
    @MethodSource("cases")
    void fillsAreBitExactWithCpu(int n, long seed, long offset) {
        Kernels k = Emulation.kernels();
        Backend cpu = TestBackends.cpu();
        Tensor t = cpu.allocate(Shape.of(n));
        Emulation.Buffer b = new Emulation.Buffer(n);
        float[] expected = new float[n];

        k.fillUniform(b.address(), n, -1f, 3f, seed, offset);
        Reference.fillUniform(expected, -1f, 3f, seed, offset);
        assertSameBits("fillUniform", expected, b.get());
        cpu.fillUniform(t, -1f, 3f, seed, offset);
        assertSameBits("fillUniform vs cpu", t.toHost(), b.get());

        k.fillNormal(b.address(), n, 0.5f, 2f, seed, offset);
        Reference.fillNormal(expected, 0.5f, 2f, seed, offset);
        assertSameBits("fillNormal", expected, b.get());
        cpu.fillNormal(t, 0.5f, 2f, seed, offset);
        assertSameBits("fillNormal vs cpu", t.toHost(), b.get());

        k.fillBernoulli(b.address(), n, 0.3f, 2.5f, -1f, seed, offset);
        Reference.fillBernoulli(expected, 0.3f, 2.5f, -1f, seed, offset);
        assertSameBits("fillBernoulli", expected, b.get());
        cpu.fillBernoulli(t, 0.3f, 2.5f, -1f, seed, offset);
        assertSameBits("fillBernoulli vs cpu", t.toHost(), b.get());
    }

    /** Counter 0 under key 0 is the first Random123 known-answer vector: word 0 is 0x6627e8d5. */
    @Test
    void firstBlockIsTheKnownAnswer() {
        Emulation.Buffer b = new Emulation.Buffer(4);
        Emulation.kernels().fillUniform(b.address(), 4, 0f, 1f, 0L, 0L);
        assertEquals(Philox.uniform(0x6627e8d5), b.get()[0]);
    }

    /** Inverted dropout: mask_i = u_i <= p ? 0 : 1 / (1 - p) in float, y = x * mask, dx = dy * mask. */
    @ParameterizedTest(name = "n={0}")
    @MethodSource("dev.jgan.cuda.EmulatedActivationsTest#sizes")
    void dropoutMatchesItsDefinition(int n) {
        Kernels k = Emulation.kernels();
        float p = 0.3f, scale = 1f / (1f - p);
        long seed = 99, offset = 5;
        float[] x = TestData.uniform(n, n, -2f, 2f), dy = TestData.uniform(n + 1, n, -1f, 1f);
        float[] mask = new float[n], y = new float[n], dx = new float[n];
        for (int i = 0; i < n; i++) {
            mask[i] = Philox.uniformAt(seed, offset, i) <= p ? 0f : scale;
            y[i] = x[i] * mask[i];
            dx[i] = dy[i] * mask[i];
        }
        Emulation.Buffer bx = Emulation.Buffer.of(x), bm = new Emulation.Buffer(n), by = new Emulation.Buffer(n);
        k.dropoutForward(bx.address(), bm.address(), by.address(), n, p, seed, offset);
        assertSameBits("mask", mask, bm.get());
        assertSameBits("y", y, by.get());
        Emulation.Buffer bdy = Emulation.Buffer.of(dy), bdx = new Emulation.Buffer(n);
        k.dropoutBackward(bdy.address(), bm.address(), bdx.address(), n);
        assertSameBits("dx", dx, bdx.get());
    }
}
