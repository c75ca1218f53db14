package dev.jgan.cpu;

import dev.jgan.random.Philox;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.set;

/**
 * Philox 4x32-10 fills with exactly the mapping {@link Philox} documents (tests check them bit for
 * bit against {@link Philox#uniformAt} and {@link Philox#normalAt}): element i takes word i % 4 of
 * block offset + i / 4 under key (lo32(seed), hi32(seed)). Each block is computed once for its
 * four elements; the rounds are inlined here (not {@link Philox#block}) so that no array is needed.
 */
final class RandomFill {
    static final int UNIFORM = 0, NORMAL = 1, BERNOULLI = 2;

    private static final int M0 = 0xD2511F53, M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9, W1 = 0xBB67AE85;
    private static final double TWO_POW_M24 = 1.0 / (1 << 24);
    private static final long LO32 = 0xFFFFFFFFL;

    private RandomFill() {}

    /**
     * UNIFORM: t = a + (b - a) * u. NORMAL: t = a + b * z. BERNOULLI: t = u <= a ? b : c.
     * The mapping is float arithmetic in exactly this order, as the reference does it.
     */
    static void fill(MemorySegment t, long n, int kind, float a, float b, float c, long seed, long offset) {
        fill(t, 0, n, kind, a, b, c, seed, offset);
    }

    /** Elements [from, n) of the fill of n elements; from is a multiple of 4 (a block boundary). */
    static void fill(MemorySegment t, long from, long n, int kind, float a, float b, float c, long seed, long offset) {
        int k0Start = (int) seed, k1Start = (int) (seed >>> 32);
        float range = b - a;
        for (long i = from; i < n; i += 4) {
            long block = offset + (i >>> 2);
            int x0 = (int) block, x1 = (int) (block >>> 32), x2 = 0, x3 = 0;
            int k0 = k0Start, k1 = k1Start;
            for (int r = 0; r < 10; r++) {
                long p0 = (M0 & LO32) * (x0 & LO32);
                long p1 = (M1 & LO32) * (x2 & LO32);
                x0 = (int) (p1 >>> 32) ^ x1 ^ k0;
                x1 = (int) p1;
                x2 = (int) (p0 >>> 32) ^ x3 ^ k1;
                x3 = (int) p0;
                k0 += W0;
                k1 += W1;
            }
            int count = (int) Math.min(4, n - i);
            switch (kind) {
                case UNIFORM -> {
                    set(t, i, a + range * Philox.uniform(x0));
                    if (count > 1) set(t, i + 1, a + range * Philox.uniform(x1));
                    if (count > 2) set(t, i + 2, a + range * Philox.uniform(x2));
                    if (count > 3) set(t, i + 3, a + range * Philox.uniform(x3));
                }
                case BERNOULLI -> {
                    set(t, i, Philox.uniform(x0) <= a ? b : c);
                    if (count > 1) set(t, i + 1, Philox.uniform(x1) <= a ? b : c);
                    if (count > 2) set(t, i + 2, Philox.uniform(x2) <= a ? b : c);
                    if (count > 3) set(t, i + 3, Philox.uniform(x3) <= a ? b : c);
                }
                default -> {
                    // Box-Muller in double over the word pairs (0, 1) and (2, 3), as Philox.normal
                    double r = Math.sqrt(-2.0 * Math.log(((x0 >>> 8) + 1) * TWO_POW_M24));
                    double theta = 2.0 * Math.PI * (((x1 >>> 8) + 1) * TWO_POW_M24);
                    set(t, i, a + b * (float) (r * Math.cos(theta)));
                    if (count > 1) set(t, i + 1, a + b * (float) (r * Math.sin(theta)));
                    if (count > 2) {
                        r = Math.sqrt(-2.0 * Math.log(((x2 >>> 8) + 1) * TWO_POW_M24));
                        theta = 2.0 * Math.PI * (((x3 >>> 8) + 1) * TWO_POW_M24);
                        set(t, i + 2, a + b * (float) (r * Math.cos(theta)));
                        if (count > 3) set(t, i + 3, a + b * (float) (r * Math.sin(theta)));
                    }
                }
            }
        }
    }
}
