package dev.jgan.eval;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * The Fréchet distance between two Gaussians fitted to feature sets (Heusel et al. 2017's FID,
 * here on the evaluation classifier's 128 penultimate features instead of Inception's 2048):
 *
 * <pre>  FID = ||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2))</pre>
 *
 * Means and covariances (unbiased, divided by n - 1) are accumulated in double. The trace of the
 * square root is computed without a non-symmetric matrix root: with R = S1^(1/2) (symmetric,
 * from EJML's symmetric eigendecomposition S1 = V diag(l) V^T as V diag(sqrt(l)) V^T), the
 * matrix M = R S2 R is symmetric positive semi-definite and similar to S1 S2 (S1 S2 = R (R S2 R) R^-1
 * where R is invertible, and the eigenvalues agree in the limit where it is not), so
 * Tr((S1 S2)^(1/2)) = sum_i sqrt(lambda_i(M)). Eigenvalues that rounding makes slightly negative
 * are clamped to 0. This is what scipy.linalg.sqrtm computes, without its complex-valued detour.
 */
public final class Fid {
    private Fid() {}

    /** Mean (d) and covariance (d x d, row-major) of a feature set, in double. */
    public record Stats(int n, int d, double[] mean, double[] cov) {}

    /** Statistics of n feature rows of width d, stored row-major as floats. */
    public static Stats stats(float[] features, int n, int d) {
        if (n < 2) throw new IllegalArgumentException("a covariance needs at least 2 samples, got " + n);
        double[] mean = new double[d], cov = new double[d * d], row = new double[d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) mean[j] += features[i * d + j];
        for (int j = 0; j < d; j++) mean[j] /= n;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) row[j] = features[i * d + j] - mean[j];
            for (int j = 0; j < d; j++) {
                double rj = row[j];
                if (rj == 0) continue;
                for (int k = j; k < d; k++) cov[j * d + k] += rj * row[k];
            }
        }
        for (int j = 0; j < d; j++)
            for (int k = j; k < d; k++) {
                double c = cov[j * d + k] / (n - 1);
                cov[j * d + k] = c;
                cov[k * d + j] = c;
            }
        return new Stats(n, d, mean, cov);
    }

    /** The Fréchet distance between the Gaussians of {@code a} and {@code b}. */
    public static double distance(Stats a, Stats b) {
        if (a.d() != b.d()) throw new IllegalArgumentException("feature widths differ: " + a.d() + " and " + b.d());
        return distance(a.mean(), a.cov(), b.mean(), b.cov(), a.d());
    }

    /** As {@link #distance(Stats, Stats)}, for means (d) and covariances (d x d, row-major, symmetric). */
    public static double distance(double[] mu1, double[] s1, double[] mu2, double[] s2, int d) {
        double meanTerm = 0;
        for (int j = 0; j < d; j++) meanTerm += (mu1[j] - mu2[j]) * (mu1[j] - mu2[j]);
        DMatrixRMaj c1 = DMatrixRMaj.wrap(d, d, s1.clone()), c2 = DMatrixRMaj.wrap(d, d, s2.clone());
        double traces = CommonOps_DDRM.trace(c1) + CommonOps_DDRM.trace(c2);
        DMatrixRMaj root = sqrtSymmetric(c1);
        DMatrixRMaj tmp = new DMatrixRMaj(d, d), m = new DMatrixRMaj(d, d);
        CommonOps_DDRM.mult(root, c2, tmp);
        CommonOps_DDRM.mult(tmp, root, m);
        symmetrize(m);
        double traceRoot = 0;
        for (double l : eigenvalues(m)) traceRoot += Math.sqrt(Math.max(l, 0));
        return meanTerm + traces - 2 * traceRoot;
    }

    /** S^(1/2) of a symmetric positive semi-definite S: V diag(sqrt(max(l, 0))) V^T. */
    static DMatrixRMaj sqrtSymmetric(DMatrixRMaj s) {
        int d = s.numRows;
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(d, true, true);
        if (!eig.decompose(s.copy())) throw new ArithmeticException("FID: the eigendecomposition of a covariance did not converge");
        DMatrixRMaj out = new DMatrixRMaj(d, d);
        for (int i = 0; i < d; i++) {
            double l = Math.sqrt(Math.max(eig.getEigenvalue(i).getReal(), 0));
            DMatrixRMaj v = eig.getEigenVector(i);
            for (int r = 0; r < d; r++) {
                double vr = v.get(r, 0) * l;
                if (vr == 0) continue;
                for (int c = 0; c < d; c++) out.add(r, c, vr * v.get(c, 0));
            }
        }
        return out;
    }

    static double[] eigenvalues(DMatrixRMaj sym) {
        int d = sym.numRows;
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(d, false, true);
        if (!eig.decompose(sym.copy())) throw new ArithmeticException("FID: the eigendecomposition did not converge");
        double[] out = new double[d];
        for (int i = 0; i < d; i++) out[i] = eig.getEigenvalue(i).getReal();
        return out;
    }

    private static void symmetrize(DMatrixRMaj m) {
        int d = m.numRows;
        for (int r = 0; r < d; r++)
            for (int c = r + 1; c < d; c++) {
                double v = 0.5 * (m.get(r, c) + m.get(c, r));
                m.set(r, c, v);
                m.set(c, r, v);
            }
    }
}
