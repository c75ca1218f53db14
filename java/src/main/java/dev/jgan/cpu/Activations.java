package dev.jgan.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.F;
import static dev.jgan.cpu.Vec.FL;
import static dev.jgan.cpu.Vec.ORDER;
import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.set;
import static jdk.incubator.vector.FloatVector.fromMemorySegment;

/**
 * Activation kernels, forward and backward, over n contiguous floats. Each element is read before
 * its output is written, so outputs may alias inputs (y = x, dx = dy), as the Backend allows.
 * Backwards take the saved output y, not x.
 */
final class Activations {
    private Activations() {}

    // y = x > 0 ? x : slope * x
    static void leakyRelu(MemorySegment x, MemorySegment y, long n, float slope) {
        long i = 0;
        for (long bound = F.loopBound(n); i < bound; i += FL) {
            FloatVector v = fromMemorySegment(F, x, i << 2, ORDER);
            v.mul(slope).blend(v, v.compare(VectorOperators.GT, 0f)).intoMemorySegment(y, i << 2, ORDER);
        }
        for (; i < n; i++) {
            float v = get(x, i);
            set(y, i, v > 0 ? v : slope * v);
        }
    }

    // dx = dy * (y > 0 ? 1 : slope)
    static void leakyReluBackward(MemorySegment y, MemorySegment dy, MemorySegment dx, long n, float slope) {
        long i = 0;
        for (long bound = F.loopBound(n); i < bound; i += FL) {
            FloatVector g = fromMemorySegment(F, dy, i << 2, ORDER);
            FloatVector v = fromMemorySegment(F, y, i << 2, ORDER);
            g.mul(slope).blend(g, v.compare(VectorOperators.GT, 0f)).intoMemorySegment(dx, i << 2, ORDER);
        }
        for (; i < n; i++) {
            float g = get(dy, i);
            set(dx, i, get(y, i) > 0 ? g : slope * g);
        }
    }

    // y = max(x, 0)
    static void relu(MemorySegment x, MemorySegment y, long n) {
        long i = 0;
        for (long bound = F.loopBound(n); i < bound; i += FL)
            fromMemorySegment(F, x, i << 2, ORDER).max(0f).intoMemorySegment(y, i << 2, ORDER);
        for (; i < n; i++) set(y, i, Math.max(get(x, i), 0f));
    }

    // dx = y > 0 ? dy : 0
    static void reluBackward(MemorySegment y, MemorySegment dy, MemorySegment dx, long n) {
        FloatVector zero = FloatVector.zero(F);
        long i = 0;
        for (long bound = F.loopBound(n); i < bound; i += FL) {
            FloatVector g = fromMemorySegment(F, dy, i << 2, ORDER);
            FloatVector v = fromMemorySegment(F, y, i << 2, ORDER);
            zero.blend(g, v.compare(VectorOperators.GT, 0f)).intoMemorySegment(dx, i << 2, ORDER);
        }
        for (; i < n; i++) set(dx, i, get(y, i) > 0 ? get(dy, i) : 0f);
    }

    // y = tanh(x), with VecMath's tier-independent tanh (see there why not lanewise TANH); exactly +-1 beyond 9.1.
    static void tanh(MemorySegment x, MemorySegment y, long n) {
        long i = 0;
        for (long bound = F.loopBound(n); i < bound; i += FL)
            VecMath.tanh(fromMemorySegment(F, x, i << 2, ORDER)).intoMemorySegment(y, i << 2, ORDER);
        for (; i < n; i++) set(y, i, VecMath.tanh(get(x, i)));
    }

    // dx = dy * (1 - y^2)
    static void tanhBackward(MemorySegment y, MemorySegment dy, MemorySegment dx, long n) {
        FloatVector one = FloatVector.broadcast(F, 1f);
        long i = 0;
        for (long bound = F.loopBound(n); i < bound; i += FL) {
            FloatVector v = fromMemorySegment(F, y, i << 2, ORDER);
            fromMemorySegment(F, dy, i << 2, ORDER).mul(v.neg().fma(v, one)).intoMemorySegment(dx, i << 2, ORDER);
        }
        for (; i < n; i++) {
            float v = get(y, i);
            set(dx, i, get(dy, i) * (1f - v * v));
        }
    }

    // y = 1 / (1 + exp(-x)); exp(-x) overflows to +inf for x < -89, giving exactly 0, never NaN.
    static void sigmoid(MemorySegment x, MemorySegment y, long n) {
        FloatVector one = FloatVector.broadcast(F, 1f);
        long i = 0;
        for (long bound = F.loopBound(n); i < bound; i += FL) {
            FloatVector e = VecMath.exp(fromMemorySegment(F, x, i << 2, ORDER).neg());
            one.div(e.add(one)).intoMemorySegment(y, i << 2, ORDER);
        }
        for (; i < n; i++) set(y, i, 1f / (1f + VecMath.exp(-get(x, i))));
    }

    // dx = dy * y * (1 - y)
    static void sigmoidBackward(MemorySegment y, MemorySegment dy, MemorySegment dx, long n) {
        FloatVector one = FloatVector.broadcast(F, 1f);
        long i = 0;
        for (long bound = F.loopBound(n); i < bound; i += FL) {
            FloatVector v = fromMemorySegment(F, y, i << 2, ORDER);
            fromMemorySegment(F, dy, i << 2, ORDER).mul(v).mul(one.sub(v)).intoMemorySegment(dx, i << 2, ORDER);
        }
        for (; i < n; i++) {
            float v = get(y, i);
            set(dx, i, get(dy, i) * v * (1f - v));
        }
    }
}
