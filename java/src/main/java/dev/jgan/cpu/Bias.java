package dev.jgan.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.D;
import static dev.jgan.cpu.Vec.F;
import static dev.jgan.cpu.Vec.FL;
import static dev.jgan.cpu.Vec.HL;
import static dev.jgan.cpu.Vec.ORDER;
import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.load;
import static dev.jgan.cpu.Vec.loadWide;
import static dev.jgan.cpu.Vec.narrow;
import static dev.jgan.cpu.Vec.set;
import static dev.jgan.cpu.Vec.store;

/**
 * Bias add and bias gradient over y, dy: (N, C, S) with S the spatial extent (1 for (N, C)).
 * Channel c of item n is the contiguous run [(n * C + c) * S, + S). For S == 1 the kernels run
 * across channels (a row at a time); otherwise along each run.
 */
final class Bias {
    private Bias() {}

    // y[n, c, s] += bias[c]
    static void add(MemorySegment y, int n, int c, int s, MemorySegment bias) {
        if (s == 1) {
            for (int item = 0; item < n; item++) {
                long row = (long) item * c;
                int j = 0;
                for (int bound = F.loopBound(c); j < bound; j += FL) store(load(y, row + j).add(load(bias, j)), y, row + j);
                for (; j < c; j++) set(y, row + j, get(y, row + j) + get(bias, j));
            }
            return;
        }
        for (int item = 0; item < n; item++) {
            for (int ch = 0; ch < c; ch++) {
                long off = ((long) item * c + ch) * s;
                float b = get(bias, ch);
                int j = 0;
                for (int bound = F.loopBound(s); j < bound; j += FL) store(load(y, off + j).add(b), y, off + j);
                for (; j < s; j++) set(y, off + j, get(y, off + j) + b);
            }
        }
    }

    // dBias[c] (=|+=) sum over n, s of dy[n, c, s], accumulated in double
    static void grad(MemorySegment dy, int n, int c, int s, MemorySegment dBias, boolean accumulate) {
        int c0 = 0;
        if (s == 1) {
            // HL channels at a time, down the rows
            for (; c0 + HL <= c; c0 += HL) {
                DoubleVector acc = DoubleVector.zero(D);
                for (int item = 0; item < n; item++) acc = acc.add(loadWide(dy, (long) item * c + c0));
                if (accumulate) acc = acc.add(loadWide(dBias, c0));
                FloatVector sum = narrow(acc);
                sum.intoMemorySegment(dBias, (long) c0 << 2, ORDER);
            }
        }
        for (; c0 < c; c0++) {
            double sum = accumulate ? get(dBias, c0) : 0.0;
            for (int item = 0; item < n; item++) sum += Vec.sum(dy, ((long) item * c + c0) * s, s);
            set(dBias, c0, (float) sum);
        }
    }
}
