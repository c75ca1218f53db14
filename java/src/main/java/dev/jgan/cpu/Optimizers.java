package dev.jgan.cpu;

import dev.jgan.tensor.Tensor;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.util.List;

import static dev.jgan.cpu.Vec.F;
import static dev.jgan.cpu.Vec.FL;
import static dev.jgan.cpu.Vec.ORDER;
import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.set;
import static jdk.incubator.vector.FloatVector.fromMemorySegment;

/**
 * Optimizer updates over every parameter tensor of one optimizer, in place, in float, in
 * PyTorch's order. The loop over tensors is here, not in the caller, so that the vector loop is
 * never inlined into another method's loop (see {@link Vec}). The lists are checked by the caller.
 */
final class Optimizers {
    private Optimizers() {}

    /**
     * Adam step t: g = grad + wd * p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
     * p -= stepSize * m / (sqrt(v) * invSqrtBc2 + eps) with stepSize = lr / (1 - b1^t) and
     * invSqrtBc2 = 1 / sqrt(1 - b2^t), which is PyTorch's order of the same formula.
     */
    static void adam(List<Tensor> params, List<Tensor> grads, List<Tensor> ms, List<Tensor> vs,
                     float beta1, float beta2, float eps, float weightDecay, float stepSize, float invSqrtBc2) {
        float a1 = 1f - beta1, a2 = 1f - beta2;
        FloatVector wd = FloatVector.broadcast(F, weightDecay);
        for (int t = 0; t < params.size(); t++) {
            MemorySegment p = segment(params.get(t)), grad = segment(grads.get(t)), m = segment(ms.get(t)), v = segment(vs.get(t));
            long n = params.get(t).size();
            long i = 0;
            for (long bound = F.loopBound(n); i < bound; i += FL) {
                long at = i << 2;
                FloatVector pv = fromMemorySegment(F, p, at, ORDER);
                FloatVector g = pv.fma(wd, fromMemorySegment(F, grad, at, ORDER));
                FloatVector mv = fromMemorySegment(F, m, at, ORDER).mul(beta1).add(g.mul(a1));
                FloatVector vv = fromMemorySegment(F, v, at, ORDER).mul(beta2).add(g.mul(g).mul(a2));
                mv.intoMemorySegment(m, at, ORDER);
                vv.intoMemorySegment(v, at, ORDER);
                FloatVector denom = vv.sqrt().fma(invSqrtBc2, eps);
                pv.sub(mv.mul(stepSize).div(denom)).intoMemorySegment(p, at, ORDER);
            }
            for (; i < n; i++) {
                float pi = get(p, i);
                float g = get(grad, i) + weightDecay * pi;
                float mi = beta1 * get(m, i) + a1 * g;
                float vi = beta2 * get(v, i) + a2 * (g * g);
                set(m, i, mi);
                set(v, i, vi);
                set(p, i, pi - stepSize * mi / ((float) Math.sqrt(vi) * invSqrtBc2 + eps));
            }
        }
    }

    /** buf = firstStep ? g : momentum * buf + g; p -= lr * buf. */
    static void sgd(List<Tensor> params, List<Tensor> grads, List<Tensor> velocity, float lr, float momentum, boolean firstStep) {
        FloatVector mu = FloatVector.broadcast(F, momentum);
        for (int t = 0; t < params.size(); t++) {
            MemorySegment p = segment(params.get(t)), grad = segment(grads.get(t)), buf = segment(velocity.get(t));
            long n = params.get(t).size();
            long i = 0;
            for (long bound = F.loopBound(n); i < bound; i += FL) {
                long at = i << 2;
                FloatVector g = fromMemorySegment(F, grad, at, ORDER);
                FloatVector b = firstStep ? g : fromMemorySegment(F, buf, at, ORDER).fma(mu, g);
                b.intoMemorySegment(buf, at, ORDER);
                fromMemorySegment(F, p, at, ORDER).sub(b.mul(lr)).intoMemorySegment(p, at, ORDER);
            }
            for (; i < n; i++) {
                float g = get(grad, i);
                float b = firstStep ? g : momentum * get(buf, i) + g;
                set(buf, i, b);
                set(p, i, get(p, i) - lr * b);
            }
        }
    }

    /**
     * RMSprop: v = alpha v + rest g^2 (rest = 1 - alpha in float); p -= lr * (g / (sqrt(v) + eps)),
     * PyTorch's order, every operation rounded on its own (the vector body and the tail alike).
     */
    static void rmsprop(List<Tensor> params, List<Tensor> grads, List<Tensor> squareAvg, float lr, float alpha, float eps) {
        float rest = 1f - alpha;
        for (int t = 0; t < params.size(); t++) {
            MemorySegment p = segment(params.get(t)), grad = segment(grads.get(t)), v = segment(squareAvg.get(t));
            long n = params.get(t).size();
            long i = 0;
            for (long bound = F.loopBound(n); i < bound; i += FL) {
                long at = i << 2;
                FloatVector g = fromMemorySegment(F, grad, at, ORDER);
                FloatVector vv = fromMemorySegment(F, v, at, ORDER).mul(alpha).add(g.mul(g).mul(rest));
                vv.intoMemorySegment(v, at, ORDER);
                FloatVector step = g.div(vv.sqrt().add(eps)).mul(lr);
                fromMemorySegment(F, p, at, ORDER).sub(step).intoMemorySegment(p, at, ORDER);
            }
            for (; i < n; i++) {
                float g = get(grad, i);
                float vi = alpha * get(v, i) + rest * (g * g);
                set(v, i, vi);
                set(p, i, get(p, i) - lr * (g / ((float) Math.sqrt(vi) + eps)));
            }
        }
    }

    private static MemorySegment segment(Tensor t) {
        return ((HostStorage) t.storage()).segment();
    }
}
