package dev.jgan.cpu;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.set;

/**
 * Binary cross-entropy on logits, loss and gradient in one pass over n logits.
 *
 * <p>With e = exp(-|l|) in (0, 1]: loss = max(l, 0) - l * t + log1p(e), and
 * sigmoid(l) = l >= 0 ? 1 / (1 + e) : e / (1 + e); neither overflows for any finite l, so
 * l = +-1e4 gives a loss of exactly 0 or 1e4 (t = 1) and a gradient of exactly 0 or -1/N.
 * Scalar on purpose: n is one logit per batch item (64 here), and StrictMath's exp and log1p give
 * the same bits in every JIT tier, which the Vector API's EXP and LOG1P do not (see VecMath).
 * Sums in double. dLogits may alias logits.
 */
final class Bce {
    private Bce() {}

    /** targets may be null (then every target is {@code target}); stats[slot..slot+2] = mean loss, mean sigmoid, fraction l > 0. */
    static void withLogits(MemorySegment logits, MemorySegment targets, float target, float gradScale,
                           MemorySegment dLogits, long n, MemorySegment stats, int slot) {
        float k = (float) ((double) gradScale / n);
        double lossTotal = 0, sigmoidTotal = 0;
        long positives = 0;
        for (long i = 0; i < n; i++) {
            float l = get(logits, i), ti = targets != null ? get(targets, i) : target;
            float e = (float) StrictMath.exp(-Math.abs(l));
            float sigmoidAbs = 1f / (1f + e);
            float sigmoid = l >= 0 ? sigmoidAbs : e * sigmoidAbs;
            set(dLogits, i, (sigmoid - ti) * k);
            lossTotal += Math.max(l, 0f) - l * ti + (float) StrictMath.log1p(e);
            sigmoidTotal += sigmoid;
            if (l > 0) positives++;
        }
        set(stats, slot, (float) (lossTotal / n));
        set(stats, slot + 1, (float) (sigmoidTotal / n));
        set(stats, slot + 2, (float) ((double) positives / n));
    }
}
