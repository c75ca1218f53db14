package dev.jgan.cuda.gpu;

import dev.jgan.backend.DeviceException;
import dev.jgan.cuda.CachingAllocator;
import dev.jgan.cuda.DeviceMemory;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUresult;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Device memory on a GPU through the CUDA driver API (JCuda), on the launcher's stream and in its
 * context (made current on the calling thread first, {@link CudaContext}). Device blocks come from
 * a {@link CachingAllocator}: a freed block is kept for reuse (stream-ordered, as all work is on the
 * one stream), so freeing never calls cuMemFree and never waits for the device mid-step. Host copies go through one pinned staging
 * buffer, so that they are true asynchronous DMA transfers on the stream. Only a GPU runs this.
 */
final class CudaMemory implements DeviceMemory {
    private final CUstream stream;
    private final CudaContext context;
    private final String device;
    private Pointer staging;         // pinned host memory (cuMemHostAlloc), reused by every host copy
    private ByteBuffer stagingBuffer;
    private long stagingBytes;
    private final CUevent stagingFree = new CUevent(); // recorded after each copy that reads the staging buffer
    private final CachingAllocator blocks;

    CudaMemory(CudaLauncher launcher) {
        this.stream = launcher.stream();
        this.context = launcher.context();
        context.makeCurrent();
        long[] free = new long[1], total = new long[1];
        Checked.driver("cuMemGetInfo", () -> JCudaDriver.cuMemGetInfo(free, total));
        this.device = launcher.deviceName() + ", " + (total[0] >> 20) + " MiB (" + (free[0] >> 20) + " MiB free)";
        Checked.driver("cuEventCreate", () -> JCudaDriver.cuEventCreate(stagingFree, CUevent_flags.CU_EVENT_DISABLE_TIMING));
        Checked.driver("cuEventRecord", () -> JCudaDriver.cuEventRecord(stagingFree, stream));
        blocks = new CachingAllocator(new CachingAllocator.Device() {
            @Override public long allocate(long bytes) {
                Address p = new Address();
                // cuMemAlloc: at least 256-byte aligned, contents undefined; not stream-ordered, and
                // it waits for nothing (unlike cuMemFree)
                int rc;
                try {
                    rc = JCudaDriver.cuMemAlloc(p, bytes);
                } catch (CudaException e) {   // JCuda's exceptions are on (the launcher enables them)
                    if (!e.getMessage().contains("CUDA_ERROR_OUT_OF_MEMORY"))
                        throw new DeviceException("cuMemAlloc(" + bytes + " bytes) failed: " + e.getMessage(), e);
                    rc = CUresult.CUDA_ERROR_OUT_OF_MEMORY;
                }
                if (rc == CUresult.CUDA_ERROR_OUT_OF_MEMORY) return 0;
                int status = rc;
                Checked.driver("cuMemAlloc(" + bytes + " bytes)", () -> status);
                return p.value();
            }

            @Override public void free(long address) {
                // cuMemFree waits for the device; called only when the stream is idle (OOM, close)
                Checked.driver("cuMemFree(0x" + Long.toHexString(address) + ")", () -> JCudaDriver.cuMemFree(at(address)));
            }

            @Override public void synchronize() { CudaMemory.this.synchronize(); }
        });
    }

    @Override public String describe() { return "cuda memory: " + device; }

    @Override public long allocate(long bytes) {
        context.makeCurrent();
        return blocks.allocate(bytes);
    }

    /**
     * Back to the allocator's cache: no CUDA call, so it neither waits for the device (cuMemFree
     * would) nor needs the context, and the GC's cleaner thread may call it mid-step.
     */
    @Override public void free(long address) {
        blocks.free(address);
    }

    @Override public void copyToDevice(float[] src, int srcIndex, long dst, long floats) {
        context.makeCurrent();
        long bytes = floats * Float.BYTES;
        staging(bytes);
        // the staging buffer may still feed the previous asynchronous copy: wait for that copy only
        // (not for the stream), so a step's batch upload does not drain the queue
        Checked.driver("cuEventSynchronize(staging free)", () -> JCudaDriver.cuEventSynchronize(stagingFree));
        stagingBuffer.clear();
        stagingBuffer.asFloatBuffer().put(src, srcIndex, Math.toIntExact(floats));
        // cuMemcpyHtoDAsync from pinned memory: queued on the stream, in order with the kernels
        Checked.driver("cuMemcpyHtoDAsync(" + bytes + " bytes)", () -> JCudaDriver.cuMemcpyHtoDAsync(at(dst), staging, bytes, stream));
        Checked.driver("cuEventRecord(staging free)", () -> JCudaDriver.cuEventRecord(stagingFree, stream));
    }

    @Override public void copyToHost(long src, float[] dst, int dstIndex, long floats) {
        context.makeCurrent();
        long bytes = floats * Float.BYTES;
        staging(bytes);
        // queued after everything before it, including a pending upload from the staging buffer
        Checked.driver("cuMemcpyDtoHAsync(" + bytes + " bytes)", () -> JCudaDriver.cuMemcpyDtoHAsync(staging, at(src), bytes, stream));
        synchronize(); // the copy is done when the stream is
        stagingBuffer.clear();
        stagingBuffer.asFloatBuffer().get(dst, dstIndex, Math.toIntExact(floats));
    }

    @Override public void copy(long src, long dst, long bytes) {
        context.makeCurrent();
        Checked.driver("cuMemcpyDtoDAsync(" + bytes + " bytes)", () -> JCudaDriver.cuMemcpyDtoDAsync(at(dst), at(src), bytes, stream));
    }

    @Override public void fill32(long dst, int value, long count) {
        context.makeCurrent();
        Checked.driver("cuMemsetD32Async(" + count + " words)", () -> JCudaDriver.cuMemsetD32Async(at(dst), value, count, stream));
    }

    @Override public void synchronize() {
        context.makeCurrent();
        Checked.driver("cuStreamSynchronize", () -> JCudaDriver.cuStreamSynchronize(stream));
    }

    @Override public DeviceTimer timer() {
        context.makeCurrent();
        CUevent start = new CUevent(), stop = new CUevent();
        Checked.driver("cuEventCreate", () -> JCudaDriver.cuEventCreate(start, CUevent_flags.CU_EVENT_DEFAULT));
        Checked.driver("cuEventCreate", () -> JCudaDriver.cuEventCreate(stop, CUevent_flags.CU_EVENT_DEFAULT));
        return new DeviceTimer() {
            private boolean closed;

            @Override public void start() {
                context.makeCurrent();
                // an event completes when the work queued on the stream before it has
                Checked.driver("cuEventRecord(start)", () -> JCudaDriver.cuEventRecord(start, stream));
            }

            @Override public double stopMillis() {
                context.makeCurrent();
                Checked.driver("cuEventRecord(stop)", () -> JCudaDriver.cuEventRecord(stop, stream));
                Checked.driver("cuEventSynchronize(stop)", () -> JCudaDriver.cuEventSynchronize(stop));
                float[] ms = new float[1];
                Checked.driver("cuEventElapsedTime", () -> JCudaDriver.cuEventElapsedTime(ms, start, stop));
                return ms[0];
            }

            /** cuEventDestroy: an event still pending is destroyed once it completes, so no wait is needed. */
            @Override public void close() {
                if (closed) return;
                closed = true;
                context.makeCurrent();
                Checked.driver("cuEventDestroy(start)", () -> JCudaDriver.cuEventDestroy(start));
                Checked.driver("cuEventDestroy(stop)", () -> JCudaDriver.cuEventDestroy(stop));
            }
        };
    }

    /**
     * Synchronises, then releases every device block (cached and live), the staging buffer and its
     * event. The memory is unusable afterwards.
     */
    @Override public void close() {
        context.makeCurrent();
        blocks.close();
        releaseStaging();
        // cuEventDestroy: resources are released once the event completes (the stream is idle here)
        Checked.driver("cuEventDestroy(staging free)", () -> JCudaDriver.cuEventDestroy(stagingFree));
    }

    /** Frees the pinned staging buffer after the stream is done with it. */
    private void releaseStaging() {
        if (staging == null) return;
        synchronize();
        Checked.driver("cuMemFreeHost", () -> JCudaDriver.cuMemFreeHost(staging));
        staging = null;
        stagingBuffer = null;
        stagingBytes = 0;
    }

    /** Grows the pinned staging buffer to at least {@code bytes}. */
    private void staging(long bytes) {
        if (bytes <= stagingBytes) return;
        releaseStaging();
        Pointer p = new Pointer();
        // cuMemHostAlloc: page-locked host memory the GPU reads by DMA (flags 0: portable to this context)
        Checked.driver("cuMemHostAlloc(" + bytes + " bytes)", () -> JCudaDriver.cuMemHostAlloc(p, bytes, 0));
        staging = p;
        stagingBytes = bytes;
        stagingBuffer = p.getByteBuffer(0, bytes).order(ByteOrder.nativeOrder());
    }

    /** A device address as the CUdeviceptr JCuda passes (JCuda adds the byte offset to the null pointer). */
    static CUdeviceptr at(long address) {
        return new CUdeviceptr().withByteOffset(address);
    }

    /** A CUdeviceptr that cuMemAlloc fills, and its numeric address. */
    private static final class Address extends CUdeviceptr {
        long value() { return getNativePointer() + getByteOffset(); }
    }
}
