package dev.jgan.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.D;
import static dev.jgan.cpu.Vec.FH;
import static dev.jgan.cpu.Vec.HL;
import static dev.jgan.cpu.Vec.ORDER;
import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.set;
import static jdk.incubator.vector.FloatVector.fromMemorySegment;
import static jdk.incubator.vector.VectorOperators.F2D;

/**
 * Binary cross-entropy on logits, loss and gradient in one pass over n logits.
 *
 * <p>With e = exp(-|l|) in (0, 1]: loss = max(l, 0) - l * t + log1p(e), and
 * sigmoid(l) = l >= 0 ? 1 / (1 + e) : e / (1 + e); neither overflows for any finite l, so
 * l = +-1e4 gives a loss of exactly 0 or 1e4 (t = 1) and a gradient of exactly 0 or -1/N.
 * Works on half vectors (HL lanes) so that the loss and sigmoid sums widen to double in one
 * conversion. dLogits may alias logits.
 */
final class Bce {
    private Bce() {}

    /** targets may be null (then every target is {@code target}); stats[slot..slot+2] = mean loss, mean sigmoid, fraction l > 0. */
    static void withLogits(MemorySegment logits, MemorySegment targets, float target, float gradScale,
                           MemorySegment dLogits, long n, MemorySegment stats, int slot) {
        float k = (float) ((double) gradScale / n);
        FloatVector one = FloatVector.broadcast(FH, 1f), constantTarget = FloatVector.broadcast(FH, target);
        DoubleVector lossSum = DoubleVector.zero(D), sigmoidSum = DoubleVector.zero(D);
        long positives = 0;
        long i = 0;
        for (long bound = FH.loopBound(n); i < bound; i += HL) {
            FloatVector l = fromMemorySegment(FH, logits, i << 2, ORDER);
            FloatVector t = targets == null ? constantTarget : fromMemorySegment(FH, targets, i << 2, ORDER);
            FloatVector e = l.abs().neg().lanewise(VectorOperators.EXP);
            FloatVector loss = l.max(0f).sub(l.mul(t)).add(e.lanewise(VectorOperators.LOG1P));
            FloatVector sigmoidAbs = one.div(one.add(e));
            FloatVector sigmoid = e.mul(sigmoidAbs).blend(sigmoidAbs, l.compare(VectorOperators.GE, 0f));
            sigmoid.sub(t).mul(k).intoMemorySegment(dLogits, i << 2, ORDER);
            lossSum = lossSum.add(loss.convertShape(F2D, D, 0));
            sigmoidSum = sigmoidSum.add(sigmoid.convertShape(F2D, D, 0));
            positives += l.compare(VectorOperators.GT, 0f).trueCount();
        }
        double lossTotal = lossSum.reduceLanes(VectorOperators.ADD);
        double sigmoidTotal = sigmoidSum.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float l = get(logits, i), ti = targets != null ? get(targets, i) : target;
            float e = (float) Math.exp(-Math.abs(l));
            float sigmoidAbs = 1f / (1f + e);
            float sigmoid = l >= 0 ? sigmoidAbs : e * sigmoidAbs;
            set(dLogits, i, (sigmoid - ti) * k);
            lossTotal += Math.max(l, 0f) - l * ti + (float) Math.log1p(e);
            sigmoidTotal += sigmoid;
            if (l > 0) positives++;
        }
        set(stats, slot, (float) (lossTotal / n));
        set(stats, slot + 1, (float) (sigmoidTotal / n));
        set(stats, slot + 2, (float) ((double) positives / n));
    }
}
