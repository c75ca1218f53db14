package dev.jgan.testing;

import java.util.Random;
import java.util.SplittableRandom;

/** Deterministic test inputs. */
public final class TestData {
    /** Sizes that are 1, prime, or not a multiple of any vector width, plus one exact power of two. */
    public static final int[] AWKWARD_SIZES = {1, 13, 207, 702, 1024, 65537};

    private TestData() {}

    /** n values uniform in [lo, hi). */
    public static float[] uniform(long seed, int n, float lo, float hi) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) (lo + (hi - lo) * r.nextDouble());
        return out;
    }

    /** n values mean + std * N(0, 1). */
    public static float[] normal(long seed, int n, double mean, double std) {
        Random r = new Random(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) (mean + std * r.nextGaussian());
        return out;
    }
}
