package dev.jgan.cuda.ffm;

import dev.jgan.cuda.CachingAllocator;
import dev.jgan.cuda.DeviceMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Device memory through the CUDA driver API bound with FFM, call for call as the JNI CudaMemory:
 * on the launcher's stream and in its context (made current on the calling thread first); device
 * blocks from a {@link CachingAllocator} (freeing makes no CUDA call; stream-ordered reuse, all work
 * being on the one stream); host copies through one pinned staging buffer (cuMemHostAlloc), so they
 * are asynchronous DMA transfers on the stream, with an event recorded after each upload so the
 * next one waits for that copy only, not for the stream.
 */
final class FfmMemory implements DeviceMemory {
    private final Driver driver;
    private final MemorySegment stream;
    private final FfmContext context;
    private final String device;
    private MemorySegment staging;   // pinned host memory (cuMemHostAlloc), reused by every host copy; null until the first
    private long stagingBytes;
    private final MemorySegment stagingFree; // CUevent recorded after each copy that reads the staging buffer
    private final CachingAllocator blocks;

    FfmMemory(FfmLauncher launcher) {
        this.driver = launcher.driver();
        this.stream = launcher.stream();
        this.context = launcher.context();
        context.makeCurrent();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(JAVA_LONG), total = a.allocate(JAVA_LONG);
            driver.check("cuMemGetInfo", driver.cuMemGetInfo(free, total));
            this.device = launcher.deviceName() + ", " + (total.get(JAVA_LONG, 0) >> 20) + " MiB (" + (free.get(JAVA_LONG, 0) >> 20)
                    + " MiB free)";
            MemorySegment event = a.allocate(ADDRESS);
            driver.check("cuEventCreate", driver.cuEventCreate(event, Driver.EVENT_DISABLE_TIMING));
            stagingFree = event.get(ADDRESS, 0);
        }
        driver.check("cuEventRecord", driver.cuEventRecord(stagingFree, stream));
        blocks = new CachingAllocator(new CachingAllocator.Device() {
            @Override public long allocate(long bytes) {
                // cuMemAlloc: at least 256-byte aligned, contents undefined; not stream-ordered, and
                // it waits for nothing (unlike cuMemFree)
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment p = a.allocate(JAVA_LONG);
                    int rc = driver.cuMemAlloc(p, bytes);
                    if (rc == CuResult.OUT_OF_MEMORY) return 0;
                    driver.check("cuMemAlloc(" + bytes + " bytes)", rc);
                    return p.get(JAVA_LONG, 0);
                }
            }

            @Override public void free(long address) {
                // cuMemFree waits for the device; called only when the stream is idle (OOM, close)
                driver.check("cuMemFree(0x" + Long.toHexString(address) + ")", driver.cuMemFree(address));
            }

            @Override public void synchronize() { FfmMemory.this.synchronize(); }
        });
    }

    @Override public String describe() { return "cuda memory (ffm): " + device; }

    @Override public long allocate(long bytes) {
        context.makeCurrent();
        return blocks.allocate(bytes);
    }

    /** Back to the allocator's cache: no CUDA call, so any thread (the GC's cleaner) may call it mid-step. */
    @Override public void free(long address) {
        blocks.free(address);
    }

    @Override public void copyToDevice(float[] src, int srcIndex, long dst, long floats) {
        context.makeCurrent();
        long bytes = floats * Float.BYTES;
        staging(bytes);
        // the staging buffer may still feed the previous asynchronous copy: wait for that copy only
        driver.check("cuEventSynchronize(staging free)", driver.cuEventSynchronize(stagingFree));
        MemorySegment.copy(src, srcIndex, staging, JAVA_FLOAT, 0, Math.toIntExact(floats));
        // cuMemcpyHtoDAsync from pinned memory: queued on the stream, in order with the kernels
        driver.check("cuMemcpyHtoDAsync(" + bytes + " bytes)", driver.cuMemcpyHtoDAsync(dst, staging, bytes, stream));
        driver.check("cuEventRecord(staging free)", driver.cuEventRecord(stagingFree, stream));
    }

    @Override public void copyToHost(long src, float[] dst, int dstIndex, long floats) {
        context.makeCurrent();
        long bytes = floats * Float.BYTES;
        staging(bytes);
        // queued after everything before it, including a pending upload from the staging buffer
        driver.check("cuMemcpyDtoHAsync(" + bytes + " bytes)", driver.cuMemcpyDtoHAsync(staging, src, bytes, stream));
        synchronize(); // the copy is done when the stream is
        MemorySegment.copy(staging, JAVA_FLOAT, 0, dst, dstIndex, Math.toIntExact(floats));
    }

    @Override public void copy(long src, long dst, long bytes) {
        context.makeCurrent();
        driver.check("cuMemcpyDtoDAsync(" + bytes + " bytes)", driver.cuMemcpyDtoDAsync(dst, src, bytes, stream));
    }

    @Override public void fill32(long dst, int value, long count) {
        context.makeCurrent();
        driver.check("cuMemsetD32Async(" + count + " words)", driver.cuMemsetD32Async(dst, value, count, stream));
    }

    @Override public void synchronize() {
        context.makeCurrent();
        driver.check("cuStreamSynchronize", driver.cuStreamSynchronize(stream));
    }

    @Override public DeviceTimer timer() {
        context.makeCurrent();
        MemorySegment start, stop;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment e = a.allocate(ADDRESS);
            driver.check("cuEventCreate", driver.cuEventCreate(e, Driver.EVENT_DEFAULT));
            start = e.get(ADDRESS, 0);
            driver.check("cuEventCreate", driver.cuEventCreate(e, Driver.EVENT_DEFAULT));
            stop = e.get(ADDRESS, 0);
        }
        return new DeviceTimer() {
            private boolean closed;

            @Override public void start() {
                context.makeCurrent();
                // an event completes when the work queued on the stream before it has
                driver.check("cuEventRecord(start)", driver.cuEventRecord(start, stream));
            }

            @Override public double stopMillis() {
                context.makeCurrent();
                driver.check("cuEventRecord(stop)", driver.cuEventRecord(stop, stream));
                driver.check("cuEventSynchronize(stop)", driver.cuEventSynchronize(stop));
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment ms = a.allocate(JAVA_FLOAT);
                    driver.check("cuEventElapsedTime", driver.cuEventElapsedTime(ms, start, stop));
                    return ms.get(JAVA_FLOAT, 0);
                }
            }

            /** cuEventDestroy: an event still pending is destroyed once it completes, so no wait is needed. */
            @Override public void close() {
                if (closed) return;
                closed = true;
                context.makeCurrent();
                driver.check("cuEventDestroy(start)", driver.cuEventDestroy(start));
                driver.check("cuEventDestroy(stop)", driver.cuEventDestroy(stop));
            }
        };
    }

    /** Synchronises, then releases every device block (cached and live), the staging buffer and its event. */
    @Override public void close() {
        context.makeCurrent();
        blocks.close();
        releaseStaging();
        // cuEventDestroy: resources are released once the event completes (the stream is idle here)
        driver.check("cuEventDestroy(staging free)", driver.cuEventDestroy(stagingFree));
    }

    /** The allocator (tests: live and cached bytes). */
    CachingAllocator blocks() { return blocks; }

    /** Frees the pinned staging buffer after the stream is done with it. */
    private void releaseStaging() {
        if (staging == null) return;
        synchronize();
        driver.check("cuMemFreeHost", driver.cuMemFreeHost(staging));
        staging = null;
        stagingBytes = 0;
    }

    /** Grows the pinned staging buffer to at least {@code bytes}. */
    private void staging(long bytes) {
        if (bytes <= stagingBytes) return;
        releaseStaging();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            // cuMemHostAlloc: page-locked host memory the GPU reads by DMA (flags 0)
            driver.check("cuMemHostAlloc(" + bytes + " bytes)", driver.cuMemHostAlloc(p, bytes, 0));
            staging = p.get(ADDRESS, 0).reinterpret(bytes);
        }
        stagingBytes = bytes;
    }
}
