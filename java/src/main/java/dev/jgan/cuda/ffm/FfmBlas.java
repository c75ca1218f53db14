package dev.jgan.cuda.ffm;

import dev.jgan.backend.DeviceException;
import dev.jgan.cuda.Blas;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Map;

import static dev.jgan.cuda.ffm.NativeLibrary.call;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@link Blas} through cuBLAS bound with FFM: libcublas.so.13 or .12, whose C API (cublas_api.h's
 * _v2 entry points) is the same for what jgan calls. As the JNI CublasBlas:
 * <ul>
 *   <li>one handle, bound to the backend's stream (cublasSetStream) before any work;</li>
 *   <li>pointer mode host (the default): alpha and beta are read from host memory when cublasSgemm
 *       is called, so one small off-heap segment of this adapter holds them, rewritten per call
 *       (no allocation per GEMM; the adapter is used by one thread at a time, as the backend is);</li>
 *   <li>math mode CUBLAS_DEFAULT_MATH: full FP32, no TF32.</li>
 * </ul>
 */
final class FfmBlas implements Blas {
    /** cublasOperation_t (cublas_api.h, 12 and 13). */
    private static final int OP_N = 0, OP_T = 1;
    /** libraryPropertyType (library_types.h): MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL. */
    private static final int MAJOR_VERSION = 0, MINOR_VERSION = 1, PATCH_LEVEL = 2;

    /** cublasStatus_t names (cublas_api.h; the same values in cuBLAS 12 and 13). */
    private static final Map<Integer, String> STATUS = Map.of(0, "CUBLAS_STATUS_SUCCESS", 1, "CUBLAS_STATUS_NOT_INITIALIZED",
            3, "CUBLAS_STATUS_ALLOC_FAILED", 7, "CUBLAS_STATUS_INVALID_VALUE", 8, "CUBLAS_STATUS_ARCH_MISMATCH",
            11, "CUBLAS_STATUS_MAPPING_ERROR", 13, "CUBLAS_STATUS_EXECUTION_FAILED", 14, "CUBLAS_STATUS_INTERNAL_ERROR",
            15, "CUBLAS_STATUS_NOT_SUPPORTED", 16, "CUBLAS_STATUS_LICENSE_ERROR");

    private static final MethodHandle
            I_P = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS)),
            I_PP = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS)),
            I_IP = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS)),
            // cublasSgemm_v2(handle, transa, transb, m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc)
            SGEMM = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                    ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));

    private final NativeLibrary library;
    private final MemorySegment cublasCreate, cublasDestroy, cublasSetStream, cublasGetVersion, cublasGetProperty, cublasSgemm;
    private final FfmContext context;
    /** Holds the scalars; made once the library and its symbols are found, closed with the adapter. */
    private final Arena arena;
    /** alpha and beta (host pointer mode), rewritten by each sgemm. */
    private final MemorySegment alphaScalar, betaScalar;
    private final MemorySegment handle;
    private final int version;
    private final String property;

    /** Opens cuBLAS at {@code location} (soname or path) on the launcher's stream. */
    FfmBlas(FfmLauncher launcher, String location) {
        library = NativeLibrary.open(location, "install cuBLAS 12 or 13 (e.g. pip install nvidia-cublas-cu12, or the CUDA toolkit's libcublas)");
        cublasCreate = library.function("cublasCreate_v2");
        cublasDestroy = library.function("cublasDestroy_v2");
        cublasSetStream = library.function("cublasSetStream_v2");
        cublasGetVersion = library.function("cublasGetVersion_v2");
        cublasGetProperty = library.function("cublasGetProperty");
        cublasSgemm = library.function("cublasSgemm_v2");
        this.context = launcher.context();
        context.makeCurrent();
        arena = Arena.ofShared();
        alphaScalar = arena.allocate(JAVA_FLOAT);
        betaScalar = arena.allocate(JAVA_FLOAT);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment h = a.allocate(ADDRESS);
            int created = call(I_P, cublasCreate, h);
            if (created != 0) arena.close();
            check("cublasCreate", created);
            handle = h.get(ADDRESS, 0);
            try {
                // bound before any work, so that nothing runs on the NULL stream
                check("cublasSetStream", call(I_PP, cublasSetStream, handle, launcher.stream()));
                MemorySegment v = a.allocate(JAVA_INT);
                check("cublasGetVersion", call(I_PP, cublasGetVersion, handle, v));
                version = v.get(JAVA_INT, 0);
                int[] parts = new int[3];
                for (int type : new int[] {MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL}) {
                    check("cublasGetProperty", property(type, v));
                    parts[type] = v.get(JAVA_INT, 0);
                }
                property = parts[0] + "." + parts[1] + "." + parts[2];
            } catch (RuntimeException e) {
                call(I_P, cublasDestroy, handle);
                arena.close();
                throw e;
            }
        }
    }

    @Override public String describe() {
        // cublasGetProperty's major.minor.patch; cublasGetVersion is major * 10000 + minor * 100 + patch in 12 and 13
        return "cuBLAS " + property + " (ffm, " + library + ", version " + version + ")";
    }

    @Override public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda,
                                long b, int ldb, float beta, long c, int ldc) {
        Blas.checkArguments(transA, transB, m, n, k, lda, ldb, ldc);
        context.makeCurrent();
        alphaScalar.set(JAVA_FLOAT, 0, alpha);
        betaScalar.set(JAVA_FLOAT, 0, beta);
        int rc;
        try {
            // column-major C = alpha op(A) op(B) + beta C; beta == 0 does not read C
            rc = (int) SGEMM.invokeExact(cublasSgemm, handle, transA ? OP_T : OP_N, transB ? OP_T : OP_N, m, n, k,
                    alphaScalar, a, lda, b, ldb, betaScalar, c, ldc);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
        if (rc != 0) check("cublasSgemm(" + Blas.describeCall(transA, transB, m, n, k, lda, ldb, ldc) + ")", rc);
    }

    @Override public void close() {
        context.makeCurrent();
        try {
            check("cublasDestroy", call(I_P, cublasDestroy, handle));
        } finally {
            arena.close();
        }
    }

    /** "CUBLAS_STATUS_X", or "cublasStatus_t N" for a value cublas_api.h does not define. */
    static String statusName(int rc) {
        String s = STATUS.get(rc);
        return s != null ? s : "cublasStatus_t " + rc;
    }

    private static void check(String call, int rc) {
        if (rc != 0) throw new DeviceException(call + " failed: " + statusName(rc));
    }

    private int property(int type, MemorySegment out) {
        try {
            return (int) I_IP.invokeExact(cublasGetProperty, type, out);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }
}
