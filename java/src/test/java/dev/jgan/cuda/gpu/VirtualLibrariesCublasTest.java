package dev.jgan.cuda.gpu;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasStatus;
import jcuda.runtime.cudaStream_t;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The virtual GPU's cuBLAS (libcublas.so.12, native/vgpu/cublas.cpp) through JCublas2: cublasSgemm's
 * column-major semantics for the four transposes, the statuses of its documented argument checks,
 * beta == 0 not reading C, the version queries, the extents checked when the work runs, and the
 * injected "cublas" fault.
 *
 * <p>The reference here is a float loop in cuBLAS's order (sum over k in order, then
 * alpha * sum + beta * C), not the double THE REFERENCE uses: the stand-in promises one rounding per
 * multiply and add in that order, so it must agree bit for bit.
 */
class VirtualLibrariesCublasTest extends VirtualLibrariesTest {
    private static final int OP_N = 0, OP_T = 1;
    private final cublasHandle handle = new cublasHandle();

    @BeforeEach
    void create() {
        assertEquals(cublasStatus.CUBLAS_STATUS_SUCCESS, JCublas2.cublasCreate(handle));
        assertEquals(cublasStatus.CUBLAS_STATUS_SUCCESS, JCublas2.cublasSetStream(handle, new cudaStream_t(stream)));
    }

    @AfterEach
    void destroy() {
        JCublas2.cublasDestroy(handle);
    }

    /** C = alpha op(A) op(B) + beta C in float, k in order (column-major, leading dimensions as given). */
    static void sgemmInOrder(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, int lda, float[] b, int ldb,
                             float beta, float[] c, int ldc) {
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                float sum = 0f;
                for (int l = 0; l < k; l++) sum += (ta ? a[l + i * lda] : a[i + l * lda]) * (tb ? b[j + l * ldb] : b[l + j * ldb]);
                c[i + j * ldc] = alpha * sum + (beta == 0f ? 0f : beta * c[i + j * ldc]);
            }
    }

    private int sgemm(int ta, int tb, int m, int n, int k, float alpha, Pointer a, int lda, Pointer b, int ldb, float beta,
                      Pointer c, int ldc) {
        return JCublas2.cublasSgemm(handle, ta, tb, m, n, k, Pointer.to(new float[] {alpha}), a, lda, b, ldb,
                Pointer.to(new float[] {beta}), c, ldc);
    }

    @ParameterizedTest(name = "transA {0} transB {1}, m {2} n {3} k {4}")
    @CsvSource({"false,false,13,7,9", "true,false,13,7,9", "false,true,13,7,9", "true,true,13,7,9",
            "false,false,1,1,1", "true,true,5,17,3", "true,false,32,3,64", "false,true,2,40,1"})
    void sgemmMatchesTheColumnMajorDefinitionBitForBit(boolean ta, boolean tb, int m, int n, int k) {
        SplittableRandom r = new SplittableRandom(m * 1000 + n * 10 + k);
        // padded leading dimensions, so a stand-in that ignores ld fails
        int lda = (ta ? k : m) + 3, ldb = (tb ? n : k) + 1, ldc = m + 2;
        float[] a = random(r, lda * (ta ? m : k)), b = random(r, ldb * (tb ? k : n)), c = random(r, ldc * n);
        float[] expected = c.clone();
        sgemmInOrder(ta, tb, m, n, k, 1.5f, a, lda, b, ldb, 0.5f, expected, ldc);
        CUdeviceptr da = upload(a), db = upload(b), dc = upload(c);
        assertEquals(cublasStatus.CUBLAS_STATUS_SUCCESS, sgemm(ta ? OP_T : OP_N, tb ? OP_T : OP_N, m, n, k, 1.5f, da, lda, db, ldb, 0.5f, dc, ldc));
        assertArrayEquals(expected, download(dc, c.length)); // rows m .. ldc-1 untouched too
    }

    @Test
    void underTheLazyScheduleTheGemmRunsWhenTheHostWaitsInStreamOrder() {
        VirtualGpu.setSchedule(VirtualGpu.Schedule.LAZY); // the fixture restores the initial schedule
        SplittableRandom r = new SplittableRandom(5);
        int m = 6, n = 5, k = 4;
        float[] a = random(r, m * k), b = random(r, k * n), c = random(r, m * n);
        float[] once = c.clone(), twice = c.clone();
        sgemmInOrder(false, false, m, n, k, 1f, a, m, b, k, 1f, once, m);
        sgemmInOrder(false, false, m, n, k, 1f, a, m, b, k, 1f, twice, m);
        sgemmInOrder(false, false, m, n, k, 1f, a, m, b, k, 1f, twice, m);
        CUdeviceptr da = upload(a), db = upload(b), dc = upload(c);
        // C += A B twice: the second reads the first's C only if the queue keeps their order
        assertEquals(cublasStatus.CUBLAS_STATUS_SUCCESS, sgemm(OP_N, OP_N, m, n, k, 1f, da, m, db, k, 1f, dc, m));
        assertEquals(cublasStatus.CUBLAS_STATUS_SUCCESS, sgemm(OP_N, OP_N, m, n, k, 1f, da, m, db, k, 1f, dc, m));
        assertArrayEquals(twice, download(dc, m * n));
        assertTrue(!java.util.Arrays.equals(once, twice));
    }

    @Test
    void betaZeroDoesNotReadC() {
        SplittableRandom r = new SplittableRandom(3);
        int m = 4, n = 3, k = 5;
        float[] a = random(r, m * k), b = random(r, k * n), c = new float[m * n];
        java.util.Arrays.fill(c, Float.NaN);
        float[] expected = new float[m * n];
        sgemmInOrder(false, false, m, n, k, 2f, a, m, b, k, 0f, expected, m);
        CUdeviceptr dc = upload(c);
        assertEquals(cublasStatus.CUBLAS_STATUS_SUCCESS, sgemm(OP_N, OP_N, m, n, k, 2f, upload(a), m, upload(b), k, 0f, dc, m));
        assertArrayEquals(expected, download(dc, m * n));
    }

    @Test
    void argumentChecksReturnTheDocumentedStatuses() {
        CUdeviceptr a = alloc(64), b = alloc(64), c = alloc(64);
        int invalid = cublasStatus.CUBLAS_STATUS_INVALID_VALUE;
        assertEquals(invalid, sgemm(OP_N, OP_N, -1, 2, 2, 1f, a, 2, b, 2, 0f, c, 2), "m < 0");
        assertEquals(invalid, sgemm(OP_N, OP_N, 2, -1, 2, 1f, a, 2, b, 2, 0f, c, 2), "n < 0");
        assertEquals(invalid, sgemm(OP_N, OP_N, 2, 2, -1, 1f, a, 2, b, 2, 0f, c, 2), "k < 0");
        assertEquals(invalid, sgemm(7, OP_N, 2, 2, 2, 1f, a, 2, b, 2, 0f, c, 2), "transa 7");
        assertEquals(invalid, sgemm(OP_N, -1, 2, 2, 2, 1f, a, 2, b, 2, 0f, c, 2), "transb -1");
        assertEquals(invalid, sgemm(OP_N, OP_N, 3, 2, 2, 1f, a, 2, b, 2, 0f, c, 3), "lda < m for op N");
        assertEquals(invalid, sgemm(OP_T, OP_N, 2, 2, 3, 1f, a, 2, b, 3, 0f, c, 2), "lda < k for op T");
        assertEquals(invalid, sgemm(OP_N, OP_N, 2, 2, 3, 1f, a, 2, b, 2, 0f, c, 2), "ldb < k for op N");
        assertEquals(invalid, sgemm(OP_N, OP_T, 2, 3, 2, 1f, a, 2, b, 2, 0f, c, 2), "ldb < n for op T");
        assertEquals(invalid, sgemm(OP_N, OP_N, 3, 2, 2, 1f, a, 3, b, 2, 0f, c, 2), "ldc < m");
        assertEquals(invalid, sgemm(OP_N, OP_N, 0, 2, 2, 1f, a, 0, b, 2, 0f, c, 1), "lda < 1 even when m == 0");
        // quick return: m == 0 or n == 0 touches nothing, not even null pointers
        assertEquals(cublasStatus.CUBLAS_STATUS_SUCCESS, sgemm(OP_N, OP_N, 0, 2, 2, 1f, new Pointer(), 1, new Pointer(), 2, 0f, new Pointer(), 1));
        assertEquals(cublasStatus.CUBLAS_STATUS_SUCCESS, sgemm(OP_N, OP_N, 2, 0, 2, 1f, new Pointer(), 2, new Pointer(), 2, 0f, new Pointer(), 2));
        check("cuStreamSynchronize", JCudaDriver.cuStreamSynchronize(stream));
        // a handle that is not live
        cublasHandle dead = new cublasHandle();
        assertEquals(cublasStatus.CUBLAS_STATUS_SUCCESS, JCublas2.cublasCreate(dead));
        assertEquals(cublasStatus.CUBLAS_STATUS_SUCCESS, JCublas2.cublasDestroy(dead));
        assertEquals(cublasStatus.CUBLAS_STATUS_NOT_INITIALIZED, JCublas2.cublasSgemm(dead, OP_N, OP_N, 2, 2, 2,
                Pointer.to(new float[] {1f}), a, 2, b, 2, Pointer.to(new float[] {0f}), c, 2));
        assertEquals(cublasStatus.CUBLAS_STATUS_NOT_INITIALIZED, JCublas2.cublasSetStream(dead, new cudaStream_t(stream)));
    }

    @Test
    void versionIsCublas12InCublasEncoding() {
        int[] v = new int[1];
        assertEquals(cublasStatus.CUBLAS_STATUS_SUCCESS, JCublas2.cublasGetVersion(handle, v));
        int[] major = new int[1], minor = new int[1], patch = new int[1];
        assertEquals(cublasStatus.CUBLAS_STATUS_SUCCESS, JCublas2.cublasGetProperty(0, major));
        assertEquals(cublasStatus.CUBLAS_STATUS_SUCCESS, JCublas2.cublasGetProperty(1, minor));
        assertEquals(cublasStatus.CUBLAS_STATUS_SUCCESS, JCublas2.cublasGetProperty(2, patch));
        assertEquals(12, major[0]);
        assertEquals(major[0] * 10000 + minor[0] * 100 + patch[0], v[0]); // cuBLAS 12: major * 10000 + minor * 100 + patch
        assertEquals(cublasStatus.CUBLAS_STATUS_INVALID_VALUE, JCublas2.cublasGetProperty(3, major));
    }

    @Test
    void anExtentPastItsAllocationIsAStickyIllegalAddress() {
        CUdeviceptr a = alloc(4), b = alloc(4), c = alloc(4);
        // B is 2 x 2 with ldb 3: it spans (2 - 1) * 3 + 2 = 5 floats of a 4-float allocation
        assertEquals(cublasStatus.CUBLAS_STATUS_SUCCESS, sgemm(OP_N, OP_N, 2, 2, 2, 1f, a, 2, b, 3, 0f, c, 2));
        assertEquals(CUresult.CUDA_ERROR_ILLEGAL_ADDRESS, status(() -> JCudaDriver.cuStreamSynchronize(stream)));
        assertTrue(VirtualGpu.lastError().contains("cublasSgemm"), VirtualGpu.lastError());
    }

    @Test
    void theNullStreamIsRefusedWhenStrict() {
        CUdeviceptr a = alloc(4), b = alloc(4), c = alloc(4);
        boolean was = VirtualGpu.setStrict(true);
        try {
            long uses = VirtualGpu.counter(VirtualGpu.Counter.NULL_STREAM_USES);
            assertEquals(cublasStatus.CUBLAS_STATUS_SUCCESS, JCublas2.cublasSetStream(handle, new cudaStream_t()));
            assertEquals(cublasStatus.CUBLAS_STATUS_EXECUTION_FAILED, sgemm(OP_N, OP_N, 2, 2, 2, 1f, a, 2, b, 2, 0f, c, 2));
            assertEquals(uses + 1, VirtualGpu.counter(VirtualGpu.Counter.NULL_STREAM_USES));
            assertTrue(VirtualGpu.lastError().contains("NULL stream"), VirtualGpu.lastError());
        } finally {
            VirtualGpu.setStrict(was);
        }
    }

    @Test
    void anInjectedFaultFailsThatSgemmOnly() {
        CUdeviceptr a = alloc(4), b = alloc(4), c = alloc(4);
        VirtualGpu.setFaults("cublas:2");
        assertEquals(cublasStatus.CUBLAS_STATUS_SUCCESS, sgemm(OP_N, OP_N, 2, 2, 2, 1f, a, 2, b, 2, 0f, c, 2));
        assertEquals(cublasStatus.CUBLAS_STATUS_EXECUTION_FAILED, sgemm(OP_N, OP_N, 2, 2, 2, 1f, a, 2, b, 2, 0f, c, 2));
        assertEquals(cublasStatus.CUBLAS_STATUS_SUCCESS, sgemm(OP_N, OP_N, 2, 2, 2, 1f, a, 2, b, 2, 0f, c, 2));
        check("cuStreamSynchronize", JCudaDriver.cuStreamSynchronize(stream));
    }
}
