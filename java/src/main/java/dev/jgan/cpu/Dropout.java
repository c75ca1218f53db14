package dev.jgan.cpu;

import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.F;
import static dev.jgan.cpu.Vec.FL;
import static dev.jgan.cpu.Vec.ORDER;
import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.set;
import static jdk.incubator.vector.FloatVector.fromMemorySegment;

/**
 * Inverted dropout over n contiguous floats: mask_i = u_i <= p ? 0 : scale with u_i the Philox
 * uniform of element i (bit for bit what fillBernoulli(p, 0, scale) draws, on every backend) and
 * scale = 1f / (1f - p) in float; y = x * mask. Outputs may alias inputs (y = x, dx = dy); the
 * mask must not alias either.
 *
 * <p>The mask is drawn by Philox 4x32-10 run across vector lanes, one counter block per 64-bit
 * lane (the 32x32 -> 64-bit products fit a long lane exactly), four elements per block. The test
 * u <= p is done on integers: u = m 2^-24 with m = (word >>> 8) + 1, so u <= p exactly when
 * (word >>> 8) < floor(p 2^24) (p 2^24 is exact in double). The four word vectors are then zipped
 * into element order with two rounds of two-vector rearranges. Measured here: 1.7 ns an element
 * with AVX-512, 4.3 with AVX2 (the scalar Philox of {@link RandomFill}: 9.5). Long vectors of
 * fewer than 4 lanes (SSE, AVX1) have no compiled rearrange and conversions (C2 falls back to
 * allocating Java code, ~70 ns an element), so there the whole fill is scalar; the tail of every
 * fill (fewer than 4 lanes x 4 elements) is scalar too.
 *
 * <p>Public for the kernel lab's CPU variants (dev.jgan.lab.cpu), which use {@link #forwardScalar}
 * for their tails; the rest is the CPU backend's.
 */
public final class Dropout {
    private static final VectorSpecies<Long> LS = LongVector.SPECIES_PREFERRED;
    private static final int LL = LS.length();
    /** Ints of the same lane count: the mask's float bits, narrowed from the long lanes. */
    private static final VectorSpecies<Integer> IS = VectorSpecies.of(int.class, VectorShape.forBitSize(LS.vectorBitSize() / 2));
    private static final VectorSpecies<Float> FS = VectorSpecies.of(float.class, IS.vectorShape());
    /** Elements per vector iteration: four per block, one block per long lane. */
    static final int CHUNK = 4 * LL;
    /** Whether the vector Philox runs here (see the class comment); package-private for the tests. */
    static final boolean VECTOR_PHILOX = LL >= 4;
    /** Zips two vectors a, b: ZIP_LO takes a0 b0 a1 b1 ... from their first halves, ZIP_HI from their second halves. */
    private static final VectorShuffle<Integer> ZIP_LO, ZIP_HI;

    private static final int M0 = 0xD2511F53, M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9, W1 = 0xBB67AE85;
    private static final long LO32 = 0xFFFFFFFFL;

    static {
        int[] lo = new int[LL], hi = new int[LL];
        for (int i = 0; i < LL; i++) {
            // in a two-vector rearrange, index j - LL (exceptional) picks lane j of the second vector
            lo[i] = (i & 1) == 0 ? i / 2 : i / 2 - LL;
            hi[i] = (i & 1) == 0 ? LL / 2 + i / 2 : LL / 2 + i / 2 - LL;
        }
        ZIP_LO = VectorShuffle.fromArray(IS, lo, 0);
        ZIP_HI = VectorShuffle.fromArray(IS, hi, 0);
    }

    private Dropout() {}

    // mask = u <= p ? 0 : 1 / (1 - p); y = x * mask
    static void forward(MemorySegment x, MemorySegment mask, MemorySegment y, long n, float p, long seed, long offset) {
        long done = VECTOR_PHILOX ? forwardVector(x, mask, y, n, p, seed, offset) : 0;
        forwardScalar(x, mask, y, done, n, p, seed, offset);
    }

    /** Whole chunks of CHUNK elements from element 0; returns how many elements it did. */
    static long forwardVector(MemorySegment x, MemorySegment mask, MemorySegment y, long n, float p, long seed, long offset) {
        int k0Start = (int) seed, k1Start = (int) (seed >>> 32);
        long threshold = (long) Math.floor(p * (double) (1 << 24));
        int scaleBits = Float.floatToRawIntBits(1f / (1f - p));
        LongVector lanes = LongVector.zero(LS).addIndex(1);
        long step = (long) LL << 2, i = 0;
        for (long bound = n - n % CHUNK; i < bound; i += CHUNK) {
            // counter (lo32(b), hi32(b), 0, 0) of blocks b = offset + i / 4 + lane; each word in the low half of a long
            LongVector block = lanes.add(offset + (i >>> 2));
            LongVector x0 = block.and(LO32), x1 = block.lanewise(VectorOperators.LSHR, 32), x2 = LongVector.zero(LS), x3 = x2;
            int k0 = k0Start, k1 = k1Start;
            for (int r = 0; r < 10; r++) {
                LongVector p0 = x0.mul(M0 & LO32), p1 = x2.mul(M1 & LO32);
                LongVector n0 = p1.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.XOR, x1).lanewise(VectorOperators.XOR, k0 & LO32);
                LongVector n2 = p0.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.XOR, x3).lanewise(VectorOperators.XOR, k1 & LO32);
                x1 = p1.and(LO32);
                x3 = p0.and(LO32);
                x0 = n0;
                x2 = n2;
                k0 += W0;
                k1 += W1;
            }
            // dropped: (word >>> 8) < threshold, as -1 int lanes (0 where kept)
            IntVector d0 = (IntVector) x0.lanewise(VectorOperators.LSHR, 8).compare(VectorOperators.LT, threshold).toVector()
                    .convertShape(VectorOperators.L2I, IS, 0);
            IntVector d1 = (IntVector) x1.lanewise(VectorOperators.LSHR, 8).compare(VectorOperators.LT, threshold).toVector()
                    .convertShape(VectorOperators.L2I, IS, 0);
            IntVector d2 = (IntVector) x2.lanewise(VectorOperators.LSHR, 8).compare(VectorOperators.LT, threshold).toVector()
                    .convertShape(VectorOperators.L2I, IS, 0);
            IntVector d3 = (IntVector) x3.lanewise(VectorOperators.LSHR, 8).compare(VectorOperators.LT, threshold).toVector()
                    .convertShape(VectorOperators.L2I, IS, 0);
            // word w of block j is element 4 j + w: zip (0, 2) and (1, 3), then the two results
            IntVector z0 = d0.rearrange(ZIP_LO, d2), z1 = d0.rearrange(ZIP_HI, d2);
            IntVector z2 = d1.rearrange(ZIP_LO, d3), z3 = d1.rearrange(ZIP_HI, d3);
            // kept: the bits of scale; dropped: 0 (+0f); then y = x * mask
            IntVector m0 = z0.rearrange(ZIP_LO, z2).not().and(scaleBits), m1 = z0.rearrange(ZIP_HI, z2).not().and(scaleBits);
            IntVector m2 = z1.rearrange(ZIP_LO, z3).not().and(scaleBits), m3 = z1.rearrange(ZIP_HI, z3).not().and(scaleBits);
            long at = i << 2;
            m0.intoMemorySegment(mask, at, ORDER);
            m1.intoMemorySegment(mask, at + step, ORDER);
            m2.intoMemorySegment(mask, at + 2 * step, ORDER);
            m3.intoMemorySegment(mask, at + 3 * step, ORDER);
            fromMemorySegment(FS, x, at, ORDER).mul(m0.reinterpretAsFloats()).intoMemorySegment(y, at, ORDER);
            fromMemorySegment(FS, x, at + step, ORDER).mul(m1.reinterpretAsFloats()).intoMemorySegment(y, at + step, ORDER);
            fromMemorySegment(FS, x, at + 2 * step, ORDER).mul(m2.reinterpretAsFloats()).intoMemorySegment(y, at + 2 * step, ORDER);
            fromMemorySegment(FS, x, at + 3 * step, ORDER).mul(m3.reinterpretAsFloats()).intoMemorySegment(y, at + 3 * step, ORDER);
        }
        return i;
    }

    /** Elements [from, n), from a multiple of 4: the scalar Philox of RandomFill, then y = x * mask. */
    public static void forwardScalar(MemorySegment x, MemorySegment mask, MemorySegment y, long from, long n, float p, long seed, long offset) {
        RandomFill.fill(mask, from, n, RandomFill.BERNOULLI, p, 0f, 1f / (1f - p), seed, offset);
        long i = from;
        for (long bound = from + F.loopBound(n - from); i < bound; i += FL) {
            long at = i << 2;
            fromMemorySegment(F, x, at, ORDER).mul(fromMemorySegment(F, mask, at, ORDER)).intoMemorySegment(y, at, ORDER);
        }
        for (; i < n; i++) set(y, i, get(x, i) * get(mask, i));
    }

    // dx = dy * mask
    static void backward(MemorySegment dy, MemorySegment mask, MemorySegment dx, long n) {
        long i = 0;
        for (long bound = F.loopBound(n); i < bound; i += FL) {
            long at = i << 2;
            fromMemorySegment(F, dy, at, ORDER).mul(fromMemorySegment(F, mask, at, ORDER)).intoMemorySegment(dx, at, ORDER);
        }
        for (; i < n; i++) set(dx, i, get(dy, i) * get(mask, i));
    }
}
