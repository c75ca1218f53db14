package dev.jgan.testing;

import java.util.function.DoubleSupplier;

/** Central differences in double precision, for the backward checks of the reference ops. */
public final class FiniteDifference {
    private FiniteDifference() {}

    /** (L(v + h e_j) - L(v - h e_j)) / 2h, with v[j] restored afterwards. */
    public static double central(double[] v, int j, double h, DoubleSupplier loss) {
        double keep = v[j];
        v[j] = keep + h;
        double plus = loss.getAsDouble();
        v[j] = keep - h;
        double minus = loss.getAsDouble();
        v[j] = keep;
        return (plus - minus) / (2 * h);
    }
}
