package dev.jgan.cuda;

/**
 * Launches jgan's kernels (kernels/*.cu) by name: the port through which the CUDA backend runs
 * its own kernels. Two adapters: {@link CudaLauncher} (a GPU, through the driver API's
 * cuLaunchKernel) and {@link EmulatedLauncher} (the host emulation library, for machines without
 * a GPU). Launch settings and argument packing are not chosen here but in {@link Kernels}, which
 * both adapters serve unchanged.
 */
public interface KernelLauncher extends AutoCloseable {

    /** One line: which adapter, which device or library. */
    String describe();

    /** Streaming multiprocessors of the device (cores of the host, emulated): grid caps scale with it. */
    int multiprocessors();

    /**
     * Runs {@code kernel} on {@code grid} blocks of {@code block} threads with {@code sharedBytes}
     * of dynamic shared memory and the packed arguments. May return before the kernel finishes
     * (the CUDA adapter queues it); failures name the kernel.
     */
    void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args);

    /** Waits until every launched kernel has finished. */
    void synchronize();

    /**
     * A launcher of the kernel lab's image (kernels/lab/) on the same device and stream, so its
     * kernels run on this launcher's memory in order with its launches; one line where this adapter
     * or this build has none.
     */
    default KernelLauncher lab() {
        throw new IllegalStateException(describe() + ": this launcher has no kernel-lab image");
    }

    @Override
    default void close() {}
}
