package dev.jgan.data;

import dev.jgan.random.Philox;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class ModeCoverageTest {
    final RingOfGaussians ring = new RingOfGaussians();

    @Test void theTrueDistributionCoversEveryMode() {
        int n = 10_000;
        float[] xy = new float[2 * n];
        ring.sample(xy, n, 1, 0);
        ModeCoverage.Result r = ModeCoverage.measure(xy, n, ring.modes(), ring.std());
        assertEquals(8, r.modesCovered());
        // a 2-D Gaussian puts 1 - exp(-4.5) = 98.9% of its mass within 3 std
        assertEquals(0.989, r.highQualityFraction(), 0.005);
        int total = 0;
        for (int c : r.perMode()) total += c;
        assertEquals(Math.round(r.highQualityFraction() * n), total);
    }

    @Test void collapseOntoOneModeCoversOne() {
        int n = 1000;
        float[] xy = new float[2 * n];
        float[] m3 = ring.modes()[3];
        for (int i = 0; i < n; i++) {
            xy[2 * i] = m3[0] + 0.01f * (i % 5);
            xy[2 * i + 1] = m3[1];
        }
        ModeCoverage.Result r = ModeCoverage.measure(xy, n, ring.modes(), ring.std());
        assertEquals(1, r.modesCovered());
        assertEquals(1.0, r.highQualityFraction());
        assertEquals(n, r.perMode()[3]);
    }

    @Test void uniformNoiseIsLowQuality() {
        int n = 10_000;
        float[] xy = new float[2 * n];
        for (int i = 0; i < 2 * n; i++) xy[i] = -3f + 6f * Philox.uniformAt(9, 0, i);
        ModeCoverage.Result r = ModeCoverage.measure(xy, n, ring.modes(), ring.std());
        // 8 disks of radius 0.15 cover 1.6% of the 6 x 6 box
        assertTrue(r.highQualityFraction() < 0.03, "quality " + r.highQualityFraction());
        assertTrue(r.modesCovered() <= 2, "each mode gets ~0.2% of samples, under the 1% bar: " + r.modesCovered());
    }

    @Test void aModeNeedsOnePercent() {
        // 990 samples at mode 0, 9 at mode 1 (0.9%), 11 at mode 2 (1.1%)
        int n = 1010;
        float[] xy = new float[2 * n];
        float[][] m = ring.modes();
        for (int i = 0; i < n; i++) {
            int k = i < 990 ? 0 : i < 999 ? 1 : 2;
            xy[2 * i] = m[k][0];
            xy[2 * i + 1] = m[k][1];
        }
        ModeCoverage.Result r = ModeCoverage.measure(xy, n, m, ring.std());
        assertEquals(2, r.modesCovered());
        assertArrayEquals(new int[] {990, 9, 11, 0, 0, 0, 0, 0}, r.perMode());
    }

    @Test void nanAndEmpty() {
        float[] xy = {Float.NaN, 0f, 2f, 0f};
        ModeCoverage.Result r = ModeCoverage.measure(xy, 2, ring.modes(), ring.std());
        assertEquals(0.5, r.highQualityFraction());
        assertEquals(1, r.modesCovered());
        ModeCoverage.Result e = ModeCoverage.measure(new float[0], 0, ring.modes(), ring.std());
        assertEquals(0, e.modesCovered());
        assertEquals(0.0, e.highQualityFraction());
    }
}
