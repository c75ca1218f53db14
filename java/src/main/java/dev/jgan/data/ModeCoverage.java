package dev.jgan.data;

/**
 * Mode coverage of 2-D samples against a mixture of Gaussians, as in the mode-collapse papers
 * (Srivastava et al., "VEEGAN", 2017): a sample is high quality when it lies within 3 std of the
 * nearest mode centre; a mode is covered when at least 1% of all samples are high-quality samples
 * of it. For an exact 2-D Gaussian, 1 - exp(-4.5) = 98.9% of samples fall within 3 std.
 */
public final class ModeCoverage {
    /** Distance, in stds, within which a sample counts for its nearest mode. */
    public static final double QUALITY_STDS = 3.0;
    /** Fraction of samples a mode needs to count as covered. */
    public static final double COVERED_FRACTION = 0.01;

    private ModeCoverage() {}

    /**
     * @param modesCovered modes with at least 1% of the samples within 3 std
     * @param highQualityFraction fraction of samples within 3 std of some mode (0 when n = 0)
     * @param perMode high-quality samples per mode
     */
    public record Result(int modesCovered, double highQualityFraction, int[] perMode, int n) {}

    /** {@code xy}: n points (x0, y0, x1, y1, ...); {@code centres}: (modes, 2). NaN samples count as low quality. */
    public static Result measure(float[] xy, int n, float[][] centres, double std) {
        if (n < 0 || 2L * n > xy.length) throw new IllegalArgumentException("xy holds " + xy.length / 2 + " points, asked for " + n);
        double limit2 = QUALITY_STDS * std * QUALITY_STDS * std;
        int[] perMode = new int[centres.length];
        int good = 0;
        for (int i = 0; i < n; i++) {
            double x = xy[2 * i], y = xy[2 * i + 1];
            int best = -1;
            double bestD2 = Double.POSITIVE_INFINITY;
            for (int k = 0; k < centres.length; k++) {
                double dx = x - centres[k][0], dy = y - centres[k][1];
                double d2 = dx * dx + dy * dy;
                if (d2 < bestD2) {
                    bestD2 = d2;
                    best = k;
                }
            }
            if (best >= 0 && bestD2 <= limit2) {
                perMode[best]++;
                good++;
            }
        }
        int covered = 0;
        for (int c : perMode) if (c > 0 && c >= COVERED_FRACTION * n) covered++;
        return new Result(covered, n == 0 ? 0.0 : (double) good / n, perMode, n);
    }
}
