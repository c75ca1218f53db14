package dev.jgan.cuda.ffm;

import dev.jgan.cuda.CudaBackend;

import java.util.Objects;

/**
 * Builds the CUDA backend over the FFM adapters: the CUDA driver API, cuBLAS and cuDNN bound
 * with java.lang.foreign, all on one stream of one device. The other whole path beside the JNI
 * one (dev.jgan.cuda.gpu.GpuDevice: JCuda, JCublas, JCudnn), with the same semantics, checks and
 * one-line failures; this one also loads cuBLAS 13 and cuDNN 9, which the JNI bindings cannot.
 */
public final class FfmDevice {
    private FfmDevice() {}

    /**
     * Where each library is: a soname the dynamic linker searches for ("libcublas.so.13") or an
     * absolute path, as SymbolLookup.libraryLookup takes it.
     */
    public record Libraries(String driver, String cublas, String cudnn) {
        public Libraries {
            Objects.requireNonNull(driver, "driver");
            Objects.requireNonNull(cublas, "cublas");
            Objects.requireNonNull(cudnn, "cudnn");
        }
    }

    /**
     * The CUDA backend on GPU {@code ordinal}; with {@code nondeterministicAllowed}, convolutions may
     * use the algorithms cuDNN reports as non-deterministic. When a later port fails to open (a
     * library missing, a symbol missing, a call failing), what was opened before it is closed again
     * in reverse order (cuBLAS's handle, the memory adapter's staging event, the stream, module and
     * primary context), so a failed open leaks nothing on the device; the failure is one line
     * naming the library, symbol or call.
     */
    public static CudaBackend open(int ordinal, long workspaceLimit, boolean nondeterministicAllowed, Libraries libs) {
        FfmLauncher launcher = FfmLauncher.open(ordinal, libs.driver());
        FfmMemory memory = null;
        FfmBlas blas = null;
        try {
            memory = new FfmMemory(launcher);
            blas = new FfmBlas(launcher, libs.cublas());
            return new CudaBackend(memory, launcher, blas, new FfmDnn(launcher, libs.cudnn()), workspaceLimit, nondeterministicAllowed);
        } catch (RuntimeException | LinkageError e) {
            if (blas != null) closeQuietly(blas, e);
            if (memory != null) closeQuietly(memory, e);
            closeQuietly(launcher, e);
            throw e;
        }
    }

    /** Closes {@code c} after {@code failure}; a second failure is added to the first, not thrown instead of it. */
    private static void closeQuietly(AutoCloseable c, Throwable failure) {
        try {
            c.close();
        } catch (Exception | LinkageError e) {
            failure.addSuppressed(e);
        }
    }
}
