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
 *   <li>32x32 -> 64-bit products as one {@code vpmuludq}: production's {@code x.mul(M)} is a 64x64
 *       multiply, which AVX2 lacks, so C2 emulates it (vpmulld, shuffles, adds, vpmuludq); with
 *       both operands {@code and(0xFFFFFFFF)} C2 sees a 32-bit product (JDK-8341137) and emits one
 *       vpmuludq. The high halves are left dirty through the rounds and masked only where read:
 *       the multiply's operands and the end.</li>
 *   <li>Words paired into int lanes: (w0 | w1 &lt;&lt; 32) and (w2 | w3 &lt;&lt; 32) per long lane are
 *       elements 4b..4b+1 and 4b+2..4b+3 as ints, so one 64-bit zip puts a whole chunk in element
 *       order; the test (word &gt;&gt;&gt; 8) &lt; floor(p 2^24) is then done on int lanes, twice as
 *       many per vector. Production narrows four compare masks (L2I) and zips them in two rounds
 *       of eight two-vector rearranges.</li>
 *   <li>Tried and dropped: two chunks per iteration for ILP (C2 unrolls the ten rounds already;
 *       eight state vectors spill on AVX2's 16 registers, 25% slower).</li>
 * </ul>
 * Measured (AMD EPYC Zen 3, AVX2, a shared 2-core machine, best of 60 calls at 64x64x14x14):
 * 1.5-2.2 ns an element against production's 3.4.
 *
 * <p>Bytes per element: 12 (reads x, writes mask and y). Operations per element: Philox's
 * integer ops, 10 rounds x (2 multiplies + 2 masks + 2 shifts + 4 xors) / 4 elements = 25, plus
 * the float multiply y = x * mask.
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
    /** Zips two long vectors a, b: ZIP_LO is a0 b0 a1 b1 ... of their first halves, ZIP_HI of their second halves. */
    private static final VectorShuffle<Long> ZIP_LO, ZIP_HI;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

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
        ZIP_LO = VectorShuffle.fromArray(LS, lo, 0);
        ZIP_HI = VectorShuffle.fromArray(LS, hi, 0);
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
        LongVector key0 = LongVector.broadcast(LS, seed & LO32), key1 = LongVector.broadcast(LS, seed >>> 32);
        LongVector w0 = LongVector.broadcast(LS, W0 & LO32), w1 = LongVector.broadcast(LS, W1 & LO32);
        long step = (long) LL << 3, i = 0;   // bytes of one int vector: 2 LL elements
        for (long bound = n - n % CHUNK; i < bound; i += CHUNK) {
            // counter (lo32(b), hi32(b), 0, 0) of blocks b = offset + i / 4 + lane; each word in the
            // low half of a long, the high half dirty (only the low half is ever read)
            LongVector block = lanes.add(offset + (i >>> 2));
            LongVector x0 = block, x1 = block.lanewise(VectorOperators.LSHR, 32), x2 = LongVector.zero(LS), x3 = x2;
            LongVector k0 = key0, k1 = key1;
            for (int r = 0; r < 10; r++) {
                // both operands masked: C2 emits one 32x32 -> 64-bit vpmuludq, not an emulated 64-bit product
                LongVector p0 = x0.and(LO32).mul(m0.and(LO32)), p1 = x2.and(LO32).mul(m1.and(LO32));
                x0 = p1.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.XOR, x1.lanewise(VectorOperators.XOR, k0));
                x2 = p0.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.XOR, x3.lanewise(VectorOperators.XOR, k1));
                x1 = p1;   // its low half is lo32(p1)
                x3 = p0;
                k0 = k0.add(w0);
                k1 = k1.add(w1);
            }
            // per block b: (w0, w1) and (w2, w3) as int pairs; zipped, the ints are elements in order
            LongVector w01 = x0.and(LO32).lanewise(VectorOperators.OR, x1.lanewise(VectorOperators.LSHL, 32));
            LongVector w23 = x2.and(LO32).lanewise(VectorOperators.OR, x3.lanewise(VectorOperators.LSHL, 32));
            IntVector e0 = w01.rearrange(ZIP_LO, w23).reinterpretAsInts(), e1 = w01.rearrange(ZIP_HI, w23).reinterpretAsInts();
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
