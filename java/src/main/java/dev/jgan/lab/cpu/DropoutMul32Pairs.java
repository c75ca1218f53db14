package dev.jgan.lab.cpu;

import dev.jgan.backend.Backend;
import dev.jgan.backend.OpChecks;
import dev.jgan.cpu.Dropout;
import dev.jgan.cpu.HostStorage;
import dev.jgan.lab.ForwardingBackend;
import dev.jgan.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Kernel lab, dropout:mul32-pairs (CPU). The production mask (dev.jgan.cpu.Dropout: Philox 4x32-10,
 * one counter block per 64-bit lane, element i = word i % 4 of block offset + i / 4), computed
 * another way; the bits are the same.
 *
 * <p>Tries, after reading C2's code for production on AVX2 (JDK 25):
 * <ul>
 *   <li>32x32 -> 64-bit products as one {@code vpmuludq}. Production's {@code x.mul(M)} is a 64x64
 *       multiply, which AVX2 lacks, so C2 emulates it (vpmulld, shuffles, adds and vpmuludq). With
 *       the operands {@code a >>> 32} and {@code M & 0xFFFFFFFF}, C2 sees a 32-bit product
 *       (JDK-8341137) and emits the shift and one vpmuludq.</li>
 *   <li>Two words per long lane: a = (x0 : x1) and b = (x2 : x3), high half : low half. A round is
 *       then a = p1 ^ ((a &lt;&lt; 32) ^ k0), b = p0 ^ ((b &lt;&lt; 32) ^ k1) with p0 = M0 (a &gt;&gt;&gt; 32),
 *       p1 = M1 (b &gt;&gt;&gt; 32): the product's high half lands on x0 (x2) and its low half is the
 *       next x1 (x3) as it stands, so nothing is masked, and the chain from one product to the next
 *       is a multiply, a xor and a shift (the key xor is off it), one op shorter.</li>
 *   <li>The mask in element order from one two-vector int rearrange per output vector: the
 *       ints of a and b are (x1, x0) and (x3, x2) per block, and one shuffle puts x0 x1 x2 x3 of
 *       each block in place; the test (word &gt;&gt;&gt; 8) &lt; floor(p 2^24) is then done on int lanes,
 *       twice as many per vector. Production narrows four compare masks (L2I) and zips them with
 *       two rounds of four two-vector rearranges.</li>
 *   <li>Tried and dropped: one word per long lane with the products' operands masked (1.54 ns an
 *       element: a mask on every product's path); two chunks per iteration for ILP (C2 unrolls the
 *       ten rounds already; 1.25 or 1.7 ns from one JVM to the next, where one chunk is a steady
 *       1.48).</li>
 * </ul>
 * Measured (AMD EPYC Zen 3, AVX2, a shared 2-core machine, best of 200 warm calls, one JVM per
 * variant): 1.49 ns an element against production's 3.43, at 64x64x14x14 and at 64x128x7x7.
 *
 * <p>Bytes per element: 12 (reads x, writes mask and y). FLOPs per element: 1, the multiply
 * y = x * mask, as the baseline counts them; besides, Philox's integer ops, 10 rounds x
 * (2 multiplies + 4 shifts + 4 xors) / 4 elements = 25. Production's round has 2 masks, 2 shifts
 * and 4 xors around two emulated 64-bit products of 7 ops each (vpshufd, vpmulld, vpshufd, vpaddd,
 * vpsllq, vpmuludq, vpaddq), 55 ops per element; and C2 does not fully unroll its rounds loop.
 *
 * <p>Status: experiment. dropoutBackward (dy * mask) is production's.
 *
 * <p>Long vectors of fewer than 4 lanes (SSE, AVX1) have no compiled rearrange (see Dropout), so
 * there the call goes to production's forward, which is scalar there; the tail of every call
 * (fewer than 4 lanes x 4 elements) is production's scalar Philox.
 */
public final class DropoutMul32Pairs extends ForwardingBackend {
    private static final VectorSpecies<Long> LS = LongVector.SPECIES_PREFERRED;
    private static final int LL = LS.length();
    /** Ints and floats of the long vectors' size: two elements per long lane. */
    private static final VectorSpecies<Integer> IS = VectorSpecies.of(int.class, LS.vectorShape());
    private static final VectorSpecies<Float> FS = VectorSpecies.of(float.class, LS.vectorShape());
    /** Elements per vector iteration: four per block, one block per long lane. */
    static final int CHUNK = 4 * LL;
    /** Whether the vector path runs here (see the class comment); package-private for the test. */
    static final boolean VECTOR = LL >= 4;
    /** The ints of a and b in element order: WORDS_LO for the chunk's first half of blocks, WORDS_HI for its second. */
    private static final VectorShuffle<Integer> WORDS_LO, WORDS_HI;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private static final int M0 = 0xD2511F53, M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9, W1 = 0xBB67AE85;
    private static final long LO32 = 0xFFFFFFFFL;

    static {
        int n = IS.length();   // 2 LL ints: the four words of LL / 2 blocks
        int[] lo = new int[n], hi = new int[n];
        for (int k = 0; k < n; k++) {
            // element k of a half: word w of its block j; the block's x0 is the high int (2j + 1) of
            // a's lane j, x1 the low int (2j), x2 and x3 the same of b (index - n, exceptional, picks the second vector)
            int j = k / 4, w = k % 4;
            int at = switch (w) {
                case 0 -> 2 * j + 1;
                case 1 -> 2 * j;
                case 2 -> 2 * j + 1 - n;
                default -> 2 * j - n;
            };
            lo[k] = at;
            hi[k] = at + LL;   // blocks LL / 2 on: ints LL on
        }
        WORDS_LO = VectorShuffle.fromArray(IS, lo, 0);
        WORDS_HI = VectorShuffle.fromArray(IS, hi, 0);
    }

    public DropoutMul32Pairs(Backend base) {
        super(base);
    }

    // mask = u <= p ? 0 : 1 / (1 - p); y = x * mask
    @Override public void dropoutForward(Tensor x, Tensor mask, Tensor y, float p, long seed, long offset) {
        if (!VECTOR) {
            base.dropoutForward(x, mask, y, p, seed, offset);
            return;
        }
        String op = "dropoutForward";
        MemorySegment sx = seg(op, "x", x), sm = seg(op, "mask", mask), sy = seg(op, "y", y);
        OpChecks.dropout(op, x, mask, y, p);
        long n = x.size();
        long done = forwardVector(sx, sm, sy, n, p, seed, offset);
        Dropout.forwardScalar(sx, sm, sy, done, n, p, seed, offset);
    }

    /** Whole chunks of CHUNK elements from element 0; returns how many elements it did. */
    static long forwardVector(MemorySegment x, MemorySegment mask, MemorySegment y, long n, float p, long seed, long offset) {
        int threshold = (int) Math.floor(p * (double) (1 << 24));
        int scaleBits = Float.floatToRawIntBits(1f / (1f - p));
        LongVector lanes = LongVector.zero(LS).addIndex(1);
        LongVector m0 = LongVector.broadcast(LS, M0 & LO32), m1 = LongVector.broadcast(LS, M1 & LO32);
        // keys and their Weyl steps in the high halves, where they meet x0 and x2 (a carry falls off the top)
        LongVector key0 = LongVector.broadcast(LS, seed << 32), key1 = LongVector.broadcast(LS, seed & ~LO32);
        LongVector w0 = LongVector.broadcast(LS, (long) W0 << 32), w1 = LongVector.broadcast(LS, (long) W1 << 32);
        long step = (long) LL << 3, i = 0;   // bytes of one int vector: 2 LL elements
        for (long bound = n - n % CHUNK; i < bound; i += CHUNK) {
            // counter (x0, x1, x2, x3) = (lo32(c), hi32(c), 0, 0) of blocks c = offset + i / 4 + lane
            LongVector c = lanes.add(offset + (i >>> 2));
            LongVector a = c.lanewise(VectorOperators.ROL, 32), b = LongVector.zero(LS);
            LongVector k0 = key0, k1 = key1;
            for (int r = 0; r < 10; r++) {
                // p0 = M0 x0, p1 = M1 x2, 64-bit; operands as C2 needs them for one vpmuludq
                LongVector p0 = a.lanewise(VectorOperators.LSHR, 32).mul(m0.and(LO32));
                LongVector p1 = b.lanewise(VectorOperators.LSHR, 32).mul(m1.and(LO32));
                // (x0, x1) = (hi(p1) ^ x1 ^ k0, lo(p1)), (x2, x3) = (hi(p0) ^ x3 ^ k1, lo(p0))
                a = p1.lanewise(VectorOperators.XOR, a.lanewise(VectorOperators.LSHL, 32).lanewise(VectorOperators.XOR, k0));
                b = p0.lanewise(VectorOperators.XOR, b.lanewise(VectorOperators.LSHL, 32).lanewise(VectorOperators.XOR, k1));
                k0 = k0.add(w0);
                k1 = k1.add(w1);
            }
            IntVector ai = a.reinterpretAsInts(), bi = b.reinterpretAsInts();
            IntVector e0 = ai.rearrange(WORDS_LO, bi), e1 = ai.rearrange(WORDS_HI, bi);
            // dropped where (word >>> 8) < threshold (both below 2^24 + 1, so a signed compare is right)
            VectorMask<Integer> d0 = e0.lanewise(VectorOperators.LSHR, 8).compare(VectorOperators.LT, threshold);
            VectorMask<Integer> d1 = e1.lanewise(VectorOperators.LSHR, 8).compare(VectorOperators.LT, threshold);
            // kept: the bits of scale; dropped: 0 (+0f); then y = x * mask
            IntVector scale = IntVector.broadcast(IS, scaleBits);
            IntVector mask0 = scale.blend(0, d0), mask1 = scale.blend(0, d1);
            long at = i << 2;
            mask0.intoMemorySegment(mask, at, ORDER);
            mask1.intoMemorySegment(mask, at + step, ORDER);
            FloatVector.fromMemorySegment(FS, x, at, ORDER).mul(mask0.reinterpretAsFloats()).intoMemorySegment(y, at, ORDER);
            FloatVector.fromMemorySegment(FS, x, at + step, ORDER).mul(mask1.reinterpretAsFloats()).intoMemorySegment(y, at + step, ORDER);
        }
        return i;
    }

    private static MemorySegment seg(String op, String name, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        if (!(t.storage() instanceof HostStorage h))
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " belongs to the "
                    + t.owner().name() + " backend, not the cpu backend (dropout:mul32-pairs is a CPU variant)");
        return h.segment();
    }
}
