package dev.jgan.cuda.gpu;

import dev.jgan.cuda.CudaBackend;

/**
 * Builds the CUDA backend over the GPU adapters: the driver API (JCuda), cuBLAS (JCublas) and
 * cuDNN (JCudnn), all on one stream of one device.
 */
public final class GpuDevice {
    private GpuDevice() {}

    /** The CUDA backend on GPU {@code ordinal}; what was opened is closed again when a later port fails. */
    public static CudaBackend open(int ordinal, long workspaceLimit) {
        CudaLauncher launcher = CudaLauncher.open(ordinal);
        try {
            return new CudaBackend(new CudaMemory(launcher), launcher, new CublasBlas(launcher),
                    new CudnnDnn(launcher), workspaceLimit);
        } catch (RuntimeException | LinkageError e) {
            launcher.close();
            throw e;
        }
    }
}
