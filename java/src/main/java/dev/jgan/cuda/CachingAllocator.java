package dev.jgan.cuda;

import dev.jgan.backend.DeviceException;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Device memory cached by size class, so that freeing a tensor makes no CUDA call. cuMemFree
 * synchronises: it waits for the whole device before it returns, so a tensor collected mid-step
 * (the GC's cleaner hands its memory back) would stall the step's queue. Here a freed block goes
 * onto the free list of its size class, and {@link #allocate} reuses a block of the class before
 * it asks the device for a new one (cuMemAlloc, itself not stream-ordered but waiting for nothing).
 *
 * <p>Why reusing a freed block needs no wait: all of jgan's device work (kernels, copies, memsets,
 * cuBLAS and cuDNN) is queued on the backend's one stream, and a stream runs its work in issue
 * order (the CUDA programming guide's stream semantics). A block is freed when nothing on the host
 * will queue work on it any more; work already queued on it precedes, on the stream, anything the
 * block's next owner queues. So the next owner's first write runs after the old owner's last read.
 * The host itself never touches device memory except through copies queued on the same stream.
 * This holds only for one stream: a second stream would need an event per freed block.
 *
 * <p>Out of memory: when the device cannot allocate a new block (CUDA_ERROR_OUT_OF_MEMORY), the
 * stream is synchronised, every cached block released (cuMemFree) and the allocation tried once
 * more; only that second failure is an error. {@link #close} synchronises and releases everything,
 * cached and live.
 *
 * <p>Size classes: 512 bytes and up, four per power of two (512, 640, 768, 896, 1024, 1280, ...),
 * so a block is at most 25% larger than asked for; cuMemAlloc's 256-byte alignment is kept. A
 * training step allocates the same sizes every step, so after the first step every allocation is
 * a hit.
 *
 * <p>Thread-safe: {@link #free} may be called from any thread (it makes no CUDA call); the other
 * methods call the device and must be called where the device's context is current.
 */
public final class CachingAllocator {
    /** The smallest class: cuMemAlloc's granularity is 256 bytes; smaller blocks gain nothing. */
    public static final long MIN_CLASS = 512;
    /** CUresult CUDA_ERROR_OUT_OF_MEMORY (cuda.h). */
    public static final int CUDA_ERROR_OUT_OF_MEMORY = 2;

    /** What the allocator needs of the device. */
    public interface Device {
        /**
         * cuMemAlloc of {@code bytes}: the address, or 0 when the device is out of memory
         * (CUDA_ERROR_OUT_OF_MEMORY); any other failure throws.
         */
        long allocate(long bytes);

        /** cuMemFree of an address {@link #allocate} returned. */
        void free(long address);

        /** Waits until the stream is idle (cuStreamSynchronize). */
        void synchronize();
    }

    private final Device device;
    private final Map<Long, ArrayDeque<Long>> cached = new HashMap<>();   // class bytes -> free blocks
    private final Map<Long, Long> live = new HashMap<>();                 // address -> class bytes
    private long cachedBytes, liveBytes, deviceAllocations;

    public CachingAllocator(Device device) {
        this.device = device;
    }

    /** The size class of a request of {@code bytes} (> 0): the block size that serves it. */
    public static long sizeClass(long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("allocation of " + bytes + " bytes: need a positive size");
        if (bytes <= MIN_CLASS) return MIN_CLASS;
        int top = 63 - Long.numberOfLeadingZeros(bytes - 1);   // 2^top < bytes <= 2^(top + 1)
        long quarter = 1L << (top - 2);                         // classes 4/4, 5/4, 6/4, 7/4 of 2^top, then 2^(top + 1)
        return Math.ceilDiv(bytes, quarter) * quarter;
    }

    /** A block of at least {@code bytes}: a cached one of its class, or a new one from the device. */
    public long allocate(long bytes) {
        long size = sizeClass(bytes);
        synchronized (this) {
            ArrayDeque<Long> free = cached.get(size);
            if (free != null && !free.isEmpty()) {
                long a = free.pop();
                cachedBytes -= size;
                live.put(a, size);
                liveBytes += size;
                return a;
            }
        }
        long a = device.allocate(size);
        if (a == 0) {
            // out of memory: the cache may hold what is missing; release it (stream idle first, so
            // no queued work still uses a block) and try once more
            device.synchronize();
            releaseCached();
            a = device.allocate(size);
            if (a == 0)
                throw new DeviceException("cuMemAlloc(" + size + " bytes) failed: CUDA_ERROR_OUT_OF_MEMORY ("
                        + (liveBytes() >> 20) + " MiB in use by tensors, the cache already released)");
        }
        synchronized (this) {
            live.put(a, size);
            liveBytes += size;
            deviceAllocations++;
        }
        return a;
    }

    /** Returns a block to its class's free list; no CUDA call, so any thread may free. */
    public synchronized void free(long address) {
        Long size = live.remove(address);
        if (size == null) throw new IllegalArgumentException("free: 0x" + Long.toHexString(address) + " is not a live allocation");
        liveBytes -= size;
        cached.computeIfAbsent(size, k -> new ArrayDeque<>()).push(address);
        cachedBytes += size;
    }

    /** Releases every cached block to the device (cuMemFree). The caller makes sure the stream no longer uses them. */
    public void releaseCached() {
        ArrayDeque<Long> blocks = new ArrayDeque<>();
        synchronized (this) {
            for (ArrayDeque<Long> free : cached.values()) blocks.addAll(free);
            cached.clear();
            cachedBytes = 0;
        }
        for (long a : blocks) device.free(a);
    }

    /** Synchronises the stream and releases every block, cached and live. */
    public void close() {
        device.synchronize();
        releaseCached();
        long[] blocks;
        synchronized (this) {
            blocks = live.keySet().stream().mapToLong(Long::longValue).toArray();
            live.clear();
            liveBytes = 0;
        }
        for (long a : blocks) device.free(a);
    }

    /** Bytes in blocks handed out and not freed. */
    public synchronized long liveBytes() { return liveBytes; }

    /** Bytes in freed blocks kept for reuse. */
    public synchronized long cachedBytes() { return cachedBytes; }

    /** Blocks handed out and not freed. */
    public synchronized int liveBlocks() { return live.size(); }

    /** cuMemAlloc calls that succeeded so far (the rest were served from the cache). */
    public synchronized long deviceAllocations() { return deviceAllocations; }
}
