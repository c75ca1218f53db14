package dev.jgan.cuda;

import dev.jgan.cuda.emulated.EmulatedBlas;
import dev.jgan.cuda.emulated.EmulatedMemory;
import dev.jgan.check.Reference;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The emulated BLAS ({@link EmulatedBlas}) against the plain-Java reference of cuBLAS's column-major
 * sgemm ({@link Reference#sgemmColumnMajor}), on the cases that expose the classic mistakes:
 * non-square shapes where m, n and k all differ (a swapped dimension reads the wrong elements),
 * every transpose combination, leading dimensions larger than the minimum (the padding rows
 * hold a sentinel that must come out unread and untouched), beta != 0 (C read and blended) and
 * beta == 0 over NaN (C not read).
 */
class EmulatedBlasTest {
    /** The reference sums in double; the emulation in float with K <= 37 products: 1e-5 relative, 1e-5 absolute for sums near 0. */
    private static final double RTOL = 1e-5, ATOL = 1e-5;
    /** In the padding rows of every matrix: must survive every call. */
    private static final float SENTINEL = -12345.5f;

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        int[][] shapes = {{3, 5, 7}, {1, 13, 2}, {17, 4, 37}, {6, 1, 1}};
        for (int[] s : shapes)
            for (boolean ta : new boolean[] {false, true})
                for (boolean tb : new boolean[] {false, true})
                    for (int pad : new int[] {0, 3})
                        for (float beta : new float[] {0f, 0.5f}) out.add(Arguments.of(s[0], s[1], s[2], ta, tb, pad, beta));
        return out.stream();
    }

    @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} transB={4} ld+{5} beta={6}")
    @MethodSource("cases")
    void matchesTheReference(int m, int n, int k, boolean transA, boolean transB, int pad, float beta) {
        int rowsA = transA ? k : m, colsA = transA ? m : k, rowsB = transB ? n : k, colsB = transB ? k : n;
        int lda = rowsA + pad, ldb = rowsB + pad, ldc = m + pad;
        float alpha = 1.25f;
        float[] a = padded(TestData.uniform(1, rowsA * colsA, -1f, 1f), rowsA, colsA, lda);
        float[] b = padded(TestData.uniform(2, rowsB * colsB, -1f, 1f), rowsB, colsB, ldb);
        float[] c = padded(beta == 0f ? nans(m * n) : TestData.uniform(3, m * n, -1f, 1f), m, n, ldc);
        float[] expected = c.clone();
        Reference.sgemmColumnMajor(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, expected, ldc);

        EmulatedMemory memory = new EmulatedMemory();
        try {
            long da = upload(memory, a), db = upload(memory, b), dc = upload(memory, c);
            new EmulatedBlas(memory).sgemm(transA, transB, m, n, k, alpha, da, lda, db, ldb, beta, dc, ldc);
            float[] got = new float[c.length];
            memory.copyToHost(dc, got, 0, got.length);
            for (int j = 0; j < n; j++)
                for (int i = 0; i < ldc; i++) {
                    int at = i + j * ldc;
                    if (i >= m) {
                        assertEquals(SENTINEL, got[at], "C padding row " + i + " of column " + j + " was written");
                        continue;
                    }
                    if (!(Math.abs(got[at] - expected[at]) <= ATOL + RTOL * Math.abs(expected[at])))
                        fail("C(" + i + ", " + j + "): expected " + expected[at] + ", got " + got[at]);
                }
        } finally {
            memory.close();
        }
    }

    /** Hand-computed: column-major A (2 x 3) = [1 2 3; 4 5 6] stored with lda 3, times B = I (3 x 3), plus 2 C. */
    @Test
    void handComputed() {
        EmulatedMemory memory = new EmulatedMemory();
        try {
            long a = upload(memory, new float[] {1, 4, SENTINEL, 2, 5, SENTINEL, 3, 6, SENTINEL});
            long b = upload(memory, new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1});
            long c = upload(memory, new float[] {1, 1, 1, 1, 1, 1});
            new EmulatedBlas(memory).sgemm(false, false, 2, 3, 3, 1f, a, 3, b, 3, 2f, c, 2);
            float[] got = new float[6];
            memory.copyToHost(c, got, 0, 6);
            assertEquals(List.of(3f, 6f, 4f, 7f, 5f, 8f), box(got));
        } finally {
            memory.close();
        }
    }

    @Test
    void refusesWhatCublasRefusesAndReadsNothingPastAnAllocation() {
        EmulatedMemory memory = new EmulatedMemory();
        try {
            EmulatedBlas blas = new EmulatedBlas(memory);
            long a = memory.allocate(4 * 12), b = memory.allocate(4 * 12), c = memory.allocate(4 * 12);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> blas.sgemm(false, false, 4, 3, 3, 1f, a, 3, b, 3, 0f, c, 4)); // lda < m
            assertTrue(e.getMessage().contains("CUBLAS_STATUS_INVALID_VALUE") && e.getMessage().contains("lda=3"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> blas.sgemm(true, false, 4, 3, 5, 1f, a, 4, b, 5, 0f, c, 4)); // lda < k
            assertThrows(IllegalArgumentException.class, () -> blas.sgemm(false, false, 4, 3, 3, 1f, a, 4, b, 3, 0f, c, 3)); // ldc < m
            // A 4 x 3 with lda 5 spans 2 * 5 + 4 = 14 floats of a 12-float allocation
            e = assertThrows(IllegalArgumentException.class, () -> blas.sgemm(false, false, 4, 3, 3, 1f, a, 5, b, 3, 0f, c, 4));
            assertTrue(e.getMessage().contains("A") && e.getMessage().contains("past the end"), e.getMessage());
        } finally {
            memory.close();
        }
    }

    /** The matrix (rows x cols, column-major, packed) in a column-major array with leading dimension ld, SENTINEL between. */
    private static float[] padded(float[] packed, int rows, int cols, int ld) {
        float[] out = new float[(cols - 1) * ld + rows + (ld - rows)];
        Arrays.fill(out, SENTINEL);
        for (int j = 0; j < cols; j++)
            for (int i = 0; i < rows; i++) out[i + j * ld] = packed[i + j * rows];
        return out;
    }

    private static float[] nans(int n) {
        float[] out = new float[n];
        Arrays.fill(out, Float.NaN);
        return out;
    }

    static long upload(EmulatedMemory memory, float[] data) {
        long d = memory.allocate(4L * data.length);
        memory.copyToDevice(data, 0, d, data.length);
        return d;
    }

    private static List<Float> box(float[] a) {
        List<Float> out = new ArrayList<>();
        for (float v : a) out.add(v);
        return out;
    }
}
