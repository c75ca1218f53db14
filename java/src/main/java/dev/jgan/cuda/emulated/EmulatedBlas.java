package dev.jgan.cuda.emulated;

import dev.jgan.cuda.Blas;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * cublasSgemm's contract ({@link Blas}) on the emulated device: a plain-Java column-major sgemm
 * ({@link HostGemm}) with cuBLAS's semantics (op, m, n, k, lda, ldb, ldc, and beta == 0 not
 * reading C). Before the call, the checks cuBLAS makes
 * ({@link Blas#checkArguments}) and one cuBLAS cannot make: every operand's extent, from its
 * leading dimension, must lie inside its allocation ({@link EmulatedMemory#segment}), so a wrong
 * leading dimension fails here instead of reading past the end.
 */
public final class EmulatedBlas implements Blas {
    private final EmulatedMemory memory;

    public EmulatedBlas(EmulatedMemory memory) {
        this.memory = memory;
    }

    @Override public String describe() {
        return "emulated cuBLAS (host column-major sgemm)";
    }

    @Override public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda,
                                long b, int ldb, float beta, long c, int ldc) {
        Blas.checkArguments(transA, transB, m, n, k, lda, ldb, ldc);
        if (m == 0 || n == 0) return; // cuBLAS returns at once
        String call = "cublasSgemm (emulated) " + Blas.describeCall(transA, transB, m, n, k, lda, ldb, ldc);
        // a stored rows x cols column-major matrix spans (cols - 1) * ld + rows floats
        MemorySegment sc = memory.segment(c, 4 * extent(m, n, ldc), call + ": C");
        if (k == 0 || alpha == 0f) { // C = beta C, A and B unread (as cuBLAS)
            scale(sc, m, n, ldc, beta);
            return;
        }
        MemorySegment sa = memory.segment(a, 4 * (transA ? extent(k, m, lda) : extent(m, k, lda)), call + ": A");
        MemorySegment sb = memory.segment(b, 4 * (transB ? extent(n, k, ldb) : extent(k, n, ldb)), call + ": B");
        HostGemm.sgemm(transA, transB, m, n, k, alpha, sa, lda, sb, ldb, beta, sc, ldc);
    }

    private static long extent(int rows, int cols, int ld) {
        return (long) (cols - 1) * ld + rows;
    }

    private static void scale(MemorySegment c, int m, int n, int ldc, float beta) {
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                long at = i + (long) j * ldc;
                c.setAtIndex(ValueLayout.JAVA_FLOAT, at,
                        beta == 0f ? 0f : beta * c.getAtIndex(ValueLayout.JAVA_FLOAT, at));
            }
    }

    @Override public String toString() { return describe(); }
}
