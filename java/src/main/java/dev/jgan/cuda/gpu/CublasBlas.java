package dev.jgan.cuda.gpu;

import dev.jgan.cuda.Blas;
import jcuda.Pointer;
import jcuda.driver.CUstream;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasOperation;
import jcuda.jcublas.cublasStatus;
import jcuda.runtime.cudaStream_t;

/**
 * {@link Blas} on a GPU: cuBLAS (libcublas.so.12) through JCublas2. Only a GPU runs this.
 * <ul>
 *   <li>One handle, bound to the backend's stream (cublasSetStream), so GEMMs queue in order with
 *       the kernels and copies.</li>
 *   <li>Pointer mode host (cuBLAS's default): alpha and beta are read from host memory when
 *       cublasSgemm is called, so one pair of host floats, rewritten by each call, serves them all.</li>
 *   <li>Math mode CUBLAS_DEFAULT_MATH (the default): full FP32, no TF32 tensor cores, so results
 *       match the CPU backend's within float rounding.</li>
 * </ul>
 */
final class CublasBlas implements Blas {
    private final cublasHandle handle = new cublasHandle();
    private final CudaContext context;
    private final int version;
    /** sgemm's alpha and beta in host memory (the backend calls one at a time, so one pair suffices). */
    private final float[] alphaHost = new float[1], betaHost = new float[1];
    private final Pointer alphaPointer = Pointer.to(alphaHost), betaPointer = Pointer.to(betaHost);

    CublasBlas(CudaLauncher launcher) {
        this(launcher.context(), launcher.stream());
    }

    private CublasBlas(CudaContext context, CUstream stream) {
        this.context = context;
        context.makeCurrent();
        Checked.cublas("cublasCreate", () -> JCublas2.cublasCreate(handle));
        int[] v = new int[1];
        try {
            // bound before any work, so that nothing runs on the NULL stream
            Checked.cublas("cublasSetStream", () -> JCublas2.cublasSetStream(handle, new cudaStream_t(stream)));
            Checked.cublas("cublasGetVersion", () -> JCublas2.cublasGetVersion(handle, v));
        } catch (RuntimeException e) {
            JCublas2.cublasDestroy(handle);
            throw e;
        }
        version = v[0];
    }

    @Override public String describe() {
        // cublasGetVersion: major * 10000 + minor * 100 + patch (cuBLAS 12)
        return "cuBLAS " + version / 10000 + "." + version / 100 % 100 + "." + version % 100 + " (jni: JCublas2)";
    }

    @Override public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda,
                                long b, int ldb, float beta, long c, int ldc) {
        Blas.checkArguments(transA, transB, m, n, k, lda, ldb, ldc);
        context.makeCurrent();
        // column-major C = alpha op(A) op(B) + beta C; beta == 0 does not read C
        // alpha and beta are read during the call (host pointer mode), so one pair of host floats
        // serves every call; the call's description is built only when it failed
        alphaHost[0] = alpha;
        betaHost[0] = beta;
        int rc = JCublas2.cublasSgemm(handle, op(transA), op(transB), m, n, k, alphaPointer, CudaMemory.at(a), lda, CudaMemory.at(b), ldb,
                betaPointer, CudaMemory.at(c), ldc);
        if (rc != cublasStatus.CUBLAS_STATUS_SUCCESS)
            Checked.cublas("cublasSgemm(" + Blas.describeCall(transA, transB, m, n, k, lda, ldb, ldc) + ")", () -> rc);
    }

    private static int op(boolean trans) {
        return trans ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N;
    }

    @Override public void close() {
        context.makeCurrent();
        Checked.cublas("cublasDestroy", () -> JCublas2.cublasDestroy(handle));
    }
}
