package dev.jgan.check;

/**
 * The outcome of comparing one case's outputs with the reference: every output is held to
 * {@code |actual - expected| <= atol + rtol * |expected|} elementwise (NaN only matches NaN, an
 * infinity only itself) or to identical bits. What the check's table shows is the worst element
 * over all outputs, the one closest to (or furthest past) its bound: its |difference|, its bound
 * and the output's name.
 */
public final class Comparison {
    private double worstRatio = -1, error, tolerance;
    private String worstOutput = "", failure;
    private long nonFinite;

    /** Elementwise |actual - expected| <= atol + rtol |expected|. */
    public Comparison close(String output, float[] expected, float[] actual, double atol, double rtol) {
        if (expected.length != actual.length) return fail(output + ": " + actual.length + " elements, expected " + expected.length);
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i], a = actual[i];
            if (!Float.isFinite(a)) nonFinite++;
            double bound = atol + rtol * Math.abs((double) e);
            if (Float.isNaN(e) || Float.isNaN(a) || Float.isInfinite(e) || Float.isInfinite(a)) {
                boolean same = Float.isNaN(e) ? Float.isNaN(a) : e == a;
                // go on after a mismatch: the count of non-finite values covers the whole output
                if (!same) fail(output + "[" + i + "]: " + a + ", expected " + e);
                continue;
            }
            double d = Math.abs((double) a - e);
            double ratio = bound > 0 ? d / bound : (d == 0 ? 0 : Double.POSITIVE_INFINITY);
            if (ratio > worstRatio) {
                worstRatio = ratio;
                error = d;
                tolerance = bound;
                worstOutput = output;
            }
            if (ratio > 1 && failure == null) failure = output + "[" + i + "]: " + a + ", expected " + e;
        }
        return this;
    }

    /** Identical bits (ops defined in float: copies, fills, ReLU, dropout masks). */
    public Comparison sameBits(String output, float[] expected, float[] actual) {
        close(output, expected, actual, 0, 0);
        for (int i = 0; i < Math.min(expected.length, actual.length) && failure == null; i++)
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i]))
                fail(output + "[" + i + "]: bits " + Integer.toHexString(Float.floatToRawIntBits(actual[i])) + ", expected "
                        + Integer.toHexString(Float.floatToRawIntBits(expected[i])));
        return this;
    }

    /** A single measure (a relative norm, a fraction) held to {@code error <= tolerance}. */
    public Comparison bound(String output, double error, double tolerance) {
        double ratio = tolerance > 0 ? error / tolerance : (error == 0 ? 0 : Double.POSITIVE_INFINITY);
        if (!(ratio <= 1) && failure == null) failure = output + ": " + error + " > " + tolerance;
        if (ratio > worstRatio || Double.isNaN(ratio)) {
            worstRatio = Double.isNaN(ratio) ? Double.POSITIVE_INFINITY : ratio;
            this.error = error;
            this.tolerance = tolerance;
            worstOutput = output;
        }
        return this;
    }

    /** A failure that is not a difference of values (wrong length, an exception, a non-finite loss). */
    public Comparison fail(String why) {
        if (failure == null) failure = why;
        worstRatio = Math.max(worstRatio, Double.POSITIVE_INFINITY);
        return this;
    }

    public boolean passed() { return failure == null; }

    /** NaNs and infinities among the actual values of every output compared so far (a wrong-length output is not counted). */
    public long nonFinite() { return nonFinite; }

    /** |difference| over its bound at the worst element: above 1 when it failed there, infinite for a failure that is not a difference, -1 before any value. */
    public double ratio() { return worstRatio; }

    /** The largest |difference| relative to its bound, at the worst element. */
    public double error() { return error; }

    /** The bound atol + rtol |expected| at the worst element (0 for a bit-exact output). */
    public double tolerance() { return tolerance; }

    /** The worst output's name; with the first failing element when the case failed. */
    public String detail() { return failure != null ? failure : worstOutput; }
}
