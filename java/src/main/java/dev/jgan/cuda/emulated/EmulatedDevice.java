package dev.jgan.cuda.emulated;

import dev.jgan.cuda.CudaBackend;

/**
 * Builds the CUDA backend over the emulated adapters: host memory with per-allocation bounds, the
 * kernels' host build (native/), and host BLAS and DNN with cuBLAS's and cuDNN's contracts.
 */
public final class EmulatedDevice {
    private EmulatedDevice() {}

    /** The CUDA backend on the emulated device (deterministic algorithms only). */
    public static CudaBackend open(long workspaceLimit) {
        return open(workspaceLimit, false);
    }

    /** The CUDA backend on the emulated device; see {@link CudaBackend}'s constructor for the parameters. */
    public static CudaBackend open(long workspaceLimit, boolean nondeterministicAllowed) {
        EmulatedMemory memory = new EmulatedMemory();
        return new CudaBackend(memory, EmulatedLauncher.load(), new EmulatedBlas(memory), new EmulatedDnn(memory), workspaceLimit,
                nondeterministicAllowed);
    }
}
