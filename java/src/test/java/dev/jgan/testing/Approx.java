package dev.jgan.testing;

import static org.junit.jupiter.api.Assertions.fail;

/** Array comparisons that report the first bad index, both values and how many elements are bad. */
public final class Approx {
    private Approx() {}

    /**
     * Passes when |expected - actual| <= atol + rtol * |expected| for every element (NaN only
     * matches NaN, an infinity only the same infinity).
     */
    public static void assertClose(String what, float[] expected, float[] actual, double atol, double rtol) {
        if (expected.length != actual.length)
            fail(what + ": length " + actual.length + ", expected " + expected.length);
        int bad = 0, first = -1;
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            if (!close(expected[i], actual[i], atol, rtol)) {
                if (first < 0) first = i;
                bad++;
            }
            if (Float.isFinite(expected[i]) && Float.isFinite(actual[i]))
                worst = Math.max(worst, Math.abs((double) expected[i] - actual[i]));
        }
        if (bad > 0)
            fail(what + ": " + bad + " of " + expected.length + " elements differ; first at [" + first + "]: expected "
                    + expected[first] + ", got " + actual[first] + " (atol " + atol + ", rtol " + rtol
                    + ", largest finite |difference| " + worst + ")");
    }

    public static void assertClose(String what, float expected, float actual, double atol, double rtol) {
        assertClose(what, new float[] {expected}, new float[] {actual}, atol, rtol);
    }

    /** Bit-for-bit equality (for fills, copies and ops defined in float). */
    public static void assertSameBits(String what, float[] expected, float[] actual) {
        assertClose(what, expected, actual, 0, 0);
        for (int i = 0; i < expected.length; i++)
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i]))
                fail(what + ": [" + i + "] has bits " + Integer.toHexString(Float.floatToRawIntBits(actual[i]))
                        + ", expected " + Integer.toHexString(Float.floatToRawIntBits(expected[i])));
    }

    static boolean close(float expected, float actual, double atol, double rtol) {
        if (Float.isNaN(expected) || Float.isNaN(actual)) return Float.isNaN(expected) && Float.isNaN(actual);
        if (Float.isInfinite(expected) || Float.isInfinite(actual)) return expected == actual;
        return Math.abs((double) expected - actual) <= atol + rtol * Math.abs((double) expected);
    }
}
