package dev.jgan.check;

import java.util.Locale;

/**
 * One row of {@code gan check}'s table: the section (ops, step, resume, bench), the case and its
 * shape, the worst |difference| and the bound it was held to there, pass or fail, the wall time,
 * and a detail (the worst output's name, or why the case failed). Error and tolerance are NaN
 * where a case has no numeric comparison (a benchmark).
 */
public record CheckResult(String section, String name, String shape, double error, double tolerance, boolean passed,
                          double millis, String detail) {

    public static CheckResult of(String section, String name, String shape, Comparison c, double millis) {
        return new CheckResult(section, name, shape, c.error(), c.tolerance(), c.passed(), millis, c.detail());
    }

    /** A case that threw: failed, with the exception's message as the detail. */
    public static CheckResult thrown(String section, String name, String shape, RuntimeException e, double millis) {
        String m = e.getMessage() == null ? e.toString() : e.getMessage();
        return new CheckResult(section, name, shape, Double.NaN, Double.NaN, false, millis, m.lines().findFirst().orElse(m));
    }

    public String result() { return passed ? "PASS" : "FAIL"; }

    /** "1.2e-07" or "-" when there is no number. */
    static String number(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1e", v);
    }
}
