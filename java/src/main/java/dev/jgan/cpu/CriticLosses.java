package dev.jgan.cpu;

import dev.jgan.backend.CriticLoss;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.set;

/**
 * The GAN losses on D's raw outputs (hinge, least squares, Wasserstein), loss and gradient in one
 * pass over n outputs, as kernels/critic_loss.cu computes them: each float product and sum rounded
 * on its own, the means summed in double. Scalar on purpose, as {@link Bce}: n is one output per
 * batch item. dLogits may alias logits.
 */
final class CriticLosses {
    private CriticLosses() {}

    /** stats[slot..slot+2] = mean loss, mean l, fraction of l above the kind's boundary. */
    static void loss(CriticLoss kind, MemorySegment logits, float a, float gradScale, MemorySegment dLogits, long n,
                     MemorySegment stats, int slot) {
        float k = (float) ((double) gradScale / n), boundary = kind.boundary();
        double lossTotal = 0, scoreTotal = 0;
        long above = 0;
        for (long i = 0; i < n; i++) {
            float l = get(logits, i), li, di;
            switch (kind) {
                case LINEAR -> {
                    li = a * l;
                    di = a * k;
                }
                case HINGE -> {
                    float m = 1f - a * l;
                    li = m > 0f ? m : 0f;
                    di = m > 0f ? -a * k : 0f;
                }
                case SQUARED -> {
                    float r = l - a;
                    li = 0.5f * (r * r);
                    di = r * k;
                }
                default -> throw new AssertionError(kind);
            }
            set(dLogits, i, di);
            lossTotal += li;
            scoreTotal += l;
            if (l > boundary) above++;
        }
        set(stats, slot, (float) (lossTotal / n));
        set(stats, slot + 1, (float) (scoreTotal / n));
        set(stats, slot + 2, (float) ((double) above / n));
    }
}
