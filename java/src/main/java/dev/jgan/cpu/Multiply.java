package dev.jgan.cpu;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.F;
import static dev.jgan.cpu.Vec.FL;
import static dev.jgan.cpu.Vec.ORDER;
import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.set;
import static jdk.incubator.vector.FloatVector.fromMemorySegment;

/**
 * The elementwise product y = a * b over n floats of a viewed as (n / f, f): b has a's size
 * (f = 1, y[i] = a[i] * b[i]) or one value a row (y[r, j] = a[r, j] * b[r], b[r] broadcast over
 * the row): a projection discriminator's x * h and its gradient's dy scaling of rows. One float
 * product per element, rounded once, as the CUDA kernel (kernels/multiply.cu) and the reference.
 * y may alias a, and b too when f = 1: every element is read before it is written, by the same
 * lane. One method an op (see {@link Vec}).
 */
final class Multiply {
    private Multiply() {}

    // a, y: (n / f, f); b: (n / f) or, for f = 1, (n)
    static void product(MemorySegment a, MemorySegment b, MemorySegment y, long n, long f) {
        if (f == 1) {
            long i = 0;
            for (long bound = F.loopBound(n); i < bound; i += FL) {
                long at = i << 2;
                fromMemorySegment(F, a, at, ORDER).mul(fromMemorySegment(F, b, at, ORDER)).intoMemorySegment(y, at, ORDER);
            }
            for (; i < n; i++) set(y, i, get(a, i) * get(b, i));
            return;
        }
        long bound = F.loopBound(f);
        for (long r = 0, rows = n / f; r < rows; r++) {
            float s = get(b, r);
            long row = r * f, j = 0;
            for (; j < bound; j += FL) {
                long at = (row + j) << 2;
                fromMemorySegment(F, a, at, ORDER).mul(s).intoMemorySegment(y, at, ORDER);
            }
            for (; j < f; j++) set(y, row + j, get(a, row + j) * s);
        }
    }
}
