package dev.jgan.cpu;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.F;
import static dev.jgan.cpu.Vec.FL;
import static dev.jgan.cpu.Vec.ORDER;
import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.set;

/**
 * Spectral normalisation's power iteration, scaling and backward (see Backend.spectralNorm), the
 * CPU's version of kernels/spectral_norm.cu. The weight is the matrix M with
 * M[r, o inner + j] = w[(o rows + r) inner + j], so each (o, r) is a contiguous run of inner
 * floats: the products M^T u and M v go run by run with the Vector API, in float lanes (the
 * GPU sums in double; the two agree to the op suite's tolerance). Lanes are summed one by one in
 * lane order, never by reduceLanes: its order for float addition is unspecified, and C2's differs
 * from the interpreter's, which would make a resumed run differ from one that did not stop. The
 * dot products and norms of the short vectors u and v are scalar doubles. work: [0] sigma, [1] scalar scratch, [2 ..] M v.
 */
final class SpectralNorms {
    private static final double EPS = 1e-12;
    /** Floats a float-lane partial sum of g . wsn covers before it is added in double (a multiple of every lane count). */
    private static final long CHUNK = 4096;

    private SpectralNorms() {}

    /** With update, one power iteration (v, u); then sigma = u . M v into work[0] and wsn = w / sigma. */
    static void forward(MemorySegment w, MemorySegment u, MemorySegment v, boolean update, MemorySegment wsn,
                        MemorySegment work, int rows, int outer, int inner) {
        long cols = (long) outer * inner;
        if (update) {
            // v = M^T u: per run, v[o inner ..] += u[r] * w[run]
            for (long c = 0; c < cols; c++) set(v, c, 0f);
            for (int o = 0; o < outer; o++) {
                long vo = (long) o * inner;
                for (int r = 0; r < rows; r++) {
                    long base = ((long) o * rows + r) * inner;
                    float ur = get(u, r);
                    FloatVector uv = FloatVector.broadcast(F, ur);
                    int j = 0;
                    for (int bound = F.loopBound(inner); j < bound; j += FL) {
                        FloatVector acc = FloatVector.fromMemorySegment(F, v, (vo + j) << 2, ORDER);
                        FloatVector.fromMemorySegment(F, w, (base + j) << 2, ORDER).fma(uv, acc)
                                .intoMemorySegment(v, (vo + j) << 2, ORDER);
                    }
                    for (; j < inner; j++) set(v, vo + j, Math.fma(get(w, base + j), ur, get(v, vo + j)));
                }
            }
            scale(v, cols, 1 / Math.max(Math.sqrt(dot(v, 0, v, 0, cols)), EPS), v, 0);
        }
        // M v into work[2 ..]
        for (int r = 0; r < rows; r++) {
            FloatVector acc = FloatVector.zero(F);
            float tail = 0f;
            for (int o = 0; o < outer; o++) {
                long base = ((long) o * rows + r) * inner, vo = (long) o * inner;
                int j = 0;
                for (int bound = F.loopBound(inner); j < bound; j += FL)
                    acc = FloatVector.fromMemorySegment(F, w, (base + j) << 2, ORDER)
                            .fma(FloatVector.fromMemorySegment(F, v, (vo + j) << 2, ORDER), acc);
                for (; j < inner; j++) tail = Math.fma(get(w, base + j), get(v, vo + j), tail);
            }
            double sum = tail;
            for (int l = 0; l < FL; l++) sum += acc.lane(l);   // in lane order: reduceLanes' order may change with the JIT
            set(work, 2 + r, (float) sum);
        }
        if (update) scale(work, rows, 1 / Math.max(Math.sqrt(dot(work, 2, work, 2, rows)), EPS), u, 2);
        float sigma = (float) dot(u, 0, work, 2, rows);
        set(work, 0, sigma);
        long n = cols * rows;
        FloatVector s = FloatVector.broadcast(F, sigma);
        long i = 0;
        for (long bound = n - n % FL; i < bound; i += FL)
            FloatVector.fromMemorySegment(F, w, i << 2, ORDER).div(s).intoMemorySegment(wsn, i << 2, ORDER);
        for (; i < n; i++) set(wsn, i, get(w, i) / sigma);
    }

    /** work[1] = g . wsn; dw (=|+=) (g - work[1] u[r] v[c]) / sigma. */
    static void backward(MemorySegment g, MemorySegment wsn, MemorySegment u, MemorySegment v, MemorySegment work,
                         MemorySegment dw, boolean accumulate, int rows, int outer, int inner) {
        long n = (long) outer * rows * inner;
        // g . wsn: float lanes over chunks of CHUNK floats, the chunks' sums in double
        double gw = 0;
        long i = 0;
        for (long bound = n - n % FL; i < bound; ) {
            FloatVector acc = FloatVector.zero(F);
            for (long end = Math.min(bound, i + CHUNK); i < end; i += FL)
                acc = FloatVector.fromMemorySegment(F, g, i << 2, ORDER).fma(FloatVector.fromMemorySegment(F, wsn, i << 2, ORDER), acc);
            for (int l = 0; l < FL; l++) gw += acc.lane(l);
        }
        for (; i < n; i++) gw += (double) get(g, i) * get(wsn, i);
        float gws = (float) gw, sigma = get(work, 0);
        set(work, 1, gws);
        for (int o = 0; o < outer; o++) {
            long vo = (long) o * inner;
            for (int r = 0; r < rows; r++) {
                long base = ((long) o * rows + r) * inner;
                float k = gws * get(u, r);
                FloatVector kv = FloatVector.broadcast(F, k), sv = FloatVector.broadcast(F, sigma);
                int j = 0;
                for (int bound = F.loopBound(inner); j < bound; j += FL) {
                    FloatVector d = FloatVector.fromMemorySegment(F, g, (base + j) << 2, ORDER)
                            .sub(FloatVector.fromMemorySegment(F, v, (vo + j) << 2, ORDER).mul(kv)).div(sv);
                    if (accumulate) d = d.add(FloatVector.fromMemorySegment(F, dw, (base + j) << 2, ORDER));
                    d.intoMemorySegment(dw, (base + j) << 2, ORDER);
                }
                for (; j < inner; j++) {
                    float d = (get(g, base + j) - k * get(v, vo + j)) / sigma;
                    set(dw, base + j, accumulate ? get(dw, base + j) + d : d);
                }
            }
        }
    }

    /** x[xFrom ..] . y[yFrom ..] over n floats, in double. */
    private static double dot(MemorySegment x, long xFrom, MemorySegment y, long yFrom, long n) {
        double s = 0;
        for (long i = 0; i < n; i++) s += (double) get(x, xFrom + i) * get(y, yFrom + i);
        return s;
    }

    /** y[i] = x[from + i] * k over n floats. */
    private static void scale(MemorySegment x, long n, double k, MemorySegment y, long from) {
        float kf = (float) k;
        for (long i = 0; i < n; i++) set(y, i, get(x, from + i) * kf);
    }
}
