package dev.jgan.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.F;
import static dev.jgan.cpu.Vec.FL;
import static dev.jgan.cpu.Vec.ORDER;
import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.set;

/**
 * Clamping in place, t = t < lo ? lo : (t > hi ? hi : t): WGAN's weight clipping of every critic
 * parameter after each of its updates. Blends on the two comparisons rather than min and max, so a
 * NaN stays NaN (as in the CUDA kernel) and a diverged critic is not hidden inside the bounds.
 */
final class Clamp {
    private Clamp() {}

    static void inPlace(MemorySegment t, long n, float lo, float hi) {
        FloatVector l = FloatVector.broadcast(F, lo), h = FloatVector.broadcast(F, hi);
        long i = 0;
        for (long bound = F.loopBound(n); i < bound; i += FL) {
            FloatVector v = FloatVector.fromMemorySegment(F, t, i << 2, ORDER);
            v = v.blend(l, v.compare(VectorOperators.LT, l));
            v = v.blend(h, v.compare(VectorOperators.GT, h));
            v.intoMemorySegment(t, i << 2, ORDER);
        }
        for (; i < n; i++) {
            float v = get(t, i);
            set(t, i, v < lo ? lo : (v > hi ? hi : v));
        }
    }
}
