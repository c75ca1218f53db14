package dev.jgan.cuda.gpu;

import dev.jgan.cuda.CudaBackend;

/**
 * Builds the CUDA backend over the GPU adapters: the driver API (JCuda), cuBLAS (JCublas) and
 * cuDNN (JCudnn), all on one stream of one device.
 */
public final class GpuDevice {
    private GpuDevice() {}

    /**
     * The CUDA backend on GPU {@code ordinal}; when a later port fails to open, what was opened
     * before it is closed again (cuBLAS's handle, the memory adapter's staging event, the stream,
     * module and primary context), so a failed open leaks nothing on the device.
     */
    public static CudaBackend open(int ordinal, long workspaceLimit) {
        return open(ordinal, workspaceLimit, false);
    }

    /**
     * As {@link #open(int, long)}; with {@code nondeterministicAllowed}, convolutions may use the
     * algorithms cuDNN reports as non-deterministic (see {@link CudaBackend}).
     */
    public static CudaBackend open(int ordinal, long workspaceLimit, boolean nondeterministicAllowed) {
        CudaLauncher launcher = CudaLauncher.open(ordinal);
        CudaMemory memory = null;
        CublasBlas blas = null;
        try {
            memory = new CudaMemory(launcher);
            blas = new CublasBlas(launcher);
            return new CudaBackend(memory, launcher, blas, new CudnnDnn(launcher), workspaceLimit, nondeterministicAllowed);
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
