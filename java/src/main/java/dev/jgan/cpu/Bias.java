package dev.jgan.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.D;
import static dev.jgan.cpu.Vec.F;
import static dev.jgan.cpu.Vec.FH;
import static dev.jgan.cpu.Vec.FL;
import static dev.jgan.cpu.Vec.HL;
import static dev.jgan.cpu.Vec.ORDER;
import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.set;
import static jdk.incubator.vector.FloatVector.fromMemorySegment;

/**
 * Bias add and bias gradient over y, dy: (N, C, S) with S the spatial extent (1 for (N, C)).
 * Channel c of item n is the contiguous run [(n * C + c) * S, + S). For S == 1 the kernels run
 * across channels (a row at a time); otherwise along each run. One method an op (see {@link Vec}).
 */
final class Bias {
    private Bias() {}

    // y[n, c, s] += bias[c]
    static void add(MemorySegment y, int n, int c, int s, MemorySegment bias) {
        if (s == 1) {
            for (int item = 0; item < n; item++) {
                long row = (long) item * c;
                int j = 0;
                for (int bound = F.loopBound(c); j < bound; j += FL) {
                    long at = (row + j) << 2;
                    fromMemorySegment(F, y, at, ORDER).add(fromMemorySegment(F, bias, (long) j << 2, ORDER))
                            .intoMemorySegment(y, at, ORDER);
                }
                for (; j < c; j++) set(y, row + j, get(y, row + j) + get(bias, j));
            }
            return;
        }
        for (int item = 0; item < n; item++) {
            for (int ch = 0; ch < c; ch++) {
                long off = ((long) item * c + ch) * s;
                float b = get(bias, ch);
                int j = 0;
                for (int bound = F.loopBound(s); j < bound; j += FL) {
                    long at = (off + j) << 2;
                    fromMemorySegment(F, y, at, ORDER).add(b).intoMemorySegment(y, at, ORDER);
                }
                for (; j < s; j++) set(y, off + j, get(y, off + j) + b);
            }
        }
    }

    // dBias[c] (=|+=) sum over n, s of dy[n, c, s], accumulated in double
    static void grad(MemorySegment dy, int n, int c, int s, MemorySegment dBias, boolean accumulate) {
        int c0 = 0;
        if (s == 1) {
            // (N, C): channels [c0, c0 + HL) as lanes, down the rows
            for (; c0 + HL <= c; c0 += HL) {
                DoubleVector acc = DoubleVector.zero(D);
                for (int item = 0; item < n; item++)
                    acc = acc.add(fromMemorySegment(FH, dy, ((long) item * c + c0) << 2, ORDER).convertShape(VectorOperators.F2D, D, 0));
                long at = (long) c0 << 2;
                if (accumulate) acc = acc.add(fromMemorySegment(FH, dBias, at, ORDER).convertShape(VectorOperators.F2D, D, 0));
                acc.convertShape(VectorOperators.D2F, FH, 0).intoMemorySegment(dBias, at, ORDER);
            }
        }
        // one channel at a time along its runs
        for (; c0 < c; c0++) {
            double sum = accumulate ? get(dBias, c0) : 0.0;
            for (int item = 0; item < n; item++) {
                long off = ((long) item * c + c0) * s;
                DoubleVector acc = DoubleVector.zero(D);
                int j = 0;
                for (int bound = FH.loopBound(s); j < bound; j += HL)
                    acc = acc.add(fromMemorySegment(FH, dy, (off + j) << 2, ORDER).convertShape(VectorOperators.F2D, D, 0));
                sum += acc.reduceLanes(VectorOperators.ADD);
                for (; j < s; j++) sum += get(dy, off + j);
            }
            set(dBias, c0, (float) sum);
        }
    }
}
