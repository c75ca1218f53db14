package dev.jgan.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * exp and tanh for the Vector API from additions, multiplications and bit operations only.
 *
 * <p>Why not {@code lanewise(EXP)}: HotSpot computes the Vector API's transcendental ops with a
 * vector math library once C2 has compiled a loop, and with a scalar Java fallback before that;
 * the two differ in the last bit, so a training run's numbers would depend on when the JIT
 * kicked in, and a resumed run would not reproduce an uninterrupted one. IEEE add, multiply and
 * fma give the same bits in every tier. Accuracy: about 2 ulp for exp, 3e-7 absolute for tanh
 * (polynomials of Cephes' expf and tanhf).
 */
final class VecMath {
    private static final float LOG2E = 1.44269504088896341f;
    // ln 2 split in two so that k * C1 is exact for |k| < 2^10
    private static final float C1 = 0.693359375f, C2 = -2.12194440e-4f;
    /** e^x is +inf in float beyond this. */
    private static final float OVERFLOW = 88.72283905206835f;
    private static final float EXP_HI = 88.0f, EXP_LO = -87.3365478515625f;   // so that 2^k stays a normal float
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;
    private static final float T0 = -5.70498872745e-3f, T1 = 2.06390887954e-2f, T2 = -5.37397155531e-2f,
            T3 = 1.33314422036e-1f, T4 = -3.33332819422e-1f;
    /** Below this |x|, tanh's polynomial; above, 1 - 2 / (exp(2|x|) + 1). */
    private static final float TANH_SMALL = 0.625f;
    /** tanh(x) rounds to +-1 in float beyond this. */
    private static final float TANH_ONE = 9.1f;

    private VecMath() {}

    /** e^x lane by lane: +inf above 88.72, 0 where e^x is below the smallest normal float. */
    static FloatVector exp(FloatVector x) {
        VectorMask<Float> over = x.compare(VectorOperators.GT, OVERFLOW), under = x.compare(VectorOperators.LT, EXP_LO);
        FloatVector y = expInRange(x.max(EXP_LO).min(EXP_HI));
        return y.blend(Float.POSITIVE_INFINITY, over).blend(0f, under);
    }

    private static FloatVector expInRange(FloatVector x) {
        var s = x.species();
        // k = floor(x log2(e) + 1/2): truncate, then step down where truncation went up (t < 0)
        FloatVector t = x.mul(LOG2E).add(0.5f);
        IntVector ki = (IntVector) t.convert(VectorOperators.F2I, 0);
        FloatVector k = (FloatVector) ki.convert(VectorOperators.I2F, 0);
        VectorMask<Float> up = k.compare(VectorOperators.GT, t);
        k = k.sub(FloatVector.broadcast(s, 1f), up);
        FloatVector r = x.sub(k.mul(C1)).sub(k.mul(C2));
        FloatVector z = r.mul(r);
        FloatVector p = r.fma(P0, P1).fma(r, FloatVector.broadcast(s, P2)).fma(r, FloatVector.broadcast(s, P3))
                .fma(r, FloatVector.broadcast(s, P4)).fma(r, FloatVector.broadcast(s, P5));
        FloatVector y = p.fma(z, r).add(1f);
        // 2^k from the exponent bits; k is in [-126, 127] after the clamp
        IntVector bits = ((IntVector) k.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return y.mul(bits.reinterpretAsFloats());
    }

    /** tanh(x) lane by lane; exactly +-1 for |x| >= 9.1, and tanh(x) = x + O(x^3) near 0. */
    static FloatVector tanh(FloatVector x) {
        FloatVector a = x.abs();
        FloatVector z = x.mul(x);
        var s = x.species();
        FloatVector small = z.fma(T0, T1).fma(z, FloatVector.broadcast(s, T2)).fma(z, FloatVector.broadcast(s, T3))
                .fma(z, FloatVector.broadcast(s, T4)).mul(z).fma(x, x);
        FloatVector e = exp(a.mul(2f));
        FloatVector large = FloatVector.broadcast(x.species(), 1f).sub(FloatVector.broadcast(x.species(), 2f).div(e.add(1f)));
        large = large.min(1f);
        VectorMask<Float> neg = x.compare(VectorOperators.LT, 0f);
        large = large.blend(large.neg(), neg);
        VectorMask<Float> isSmall = a.compare(VectorOperators.LT, TANH_SMALL);
        FloatVector y = large.blend(small, isSmall);
        VectorMask<Float> one = a.compare(VectorOperators.GE, TANH_ONE);
        return y.blend(FloatVector.broadcast(x.species(), 1f).blend(FloatVector.broadcast(x.species(), -1f), neg), one);
    }

    /** Scalar twins with the same arithmetic, for loop tails, so every element gets the same function. */
    static float exp(float x) {
        if (x > OVERFLOW) return Float.POSITIVE_INFINITY;
        if (x < EXP_LO || Float.isNaN(x)) return Float.isNaN(x) ? x : 0f;
        x = Math.min(x, EXP_HI);
        float k = (float) Math.floor(x * LOG2E + 0.5f);
        float r = x - k * C1 - k * C2;
        float z = r * r;
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(r, P0, P1), r, P2), r, P3), r, P4), r, P5);
        float y = Math.fma(p, z, r) + 1f;
        return y * Float.intBitsToFloat(((int) k + 127) << 23);
    }

    static float tanh(float x) {
        float a = Math.abs(x);
        if (a >= TANH_ONE) return x < 0 ? -1f : 1f;
        if (a < TANH_SMALL) {
            float z = x * x;
            float p = Math.fma(Math.fma(Math.fma(Math.fma(z, T0, T1), z, T2), z, T3), z, T4);
            return Math.fma(p * z, x, x);
        }
        float t = Math.min(1f - 2f / (exp(2f * a) + 1f), 1f);
        return x < 0 ? -t : t;
    }
}
