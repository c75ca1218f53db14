package dev.jgan.cpu;

import dev.jgan.backend.DiffAugment;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.set;

/**
 * DiffAugment's transforms (Backend#diffAugment; Zhao et al. 2020), forward and backward, one image
 * at a time, NCHW, outputs written (=). Translation and cutout move or clear runs of a row
 * (MemorySegment copies, which allocate nothing); colour is two scalar passes per image (the mean M
 * needs the whole image first) in exactly the float operations of the Backend's Javadoc, so it
 * differs from the CUDA kernel only by the order of M's double sum. Every transform is affine in
 * x, so the backwards read dy and the params only. The augmentation is a few memory passes over D's
 * input, small beside D itself, so plain loops serve.
 */
final class DiffAugments {
    private DiffAugments() {}

    /** {@code kind} (backward: its adjoint) of {@code in} (n, c, h, w) with params (n, kind.params()) into {@code out}. */
    static void apply(DiffAugment kind, boolean backward, MemorySegment in, MemorySegment params, MemorySegment out,
                      int n, int c, int h, int w) {
        switch (kind) {
            case COLOR -> {
                if (backward) colorBackward(in, params, out, n, c, (long) h * w);
                else color(in, params, out, n, c, (long) h * w);
            }
            case TRANSLATION -> translation(in, params, out, n, c, h, w, backward ? -1 : 1);
            case CUTOUT -> cutout(in, params, out, n, c, h, w);   // a 0/1 mask is its own adjoint
        }
    }

    /** Brightness, saturation, contrast of each image (c, s); y may alias x (a pixel's channels are read before written). */
    private static void color(MemorySegment x, MemorySegment params, MemorySegment y, int n, int c, long s) {
        for (int img = 0; img < n; img++) {
            long base = (long) img * c * s;
            float b = get(params, 3L * img) - 0.5f, sat = get(params, 3L * img + 1) * 2f, k = get(params, 3L * img + 2) + 0.5f;
            double sum = 0;
            for (long p = 0; p < s; p++) {
                float m = pixelMean(x, base + p, c, s, b);
                for (int ch = 0; ch < c; ch++) sum += (get(x, base + ch * s + p) + b - m) * sat + m;
            }
            float mean = (float) (sum / ((double) c * s));
            for (long p = 0; p < s; p++) {
                float m = pixelMean(x, base + p, c, s, b);
                for (int ch = 0; ch < c; ch++) {
                    long i = base + ch * s + p;
                    float x2 = (get(x, i) + b - m) * sat + m;
                    set(y, i, (x2 - mean) * k + mean);
                }
            }
        }
    }

    /** sum_c (x[c, p] + b) / c in float, channel order: saturation's per-pixel mean. */
    private static float pixelMean(MemorySegment x, long at, int c, long s, float b) {
        float m = 0f;
        for (int ch = 0; ch < c; ch++) m += get(x, at + ch * s) + b;
        return m / c;
    }

    /** The adjoint of {@link #color}: contrast's then saturation's (brightness adds a constant); dx may alias dy. */
    private static void colorBackward(MemorySegment dy, MemorySegment params, MemorySegment dx, int n, int c, long s) {
        for (int img = 0; img < n; img++) {
            long base = (long) img * c * s;
            float sat = get(params, 3L * img + 1) * 2f, k = get(params, 3L * img + 2) + 0.5f;
            float satRest = 1f - sat, kRest = 1f - k;
            double sum = 0;
            for (long i = base; i < base + c * s; i++) sum += get(dy, i);
            float kd = kRest * (float) (sum / ((double) c * s));
            for (long p = 0; p < s; p++) {
                float g = 0f;
                for (int ch = 0; ch < c; ch++) g += get(dy, base + ch * s + p) * k + kd;
                float sg = satRest * (g / c);
                for (int ch = 0; ch < c; ch++) {
                    long i = base + ch * s + p;
                    set(dx, i, (get(dy, i) * k + kd) * sat + sg);
                }
            }
        }
    }

    /** out[c, i, j] = in[c, i + dir t_h, j + dir t_w], 0 outside: the forward with dir 1, its adjoint with -1. */
    private static void translation(MemorySegment in, MemorySegment params, MemorySegment out, int n, int c, int h, int w, int dir) {
        for (int img = 0; img < n; img++) {
            int th = dir * DiffAugment.shift(get(params, 2L * img), h), tw = dir * DiffAugment.shift(get(params, 2L * img + 1), w);
            int j0 = Math.max(0, -tw), j1 = Math.min(w, w - tw);   // the columns whose source is inside
            for (int ch = 0; ch < c; ch++) {
                long plane = ((long) img * c + ch) * h * w;
                for (int i = 0; i < h; i++) {
                    long row = plane + (long) i * w;
                    int from = i + th;
                    if (from < 0 || from >= h || j0 >= j1) {
                        zero(out, row, 0, w);
                        continue;
                    }
                    zero(out, row, 0, j0);
                    MemorySegment.copy(in, (plane + (long) from * w + j0 + tw) << 2, out, (row + j0) << 2, (long) (j1 - j0) << 2);
                    zero(out, row, j1, w);
                }
            }
        }
    }

    /** out = in outside each image's square, 0 inside; out may alias in. */
    private static void cutout(MemorySegment in, MemorySegment params, MemorySegment out, int n, int c, int h, int w) {
        if (in.address() != out.address()) MemorySegment.copy(in, 0, out, 0, (long) n * c * h * w << 2);
        int sh = DiffAugment.cutSize(h), sw = DiffAugment.cutSize(w);
        for (int img = 0; img < n; img++) {
            int a = DiffAugment.cutStart(get(params, 2L * img), h), b = DiffAugment.cutStart(get(params, 2L * img + 1), w);
            int i0 = Math.max(0, a), i1 = Math.min(h, a + sh), j0 = Math.max(0, b), j1 = Math.min(w, b + sw);
            for (int ch = 0; ch < c; ch++) {
                long plane = ((long) img * c + ch) * h * w;
                for (int i = i0; i < i1; i++) zero(out, plane + (long) i * w, j0, j1);
            }
        }
    }

    private static void zero(MemorySegment t, long row, int from, int to) {
        for (int j = from; j < to; j++) set(t, row + j, 0f);
    }
}
