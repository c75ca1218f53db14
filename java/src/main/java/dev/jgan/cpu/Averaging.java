package dev.jgan.cpu;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.F;
import static dev.jgan.cpu.Vec.FL;
import static dev.jgan.cpu.Vec.ORDER;
import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.set;

/**
 * The exponential moving average of the generator's weights, avg = decay * avg + (1 - decay) * x,
 * once per training step over every tensor of G: vectorised, since mlp-gan's G has 1.5 million
 * weights. Multiply and add stay separate roundings (no FMA), as the Backend Javadoc defines it,
 * so the vector body, the scalar tail and the CUDA kernel give the same bits.
 */
final class Averaging {
    private Averaging() {}

    static void ema(MemorySegment avg, MemorySegment x, long n, float decay) {
        float rest = 1f - decay;
        FloatVector d = FloatVector.broadcast(F, decay), r = FloatVector.broadcast(F, rest);
        long i = 0;
        for (long bound = F.loopBound(n); i < bound; i += FL) {
            FloatVector a = FloatVector.fromMemorySegment(F, avg, i << 2, ORDER);
            FloatVector v = FloatVector.fromMemorySegment(F, x, i << 2, ORDER);
            a.mul(d).add(v.mul(r)).intoMemorySegment(avg, i << 2, ORDER);
        }
        for (; i < n; i++) set(avg, i, decay * get(avg, i) + rest * get(x, i));
    }
}
