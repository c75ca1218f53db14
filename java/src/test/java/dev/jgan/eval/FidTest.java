package dev.jgan.eval;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Fréchet distance: zero against itself, the closed form for diagonal covariances, growth
 * with a shift and with noise, and random full covariances against an independent reference
 * (the Denman-Beavers iteration for the square root of S1 S2, in plain double loops).
 */
class FidTest {
    /** Eigendecompositions of 128x128 covariances of order 1: residuals ~1e-13 per eigenvalue, summed over 128. */
    static final double SELF_ATOL = 1e-8;
    /** Against the reference: two different double-precision square roots, agreeing to ~1e-10 relative. */
    static final double REF_RTOL = 1e-8;

    @Test
    void aSetAgainstItselfIsZero() {
        float[] f = features(1, 3000, 128, 0f, 0f);
        Fid.Stats s = Fid.stats(f, 3000, 128);
        assertEquals(0, Fid.distance(s, s), SELF_ATOL);
    }

    /** Shifting every feature by t adds exactly 128 t^2 (the mean term), covariance unchanged. */
    @Test
    void aShiftAddsItsSquaredLength() {
        int n = 2000, d = 128;
        Fid.Stats base = Fid.stats(features(2, n, d, 0f, 0f), n, d);
        double previous = -1;
        for (float t : new float[] {0.01f, 0.1f, 0.5f, 1f, 2f}) {
            double fid = Fid.distance(base, Fid.stats(features(2, n, d, t, 0f), n, d));
            assertEquals(d * (double) t * t, fid, 1e-4 * d * t * t + 1e-7, "shift " + t);
            assertTrue(fid > previous, "grows with the shift");
            previous = fid;
        }
    }

    /** Independent noise of growing standard deviation: FID grows monotonically. */
    @Test
    void noiseGrowsMonotonically() {
        int n = 2000, d = 128;
        Fid.Stats base = Fid.stats(features(3, n, d, 0f, 0f), n, d);
        double previous = Fid.distance(base, Fid.stats(features(3, n, d, 0f, 0f), n, d));
        for (float s : new float[] {0.05f, 0.1f, 0.2f, 0.4f, 0.8f}) {
            double fid = Fid.distance(base, Fid.stats(features(3, n, d, 0f, s), n, d));
            assertTrue(fid > previous, "noise " + s + ": " + fid + " after " + previous);
            previous = fid;
        }
    }

    /** Diagonal covariances: FID = |mu1 - mu2|^2 + sum (sqrt(a_i) - sqrt(b_i))^2. */
    @Test
    void diagonalClosedForm() {
        int d = 5;
        double[] a = {1, 4, 0.25, 9, 2}, b = {4, 1, 1, 9, 0.5}, mu1 = {0, 1, 2, 3, 4}, mu2 = {1, 1, 2, 3, 2};
        double[] s1 = new double[d * d], s2 = new double[d * d];
        double expected = 1 + 4;
        for (int i = 0; i < d; i++) {
            s1[i * d + i] = a[i];
            s2[i * d + i] = b[i];
            expected += Math.pow(Math.sqrt(a[i]) - Math.sqrt(b[i]), 2);
        }
        assertEquals(expected, Fid.distance(mu1, s1, mu2, s2, d), 1e-12);
    }

    @ParameterizedTest(name = "d={0}")
    @ValueSource(ints = {1, 2, 7, 16, 40})
    void randomCovariancesMatchTheReference(int d) {
        Random r = new Random(d);
        double[] s1 = randomSpd(r, d), s2 = randomSpd(r, d), mu1 = new double[d], mu2 = new double[d];
        for (int i = 0; i < d; i++) {
            mu1[i] = r.nextGaussian();
            mu2[i] = r.nextGaussian();
        }
        double expected = 0;
        for (int i = 0; i < d; i++) expected += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]) + s1[i * d + i] + s2[i * d + i];
        double[] root = sqrtDenmanBeavers(multiply(s1, s2, d), d);
        for (int i = 0; i < d; i++) expected -= 2 * root[i * d + i];
        double got = Fid.distance(mu1, s1, mu2, s2, d);
        assertEquals(expected, got, REF_RTOL * Math.abs(expected), "FID of random covariances, d = " + d);
    }

    /** Rank-deficient covariances (fewer samples than features): eigenvalues clamped at 0, the result stays finite and >= 0. */
    @Test
    void singularCovariances() {
        int n = 20, d = 128;
        double fid = Fid.distance(Fid.stats(features(5, n, d, 0f, 0f), n, d), Fid.stats(features(6, n, d, 0f, 0f), n, d));
        assertTrue(Double.isFinite(fid) && fid > 0, "finite and positive: " + fid);
    }

    /** n rows of d correlated features: shared factors plus per-row detail, then + shift, + N(0, noise^2) per entry. */
    static float[] features(long seed, int n, int d, float shift, float noise) {
        Random r = new Random(seed), e = new Random(seed + 1000);
        float[] f = new float[n * d];
        double[] mix = new double[d * 4];
        Random m = new Random(99);
        for (int i = 0; i < mix.length; i++) mix[i] = m.nextGaussian();
        for (int i = 0; i < n; i++) {
            double[] z = {r.nextGaussian(), r.nextGaussian(), r.nextGaussian(), r.nextGaussian()};
            for (int j = 0; j < d; j++) {
                double v = 0.3 * r.nextGaussian();
                for (int k = 0; k < 4; k++) v += mix[j * 4 + k] * z[k];
                f[i * d + j] = (float) (Math.max(v, 0) + shift + noise * e.nextGaussian());
            }
        }
        return f;
    }

    static double[] randomSpd(Random r, int d) {
        double[] a = new double[d * d];
        for (int i = 0; i < a.length; i++) a[i] = r.nextGaussian();
        double[] s = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                double v = i == j ? 0.1 : 0;
                for (int k = 0; k < d; k++) v += a[i * d + k] * a[j * d + k] / d;
                s[i * d + j] = v;
            }
        return s;
    }

    static double[] multiply(double[] a, double[] b, int d) {
        double[] c = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int k = 0; k < d; k++)
                for (int j = 0; j < d; j++) c[i * d + j] += a[i * d + k] * b[k * d + j];
        return c;
    }

    /** sqrt(A) for A with positive real eigenvalues: Y <- (Y + Z^-1) / 2, Z <- (Z + Y^-1) / 2 from Y = A, Z = I. */
    static double[] sqrtDenmanBeavers(double[] a, int d) {
        double[] y = a.clone(), z = new double[d * d];
        for (int i = 0; i < d; i++) z[i * d + i] = 1;
        for (int it = 0; it < 100; it++) {
            double[] yi = inverse(y, d), zi = inverse(z, d), ny = new double[d * d], nz = new double[d * d];
            double change = 0;
            for (int i = 0; i < d * d; i++) {
                ny[i] = 0.5 * (y[i] + zi[i]);
                nz[i] = 0.5 * (z[i] + yi[i]);
                change = Math.max(change, Math.abs(ny[i] - y[i]));
            }
            y = ny;
            z = nz;
            if (change < 1e-15) break;
        }
        return y;
    }

    /** Gauss-Jordan with partial pivoting. */
    static double[] inverse(double[] m, int d) {
        double[] a = m.clone(), inv = new double[d * d];
        for (int i = 0; i < d; i++) inv[i * d + i] = 1;
        for (int c = 0; c < d; c++) {
            int p = c;
            for (int r = c + 1; r < d; r++) if (Math.abs(a[r * d + c]) > Math.abs(a[p * d + c])) p = r;
            for (int j = 0; j < d; j++) {
                double t = a[c * d + j]; a[c * d + j] = a[p * d + j]; a[p * d + j] = t;
                t = inv[c * d + j]; inv[c * d + j] = inv[p * d + j]; inv[p * d + j] = t;
            }
            double pivot = a[c * d + c];
            for (int j = 0; j < d; j++) {
                a[c * d + j] /= pivot;
                inv[c * d + j] /= pivot;
            }
            for (int r = 0; r < d; r++) {
                if (r == c) continue;
                double f = a[r * d + c];
                if (f == 0) continue;
                for (int j = 0; j < d; j++) {
                    a[r * d + j] -= f * a[c * d + j];
                    inv[r * d + j] -= f * inv[c * d + j];
                }
            }
        }
        return inv;
    }
}
