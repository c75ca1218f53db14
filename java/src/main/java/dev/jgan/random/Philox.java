package dev.jgan.random;

/**
 * Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): the
 * counter-based generator behind every random fill, on every backend.
 *
 * <p>The draw of element {@code i} of a fill with ({@code seed}, {@code offset}): block
 * {@code b = offset + i / 4} gives the counter {@code (lo32(b), hi32(b), 0, 0)}, the seed gives
 * the key {@code (lo32(seed), hi32(seed))}, and the element takes word {@code i % 4} of the
 * output. Uniforms are {@code ((word >>> 8) + 1) * 2^-24}, in (0, 1]. Normals are Box-Muller over
 * the word pairs (0, 1) and (2, 3) of a block, computed in double and rounded to float (HotSpot's
 * interpreter and compilers share one implementation of Math.log, cos and sin, so the bits do not
 * depend on the JIT tier; a GPU's double functions may differ in the last bit of a rare float):
 * {@code r = sqrt(-2 ln u_a)}, {@code theta = 2 pi u_b}; the even element takes {@code r cos theta},
 * the odd one {@code r sin theta}.
 */
public final class Philox {
    private static final int M0 = 0xD2511F53, M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9, W1 = 0xBB67AE85;
    private static final double TWO_POW_M24 = 1.0 / (1 << 24);

    private Philox() {}

    /** Counter blocks a fill of n elements consumes. */
    public static long blocks(long n) { return (n + 3) >>> 2; }

    /** The four output words for counter (c0..c3) and key (k0, k1), written into out[0..3]. */
    public static void block(int c0, int c1, int c2, int c3, int k0, int k1, int[] out) {
        for (int r = 0; r < 10; r++) {
            long p0 = (M0 & 0xFFFFFFFFL) * (c0 & 0xFFFFFFFFL);
            long p1 = (M1 & 0xFFFFFFFFL) * (c2 & 0xFFFFFFFFL);
            int hi0 = (int) (p0 >>> 32), lo0 = (int) p0;
            int hi1 = (int) (p1 >>> 32), lo1 = (int) p1;
            c0 = hi1 ^ c1 ^ k0;
            c1 = lo1;
            c2 = hi0 ^ c3 ^ k1;
            c3 = lo0;
            k0 += W0;
            k1 += W1;
        }
        out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
    }

    /** The four words of block {@code b} under {@code seed}. */
    public static void block(long seed, long b, int[] out) {
        block((int) b, (int) (b >>> 32), 0, 0, (int) seed, (int) (seed >>> 32), out);
    }

    /** A word as a uniform float in (0, 1]: 24 random bits, never 0 so that log is finite. */
    public static float uniform(int word) {
        return (float) (((word >>> 8) + 1) * TWO_POW_M24);
    }

    /** The Box-Muller normal of element {@code i % 4} of a block's words. */
    public static float normal(int[] words, int lane) {
        int pair = lane & 2;
        double u1 = ((words[pair] >>> 8) + 1) * TWO_POW_M24;
        double u2 = ((words[pair + 1] >>> 8) + 1) * TWO_POW_M24;
        double r = Math.sqrt(-2.0 * Math.log(u1));
        double theta = 2.0 * Math.PI * u2;
        return (float) ((lane & 1) == 0 ? r * Math.cos(theta) : r * Math.sin(theta));
    }

    /** Uniform of element i of a fill (slow path, for references and tests). */
    public static float uniformAt(long seed, long offset, long i) {
        int[] w = new int[4];
        block(seed, offset + (i >>> 2), w);
        return uniform(w[(int) (i & 3)]);
    }

    /** Normal of element i of a fill (slow path, for references and tests). */
    public static float normalAt(long seed, long offset, long i) {
        int[] w = new int[4];
        block(seed, offset + (i >>> 2), w);
        return normal(w, (int) (i & 3));
    }
}
