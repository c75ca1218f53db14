package dev.jgan.cpu;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.F;
import static dev.jgan.cpu.Vec.FL;
import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.load;
import static dev.jgan.cpu.Vec.set;
import static dev.jgan.cpu.Vec.store;

/** Optimizer updates over one parameter tensor of n floats, in place, in float, as PyTorch orders them. */
final class Optimizers {
    private Optimizers() {}

    /**
     * Adam step t: g = grad + wd * p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
     * p -= stepSize * m / (sqrt(v) * invSqrtBc2 + eps) with stepSize = lr / (1 - b1^t) and
     * invSqrtBc2 = 1 / sqrt(1 - b2^t), which is PyTorch's order of the same formula.
     */
    static void adam(MemorySegment p, MemorySegment grad, MemorySegment m, MemorySegment v, long n,
                     float beta1, float beta2, float eps, float weightDecay, float stepSize, float invSqrtBc2) {
        float a1 = 1f - beta1, a2 = 1f - beta2;
        FloatVector wd = FloatVector.broadcast(F, weightDecay);
        long i = 0;
        for (long bound = F.loopBound(n); i < bound; i += FL) {
            FloatVector pv = load(p, i);
            FloatVector g = load(grad, i);
            if (weightDecay != 0f) g = pv.fma(wd, g);
            FloatVector mv = load(m, i).mul(beta1).add(g.mul(a1));
            FloatVector vv = load(v, i).mul(beta2).add(g.mul(g).mul(a2));
            store(mv, m, i);
            store(vv, v, i);
            FloatVector denom = vv.sqrt().fma(invSqrtBc2, eps);
            store(pv.sub(mv.mul(stepSize).div(denom)), p, i);
        }
        for (; i < n; i++) {
            float pi = get(p, i);
            float g = get(grad, i);
            if (weightDecay != 0f) g += weightDecay * pi;
            float mi = beta1 * get(m, i) + a1 * g;
            float vi = beta2 * get(v, i) + a2 * (g * g);
            set(m, i, mi);
            set(v, i, vi);
            set(p, i, pi - stepSize * mi / ((float) Math.sqrt(vi) * invSqrtBc2 + eps));
        }
    }

    /** buf = firstStep ? g : momentum * buf + g; p -= lr * buf. */
    static void sgd(MemorySegment p, MemorySegment grad, MemorySegment buf, long n, float lr, float momentum, boolean firstStep) {
        FloatVector mu = FloatVector.broadcast(F, momentum);
        long i = 0;
        for (long bound = F.loopBound(n); i < bound; i += FL) {
            FloatVector g = load(grad, i);
            FloatVector b = firstStep ? g : load(buf, i).fma(mu, g);
            store(b, buf, i);
            store(load(p, i).sub(b.mul(lr)), p, i);
        }
        for (; i < n; i++) {
            float g = get(grad, i);
            float b = firstStep ? g : momentum * get(buf, i) + g;
            set(buf, i, b);
            set(p, i, get(p, i) - lr * b);
        }
    }
}
