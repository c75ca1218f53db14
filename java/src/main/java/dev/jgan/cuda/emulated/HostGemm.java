package dev.jgan.cuda.emulated;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * The emulated device's GEMM: cuBLAS's column-major sgemm contract ({@link Blas}) in plain Java on
 * one thread, for {@link EmulatedBlas} and {@link EmulatedDnn}. Not OpenBLAS: its worker threads
 * spin between calls and would take the cores from everything else running beside the emulation
 * (the CPU backend's oneDNN team in the same test JVM).
 *
 * <p>op(A) and op(B) are packed into float arrays (a column at a time: a bulk copy when not
 * transposed), then each column of C is a sum over p of op(A)'s column p times op(B)[p, j]: an
 * axpy over contiguous floats that the JIT vectorises, accumulated in float as a BLAS does.
 * C = alpha acc + beta C, C not read when beta is 0.
 */
final class HostGemm {
    private HostGemm() {}

    static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, MemorySegment a, int lda,
                      MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        if (m == 0 || n == 0) return;
        float[] pa = pack(transA, m, k, a, lda), pb = pack(transB, k, n, b, ldb);
        float[] acc = new float[m];
        for (int j = 0; j < n; j++) {
            Arrays.fill(acc, 0f);
            if (alpha != 0f) {
                for (int p = 0; p < k; p++) {
                    float bpj = pb[p + j * k];
                    if (bpj == 0f) continue;
                    int col = p * m;
                    for (int i = 0; i < m; i++) acc[i] += pa[col + i] * bpj;
                }
            }
            long at = (long) j * ldc;
            for (int i = 0; i < m; i++) {
                float old = beta == 0f ? 0f : beta * c.getAtIndex(JAVA_FLOAT, at + i);
                c.setAtIndex(JAVA_FLOAT, at + i, alpha * acc[i] + old);
            }
        }
    }

    /** op(X) (rows x cols) packed column-major: X stored rows x cols (ld) or, transposed, cols x rows. */
    private static float[] pack(boolean trans, int rows, int cols, MemorySegment x, int ld) {
        float[] out = new float[Math.multiplyExact(rows, cols)];
        if (rows == 0 || cols == 0) return out;
        if (!trans) {
            for (int j = 0; j < cols; j++) MemorySegment.copy(x, JAVA_FLOAT, 4L * j * ld, out, j * rows, rows);
        } else {
            // op(X)[i, j] = X[j, i], X stored cols x rows with leading dimension ld
            for (int i = 0; i < rows; i++) {
                long base = (long) i * ld;
                for (int j = 0; j < cols; j++) out[i + j * rows] = x.getAtIndex(JAVA_FLOAT, base + j);
            }
        }
        return out;
    }
}
