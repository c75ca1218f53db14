package dev.jgan.cuda;

/**
 * The BLAS port of the CUDA backend: cuBLAS's single-precision GEMM with its exact column-major
 * signature on device pointers. Two adapters: {@link CublasBlas} (cuBLAS through JCublas2, on
 * the backend's stream) and {@link EmulatedBlas} (a host implementation of the same contract).
 *
 * <p>The contract (cublasSgemm): matrices are column-major, element (i, j) of a matrix with
 * leading dimension ld is at {@code i + j * ld}. {@code C = alpha op(A) op(B) + beta C} with
 * op(A) m x k, op(B) k x n and C m x n; A is stored m x k ({@code transA} false, lda >= max(1, m))
 * or k x m (true, lda >= max(1, k)); B is stored k x n (ldb >= max(1, k)) or n x k (ldb >= max(1, n));
 * ldc >= max(1, m). When beta is 0, C is not read (NaN in C does not propagate). Row-major
 * callers translate with one helper ({@code CudaBackend.gemmRowMajor}); nobody else does.
 */
public interface Blas extends AutoCloseable {

    /** One line: which adapter and library version. */
    String describe();

    /** cublasSgemm(handle, transA ? T : N, transB ? T : N, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc). */
    void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda,
               long b, int ldb, float beta, long c, int ldc);

    /**
     * The argument checks cuBLAS makes (CUBLAS_STATUS_INVALID_VALUE): sizes >= 0 and leading
     * dimensions at least the rows of each stored matrix. Shared by both adapters so that the
     * emulation refuses exactly what cuBLAS refuses; the message names the call and the values.
     */
    static void checkArguments(boolean transA, boolean transB, int m, int n, int k, int lda, int ldb, int ldc) {
        int rowsA = transA ? k : m, rowsB = transB ? n : k;
        if (m < 0 || n < 0 || k < 0 || lda < Math.max(1, rowsA) || ldb < Math.max(1, rowsB) || ldc < Math.max(1, m))
            throw new IllegalArgumentException("cublasSgemm: invalid value (CUBLAS_STATUS_INVALID_VALUE) for "
                    + describeCall(transA, transB, m, n, k, lda, ldb, ldc) + ": need m, n, k >= 0, lda >= " + Math.max(1, rowsA)
                    + ", ldb >= " + Math.max(1, rowsB) + ", ldc >= " + Math.max(1, m));
    }

    /** "transA=N transB=T m=.. n=.. k=.. lda=.. ldb=.. ldc=..", for failure messages. */
    static String describeCall(boolean transA, boolean transB, int m, int n, int k, int lda, int ldb, int ldc) {
        return "transA=" + (transA ? "T" : "N") + " transB=" + (transB ? "T" : "N") + " m=" + m + " n=" + n + " k=" + k
                + " lda=" + lda + " ldb=" + ldb + " ldc=" + ldc;
    }

    @Override
    default void close() {}
}
