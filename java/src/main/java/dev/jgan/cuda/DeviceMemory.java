package dev.jgan.cuda;

/**
 * The device-memory port of the CUDA backend: allocation, copies between host and device and
 * within the device, 32-bit memset, and timing on the backend's one stream. Two adapters:
 * {@link CudaMemory} (the CUDA driver API through JCuda) and {@link EmulatedMemory} (host memory
 * for the emulated device, whose "device pointers" are host addresses, as the emulated kernels
 * expect).
 *
 * <p>Conventions: pointers are device addresses ({@code long}, 256-byte aligned as cuMemAlloc's);
 * sizes are in bytes unless named {@code floats}. Copies within the device and memsets are queued
 * on the stream, in order with kernel launches, BLAS and DNN calls; copies to the host wait for
 * everything queued before them. A failure names the call and the sizes.
 */
public interface DeviceMemory extends AutoCloseable {

    /** One line: which adapter, which device, how much memory. */
    String describe();

    /** A new allocation of {@code bytes} (> 0), contents undefined. */
    long allocate(long bytes);

    /**
     * Frees an address {@link #allocate} returned. Work already queued on it may still be pending:
     * the adapter orders any reuse of the memory after that work (the GPU adapter caches the block
     * for reuse on the same stream, {@link CachingAllocator}), so this does not wait. Any thread may
     * call it.
     */
    void free(long address);

    /** Copies {@code floats} floats of {@code src} from {@code srcIndex} to device address {@code dst}. */
    void copyToDevice(float[] src, int srcIndex, long dst, long floats);

    /** Waits for queued work, then copies {@code floats} floats at device address {@code src} into {@code dst}. */
    void copyToHost(long src, float[] dst, int dstIndex, long floats);

    /** Queues dst[0, bytes) = src[0, bytes) within the device (the ranges must not overlap). */
    void copy(long src, long dst, long bytes);

    /** Queues {@code count} 32-bit words at {@code dst} = {@code value} (as cuMemsetD32Async). */
    void fill32(long dst, int value, long count);

    /** Waits until everything queued on the stream is done. */
    void synchronize();

    /** A timer over the stream: CUDA events on a GPU, the wall clock where the device is synchronous. */
    DeviceTimer timer();

    /**
     * Times work queued on the stream between {@link #start} and {@link #stopMillis}, as often as
     * wanted; {@link #close} releases it (the GPU adapter's two CUDA events).
     */
    interface DeviceTimer extends AutoCloseable {
        /** Marks the start (records an event after the work queued so far). */
        void start();

        /** Marks the end, waits for it, and returns the milliseconds since {@link #start}. */
        double stopMillis();

        /** Releases the timer; it is unusable afterwards. */
        @Override default void close() {}
    }

    @Override
    default void close() {}
}
