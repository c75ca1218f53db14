package dev.jgan.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.F;
import static dev.jgan.cpu.Vec.FL;
import static dev.jgan.cpu.Vec.ORDER;
import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.set;

/**
 * Rounding float32 to bfloat16, kept as float32 values (the low 16 bits zero): the operands of
 * {@link dev.jgan.backend.Precision#BF16_EMULATED} GEMMs and convolutions. Round to nearest,
 * ties to even, as oneDNN's and the hardware's f32 -> bf16 conversions: add 0x7FFF plus the
 * lowest kept bit, then drop the low 16 bits. A carry out of the mantissa raises the exponent,
 * so the largest floats round to infinity as they should; infinities stay; a NaN stays a
 * (quiet) NaN, where the addition could have carried it into an infinity.
 */
public final class Bf16 {
    private Bf16() {}

    private static final int KEEP = 0xFFFF0000, QUIET = 0x00400000, HALF_MINUS_ONE = 0x7FFF;

    /** x rounded to the nearest bfloat16 (ties to even), as a float. */
    public static float round(float x) {
        int bits = Float.floatToRawIntBits(x);
        if (Float.isNaN(x)) return Float.intBitsToFloat((bits | QUIET) & KEEP);
        return Float.intBitsToFloat((bits + HALF_MINUS_ONE + ((bits >>> 16) & 1)) & KEEP);
    }

    /** dst[i] = round(src[i]) for i < n (dst may be src). */
    public static void round(MemorySegment src, MemorySegment dst, long n) {
        long i = 0;
        for (long bound = F.loopBound(n); i < bound; i += FL) {
            long at = i << 2;
            FloatVector x = FloatVector.fromMemorySegment(F, src, at, ORDER);
            IntVector bits = x.reinterpretAsInts();
            IntVector rounded = bits.add(HALF_MINUS_ONE).add(bits.lanewise(VectorOperators.LSHR, 16).and(1)).and(KEEP);
            VectorMask<Integer> nan = x.test(VectorOperators.IS_NAN).cast(bits.species());
            rounded.blend(bits.or(QUIET).and(KEEP), nan).reinterpretAsFloats().intoMemorySegment(dst, at, ORDER);
        }
        for (; i < n; i++) set(dst, i, round(get(src, i)));
    }
}
