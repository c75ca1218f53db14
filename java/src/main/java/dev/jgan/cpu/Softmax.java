package dev.jgan.cpu;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.set;

/**
 * Softmax over the rows of an (N, K) tensor, and softmax cross-entropy against class labels, loss
 * and gradient in one pass. The evaluation classifier's loss: K is a class count (10 here), so
 * the loops are scalar. Each row subtracts its maximum before exp, so no finite logit overflows;
 * exp and log are StrictMath's (the same bits in every JIT tier), row sums and the loss in double.
 * Outputs may alias the logits: a row is read completely before it is written.
 */
final class Softmax {
    private Softmax() {}

    static void forward(MemorySegment x, MemorySegment y, int n, int k) {
        for (int r = 0; r < n; r++) {
            long base = (long) r * k;
            float m = rowMax(x, base, k);
            double sum = 0;
            for (int j = 0; j < k; j++) sum += StrictMath.exp(get(x, base + j) - m);
            for (int j = 0; j < k; j++) set(y, base + j, (float) (StrictMath.exp(get(x, base + j) - m) / sum));
        }
    }

    /** labels hold class indices as floats; stats[slot] = mean loss, stats[slot + 1] = accuracy. */
    static void crossEntropy(MemorySegment logits, MemorySegment labels, float gradScale, MemorySegment dLogits,
                             int n, int k, MemorySegment stats, int slot) {
        float scale = (float) ((double) gradScale / n);
        double lossTotal = 0;
        long correct = 0;
        for (int r = 0; r < n; r++) {
            long base = (long) r * k;
            int label = label(labels, r, k);
            float m = rowMax(logits, base, k);
            int argmax = 0;
            for (int j = 1; j < k; j++) if (get(logits, base + j) > get(logits, base + argmax)) argmax = j;
            if (argmax == label) correct++;
            double sum = 0;
            for (int j = 0; j < k; j++) sum += StrictMath.exp(get(logits, base + j) - m);
            lossTotal += m + StrictMath.log(sum) - get(logits, base + label);
            for (int j = 0; j < k; j++) {
                float p = (float) (StrictMath.exp(get(logits, base + j) - m) / sum);
                set(dLogits, base + j, ((j == label ? p - 1f : p)) * scale);
            }
        }
        set(stats, slot, (float) (lossTotal / n));
        set(stats, slot + 1, (float) ((double) correct / n));
    }

    private static float rowMax(MemorySegment x, long base, int k) {
        float m = get(x, base);
        for (int j = 1; j < k; j++) m = Math.max(m, get(x, base + j));
        return m;
    }

    private static int label(MemorySegment labels, int r, int k) {
        float f = get(labels, r);
        int label = (int) f;
        if (label != f || label < 0 || label >= k)
            throw new IllegalArgumentException("softmaxCrossEntropy: labels[" + r + "] = " + f + " is not a class index in [0, " + k + ")");
        return label;
    }
}
