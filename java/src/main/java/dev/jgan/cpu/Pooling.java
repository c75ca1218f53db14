package dev.jgan.cpu;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.set;

/**
 * 2x2 max pooling with stride 2 over (N, C, H, W), P = H / 2, Q = W / 2 (floor). The backward
 * routes dy to the first maximal position of each window (row-major), as cuDNN's pooling
 * backward does from x and y, and zeroes the rest of dx. Scalar loops: the evaluation
 * classifier is its only user, and it is not on a training step's path.
 */
final class Pooling {
    private Pooling() {}

    /** planes = N * C. */
    static void forward(MemorySegment x, MemorySegment y, long planes, int h, int w) {
        int p = h / 2, q = w / 2;
        for (long plane = 0; plane < planes; plane++) {
            long xb = plane * h * w, yb = plane * p * q;
            for (int i = 0; i < p; i++)
                for (int j = 0; j < q; j++) {
                    long a = xb + (long) (2 * i) * w + 2 * j;
                    float m = Math.max(Math.max(get(x, a), get(x, a + 1)), Math.max(get(x, a + w), get(x, a + w + 1)));
                    set(y, yb + (long) i * q + j, m);
                }
        }
    }

    static void backward(MemorySegment x, MemorySegment y, MemorySegment dy, MemorySegment dx, long planes, int h, int w) {
        int p = h / 2, q = w / 2;
        dx.asSlice(0, planes * h * w * Float.BYTES).fill((byte) 0);
        for (long plane = 0; plane < planes; plane++) {
            long xb = plane * h * w, yb = plane * p * q;
            for (int i = 0; i < p; i++)
                for (int j = 0; j < q; j++) {
                    long a = xb + (long) (2 * i) * w + 2 * j;
                    float m = get(y, yb + (long) i * q + j);
                    long at = get(x, a) == m ? a : get(x, a + 1) == m ? a + 1 : get(x, a + w) == m ? a + w : a + w + 1;
                    set(dx, at, get(dy, yb + (long) i * q + j));
                }
        }
    }
}
