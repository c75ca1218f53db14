package dev.jgan.data;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

class RingOfGaussiansTest {
    final RingOfGaussians ring = new RingOfGaussians();

    @Test void modesAreOnTheCircle() {
        float[][] m = ring.modes();
        assertEquals(8, m.length);
        assertArrayEquals(new float[] {2f, 0f}, m[0], 1e-6f);
        assertArrayEquals(new float[] {0f, 2f}, m[2], 1e-6f);
        for (float[] c : m) assertEquals(2.0, Math.hypot(c[0], c[1]), 1e-6);
        m[0][0] = 99f;
        assertEquals(2f, ring.modes()[0][0], "modes() returns a copy");
    }

    @Test void deterministicAndComposable() {
        float[] a = new float[20], b = new float[20], c = new float[10];
        ring.sample(a, 10, 5, 0);
        ring.sample(b, 10, 5, 0);
        assertArrayEquals(a, b);
        ring.sample(c, 5, 5, 5);
        assertArrayEquals(Arrays.copyOfRange(a, 10, 20), c, "a draw at offset 5 continues a draw at offset 0");
        ring.sample(b, 10, 6, 0);
        assertFalse(Arrays.equals(a, b), "another seed, other samples");
        assertEquals(10, RingOfGaussians.blocks(10));
    }

    @Test void statisticsMatchTheMixture() {
        int n = 80_000;
        float[] xy = new float[2 * n];
        ring.sample(xy, n, 2024, 0);
        float[][] m = ring.modes();
        int[] count = new int[8];
        double sum = 0, sum2 = 0;
        for (int i = 0; i < n; i++) {
            int best = 0;
            double bestD = Double.MAX_VALUE;
            for (int k = 0; k < 8; k++) {
                double d = Math.hypot(xy[2 * i] - m[k][0], xy[2 * i + 1] - m[k][1]);
                if (d < bestD) { bestD = d; best = k; }
            }
            count[best]++;
            double dx = xy[2 * i] - m[best][0], dy = xy[2 * i + 1] - m[best][1];
            sum += dx + dy;
            sum2 += dx * dx + dy * dy;
        }
        // each mode has p = 1/8; 5 binomial standard deviations is about 0.006
        for (int k = 0; k < 8; k++) assertEquals(0.125, (double) count[k] / n, 0.006, "mode " + k + ": " + Arrays.toString(count));
        assertEquals(0.0, sum / (2 * n), 0.002, "noise mean");
        assertEquals(0.05, Math.sqrt(sum2 / (2 * n)), 0.001, "noise std");
    }
}
