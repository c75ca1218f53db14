package dev.jgan.bench.ops;

import dev.jgan.backend.Backend;
import dev.jgan.selection.Backends;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * What the op benchmarks share: the backend factory, random inputs, and the one-time check of a
 * result against a plain-Java computation of a few of its elements. The checks only guard against
 * timing a broken kernel (tolerances are loose); precision is the test suite's job.
 */
final class OpBench {
    private OpBench() {}

    /**
     * The backend a {@code @Param backend} names: the CLI's own {@link Backends#select}, so "cpu"
     * runs here and "cuda" runs where a GPU and its libraries are (elsewhere it fails with the reason).
     */
    static Backend backend(String name, int threads) {
        return Backends.select(name, threads, line -> {});
    }

    /** A shape written as a @Param value: "64x128x7x7" is (64, 128, 7, 7). */
    static Shape shape(String dims) {
        return Shape.of(Arrays.stream(dims.split("x")).mapToInt(Integer::parseInt).toArray());
    }

    /** n floats uniform in [lo, hi), the same for the same seed. */
    static float[] uniform(long n, long seed, float lo, float hi) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) a[i] = lo + (hi - lo) * (float) r.nextDouble();
        return a;
    }

    static float[] download(Backend b, Tensor t) {
        float[] h = new float[t.shape().intSize()];
        b.toHost(t, h);
        return h;
    }

    /**
     * Element indices to check in a tensor of n elements: the first, the last and {@code count - 2}
     * spread pseudo-randomly in between (so a wrong stride or a skipped tail shows).
     */
    static int[] spots(long n, int count) {
        SplittableRandom r = new SplittableRandom(n);
        int[] at = new int[Math.min(count, Math.toIntExact(n))];
        at[0] = 0;
        if (at.length > 1) at[at.length - 1] = Math.toIntExact(n - 1);
        for (int i = 1; i < at.length - 1; i++) at[i] = r.nextInt(Math.toIntExact(n));
        return at;
    }

    /** Throws unless |got - ref| <= atol + rtol * scale (scale: |ref|, or the sum of |terms| of a dot product). */
    static void check(String what, double got, double ref, double atol, double rtol, double scale) {
        if (!(Math.abs(got - ref) <= atol + rtol * scale))
            throw new IllegalStateException("benchmark self-check failed, not timing a wrong result: " + what
                    + " = " + got + ", expected " + ref + " (tolerance " + (atol + rtol * scale) + ")");
    }

    static void check(String what, double got, double ref, double atol, double rtol) {
        check(what, got, ref, atol, rtol, Math.abs(ref));
    }
}
