package dev.jgan.cuda.gpu;

import dev.jgan.cuda.DeviceMemory;
import jcuda.Pointer;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;

import static dev.jgan.cuda.gpu.VirtualDriverTest.alloc;
import static dev.jgan.cuda.gpu.VirtualDriverTest.launcher;
import static dev.jgan.cuda.gpu.VirtualDriverTest.memory;
import static dev.jgan.cuda.gpu.VirtualDriverTest.release;
import static dev.jgan.cuda.gpu.VirtualDriverTest.result;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The virtual GPU's streams, events and faults through JCuda: asynchronous copies from pinned
 * memory read it when they run (so a staging buffer reused before its copy ran is caught), events
 * order and time the work, the NULL stream is counted and (strict) refused, injected faults hit
 * the Nth call. Each test puts the schedule, the fault plan and the error back.
 */
@Tag("virtual-gpu")
class VirtualDriverStreamsTest {
    private static final int FLOATS = 64;

    /** Per test, so that without the virtual GPU each test is reported skipped (or, under CI=true, failed). */
    @BeforeEach
    void open() { launcher(); }

    @AfterEach
    void restoreDefaults() { VirtualDriverTest.restore(); }

    private static float[] filled(float v) {
        float[] a = new float[FLOATS];
        java.util.Arrays.fill(a, v);
        return a;
    }

    private static float[] download(long address) {
        float[] out = new float[FLOATS];
        memory().copyToHost(address, out, 0, FLOATS);
        return out;
    }

    /**
     * Two uploads from one pinned buffer, the buffer overwritten between them. Without a wait the
     * first upload (run lazily, when the host waits) reads the second data: the defect is caught;
     * with cuEventSynchronize on an event recorded after the first upload, each gets its own.
     */
    @Test
    void aStagingBufferReusedBeforeItsCopyRanGivesWrongData() {
        launcher();
        CUstream stream = launcher().stream();
        long bytes = 4L * FLOATS;
        long d1 = alloc(bytes), d2 = alloc(bytes);
        Pointer pinned = new Pointer();
        JCudaDriver.cuMemHostAlloc(pinned, bytes, 0);
        CUevent copied = new CUevent();
        JCudaDriver.cuEventCreate(copied, CUevent_flags.CU_EVENT_DISABLE_TIMING);
        try {
            FloatBuffer staging = pinned.getByteBuffer(0, bytes).order(ByteOrder.nativeOrder()).asFloatBuffer();
            VirtualGpu.setSchedule(VirtualGpu.Schedule.LAZY);

            staging.clear();
            staging.put(filled(1f));
            JCudaDriver.cuMemcpyHtoDAsync(CudaMemory.at(d1), pinned, bytes, stream);
            staging.clear();
            staging.put(filled(2f)); // no wait: the first copy has not run yet
            JCudaDriver.cuMemcpyHtoDAsync(CudaMemory.at(d2), pinned, bytes, stream);
            JCudaDriver.cuStreamSynchronize(stream);
            assertArrayEquals(filled(2f), download(d1), "the first copy ran after the buffer was overwritten");
            assertArrayEquals(filled(2f), download(d2));

            staging.clear();
            staging.put(filled(3f));
            JCudaDriver.cuMemcpyHtoDAsync(CudaMemory.at(d1), pinned, bytes, stream);
            JCudaDriver.cuEventRecord(copied, stream);
            JCudaDriver.cuEventSynchronize(copied); // the copy has read the buffer
            staging.clear();
            staging.put(filled(4f));
            JCudaDriver.cuMemcpyHtoDAsync(CudaMemory.at(d2), pinned, bytes, stream);
            JCudaDriver.cuStreamSynchronize(stream);
            assertArrayEquals(filled(3f), download(d1));
            assertArrayEquals(filled(4f), download(d2));
        } finally {
            JCudaDriver.cuEventDestroy(copied);
            JCudaDriver.cuMemFreeHost(pinned);
            release(d1);
            release(d2);
        }
    }

    /** CudaMemory's uploads wait for the staging buffer's event: right under the lazy schedule too. */
    @Test
    void cudaMemoryUploadsAreRightWhenStreamsRunLazily() {
        CudaMemory m = memory();
        long d1 = alloc(4L * FLOATS), d2 = alloc(4L * FLOATS);
        try {
            VirtualGpu.setSchedule(VirtualGpu.Schedule.LAZY);
            m.copyToDevice(filled(5f), 0, d1, FLOATS);
            m.copyToDevice(filled(6f), 0, d2, FLOATS);
            assertArrayEquals(filled(5f), download(d1));
            assertArrayEquals(filled(6f), download(d2));
        } finally {
            release(d1);
            release(d2);
        }
    }

    /**
     * The memory adapter's free is stream-ordered: a block freed (as the GC's cleaner frees a
     * collected tensor's) while a kernel that reads it is still queued stays valid until the kernel
     * ran, and a block allocated after the free may take its place only behind that kernel. Lazy,
     * so the kernel runs only at the download: a free that released the memory at once (not in
     * stream order) would leave the kernel reading freed memory, and the launch fails.
     */
    @Test
    void aBlockFreedWhileAKernelReadingItIsQueuedStaysValidUntilTheKernelRan() {
        CudaMemory m = memory();
        VirtualGpu.setSchedule(VirtualGpu.Schedule.LAZY);
        long x = m.allocate(4L * FLOATS), y = m.allocate(4L * FLOATS);
        try {
            m.copyToDevice(filled(-2f), 0, x, FLOATS);
            VirtualDriverTest.kernels().reluForward(x, y, FLOATS);
            m.free(x);
            long z = m.allocate(4L * FLOATS); // may reuse x's block: ordered behind the kernel on the one stream
            m.copyToDevice(filled(3f), 0, z, FLOATS);
            float[] out = new float[FLOATS];
            m.copyToHost(y, out, 0, FLOATS);
            assertArrayEquals(filled(0f), out, "relu of -2 read before the block was reused or freed; " + VirtualGpu.lastError());
            m.free(z);
        } finally {
            m.free(y);
        }
    }

    @Test
    void eventsTimeTheWorkBetweenThem() {
        DeviceMemory.DeviceTimer timer = memory().timer();
        long x = alloc(4L * 4096);
        try {
            timer.start();
            VirtualDriverTest.kernels().fillUniform(x, 4096, 0f, 1f, 1, 0);
            double ms = timer.stopMillis();
            assertTrue(ms >= 0 && ms < 60_000, ms + " ms");

            CUstream stream = launcher().stream();
            CUevent a = new CUevent(), b = new CUevent(), untimed = new CUevent(), never = new CUevent();
            JCudaDriver.cuEventCreate(a, CUevent_flags.CU_EVENT_DEFAULT);
            JCudaDriver.cuEventCreate(b, CUevent_flags.CU_EVENT_BLOCKING_SYNC);
            JCudaDriver.cuEventCreate(untimed, CUevent_flags.CU_EVENT_DISABLE_TIMING);
            JCudaDriver.cuEventCreate(never, CUevent_flags.CU_EVENT_DEFAULT);
            float[] elapsed = new float[1];
            try {
                VirtualGpu.setSchedule(VirtualGpu.Schedule.LAZY);
                JCudaDriver.cuEventRecord(a, stream);
                VirtualDriverTest.kernels().fillUniform(x, 4096, 0f, 1f, 2, 0);
                JCudaDriver.cuEventRecord(b, stream);
                JCudaDriver.cuEventRecord(untimed, stream);
                assertEquals("CUDA_ERROR_NOT_READY", result(() -> JCudaDriver.cuEventElapsedTime(elapsed, a, b)), "not run yet");
                assertEquals("CUDA_SUCCESS", result(() -> JCudaDriver.cuEventSynchronize(b)));
                assertEquals("CUDA_SUCCESS", result(() -> JCudaDriver.cuEventElapsedTime(elapsed, a, b)));
                assertTrue(elapsed[0] >= 0, elapsed[0] + " ms");
                assertEquals("CUDA_ERROR_INVALID_HANDLE", result(() -> JCudaDriver.cuEventElapsedTime(elapsed, a, untimed)), "timing disabled");
                assertEquals("CUDA_ERROR_INVALID_HANDLE", result(() -> JCudaDriver.cuEventElapsedTime(elapsed, never, b)), "never recorded");
                assertEquals("CUDA_SUCCESS", result(() -> JCudaDriver.cuEventSynchronize(never)), "never recorded: at once");
            } finally {
                for (CUevent e : new CUevent[] {a, b, untimed, never}) JCudaDriver.cuEventDestroy(e);
            }
            assertEquals("CUDA_ERROR_INVALID_HANDLE", result(() -> JCudaDriver.cuEventElapsedTime(elapsed, a, b)), "destroyed");
        } finally {
            release(x);
        }
    }

    /** Work on the legacy NULL stream is counted, and refused under JGAN_VGPU_STRICT=1 (the virtual-gpu JVM's setting). */
    @Test
    void theNullStreamIsCountedAndUnderStrictRefused() {
        long x = alloc(256);
        try {
            long before = VirtualGpu.counter(VirtualGpu.Counter.NULL_STREAM_USES);
            String rc = result(() -> JCudaDriver.cuMemsetD32Async(CudaMemory.at(x), 0, 64, new CUstream()));
            assertEquals(before + 1, VirtualGpu.counter(VirtualGpu.Counter.NULL_STREAM_USES));
            assumeTrue("1".equals(System.getenv("JGAN_VGPU_STRICT")), "not strict (JGAN_VGPU_STRICT=1 is the virtual-gpu execution's)");
            assertEquals("CUDA_ERROR_INVALID_HANDLE", rc);
            assertTrue(VirtualGpu.lastError().contains("the NULL stream"), VirtualGpu.lastError());
            assertEquals("CUDA_ERROR_INVALID_HANDLE", result(() -> JCudaDriver.cuStreamSynchronize(new CUstream())));
            assertEquals(before + 2, VirtualGpu.counter(VirtualGpu.Counter.NULL_STREAM_USES));
        } finally {
            release(x);
        }
    }

    /**
     * Not strict: a blocking stream (flags 0) waits for the NULL stream's earlier work, and the NULL
     * stream for a blocking stream's; a non-blocking stream waits for neither. Run lazily, so only
     * these orders make the work run at all before the host reads.
     */
    @Test
    void theLegacyNullStreamOrdersBlockingStreamsOnly() {
        boolean wasStrict = VirtualGpu.setStrict(false);
        CUstream blocking = new CUstream(), nonBlocking = new CUstream(), nullStream = new CUstream();
        JCudaDriver.cuStreamCreate(blocking, 0);
        JCudaDriver.cuStreamCreate(nonBlocking, jcuda.driver.CUstream_flags.CU_STREAM_NON_BLOCKING);
        long x = alloc(256), y = alloc(256);
        try {
            VirtualGpu.setSchedule(VirtualGpu.Schedule.LAZY);
            float[] got = new float[64];
            // NULL stream, then a blocking stream's copy: the memset has run when the copy returns
            JCudaDriver.cuMemsetD32Async(CudaMemory.at(x), Float.floatToRawIntBits(1f), 64, nullStream);
            JCudaDriver.cuMemcpyDtoHAsync(Pointer.to(got), CudaMemory.at(x), 256, blocking);
            assertEquals(1f, got[63]);
            // a blocking stream's memset, then the NULL stream's copy: it waits for the memset
            JCudaDriver.cuMemsetD32Async(CudaMemory.at(x), Float.floatToRawIntBits(2f), 64, blocking);
            JCudaDriver.cuMemcpyDtoHAsync(Pointer.to(got), CudaMemory.at(x), 256, nullStream);
            assertEquals(2f, got[63]);
            // the NULL stream, then a non-blocking stream: unordered, so (lazily) the memset has not run
            JCudaDriver.cuMemsetD32Async(CudaMemory.at(y), Float.floatToRawIntBits(3f), 64, nullStream);
            JCudaDriver.cuMemcpyDtoHAsync(Pointer.to(got), CudaMemory.at(y), 256, nonBlocking);
            assertTrue(Float.isNaN(got[63]), "a non-blocking stream does not wait for the NULL stream: " + got[63]);
            JCudaDriver.cuStreamSynchronize(nullStream);
        } finally {
            VirtualGpu.setStrict(wasStrict);
            JCudaDriver.cuStreamDestroy(blocking);
            JCudaDriver.cuStreamDestroy(nonBlocking);
            release(x);
            release(y);
        }
    }

    @Test
    void anInjectedAllocationFaultHitsTheNthCall() {
        launcher();
        VirtualGpu.setFaults("alloc:2");
        long a = alloc(256);
        assertEquals("CUDA_ERROR_OUT_OF_MEMORY", result(() -> JCudaDriver.cuMemAlloc(new jcuda.driver.CUdeviceptr(), 512)));
        assertEquals("injected fault: cuMemAlloc(512 bytes)", VirtualGpu.lastError());
        long c = alloc(256);
        release(a);
        release(c);
        assertThrows(IllegalArgumentException.class, () -> VirtualGpu.setFaults("alloc"));
        assertThrows(IllegalArgumentException.class, () -> VirtualGpu.setFaults("disk:1"));
    }

    @Test
    void anInjectedLaunchFaultHitsTheNthLaunch() {
        long x = alloc(4L * FLOATS);
        try {
            VirtualGpu.setFaults("launch:2");
            VirtualDriverTest.kernels().reluForward(x, x, FLOATS);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> VirtualDriverTest.kernels().reluForward(x, x, FLOATS));
            assertTrue(e.getMessage().contains("relu_forward") && e.getMessage().contains("CUDA_ERROR_LAUNCH_FAILED"), e.getMessage());
            assertEquals("injected fault: cuLaunchKernel(relu_forward)", VirtualGpu.lastError());
            assertEquals("CUDA_ERROR_LAUNCH_FAILED", result(() -> JCudaDriver.cuStreamSynchronize(launcher().stream())), "sticky");
        } finally {
            VirtualGpu.clearError();
            release(x);
        }
    }

    /**
     * Several threads, each with the context made current, its own non-blocking stream and its own
     * memory, at once (eager schedule: each stream's worker runs its queue): every result right.
     */
    @Test
    void threadsWithTheirOwnStreamsRunAtOnceAndRight() throws InterruptedException {
        launcher();
        int[] driver = new int[1];
        JCudaDriver.cuDriverGetVersion(driver);
        byte[] image = dev.jgan.cuda.KernelImages.forDriver(driver[0]).bytes(); // what this JVM's driver loads
        jcuda.driver.CUmodule module = new jcuda.driver.CUmodule();
        JCudaDriver.cuModuleLoadData(module, image);
        jcuda.driver.CUfunction relu = new jcuda.driver.CUfunction();
        JCudaDriver.cuModuleGetFunction(relu, module, "relu_forward");
        int threads = 4, rounds = 15, n = 3000;
        java.util.List<Throwable> failures = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int id = t;
            workers[t] = new Thread(() -> {
                jcuda.driver.CUcontext ctx = new jcuda.driver.CUcontext();
                JCudaDriver.cuDevicePrimaryCtxRetain(ctx, launcher().device());
                JCudaDriver.cuCtxSetCurrent(ctx);
                CUstream stream = new CUstream();
                JCudaDriver.cuStreamCreate(stream, jcuda.driver.CUstream_flags.CU_STREAM_NON_BLOCKING);
                try {
                    for (int r = 0; r < rounds; r++) {
                        float[] in = new float[n], out = new float[n];
                        for (int i = 0; i < n; i++) in[i] = (i % 7 - 3) * (id + 1) + r;
                        jcuda.driver.CUdeviceptr x = new jcuda.driver.CUdeviceptr(), y = new jcuda.driver.CUdeviceptr();
                        JCudaDriver.cuMemAlloc(x, 4L * n);
                        JCudaDriver.cuMemAlloc(y, 4L * n);
                        JCudaDriver.cuMemcpyHtoDAsync(x, Pointer.to(in), 4L * n, stream);
                        Pointer params = Pointer.to(Pointer.to(x), Pointer.to(y), Pointer.to(new long[] {n}));
                        JCudaDriver.cuLaunchKernel(relu, (n + 255) / 256, 1, 1, 256, 1, 1, 0, stream, params, null);
                        JCudaDriver.cuMemcpyDtoHAsync(Pointer.to(out), y, 4L * n, stream);
                        for (int i = 0; i < n; i++)
                            if (out[i] != Math.max(in[i], 0f)) throw new AssertionError("thread " + id + " round " + r + " [" + i + "]: " + out[i]);
                        JCudaDriver.cuMemFree(x);
                        JCudaDriver.cuMemFree(y);
                    }
                } catch (Throwable e) {
                    failures.add(e);
                } finally {
                    JCudaDriver.cuStreamDestroy(stream);
                    JCudaDriver.cuDevicePrimaryCtxRelease(launcher().device());
                }
            });
            workers[t].start();
        }
        for (Thread w : workers) w.join();
        JCudaDriver.cuModuleUnload(module);
        assertEquals(java.util.List.of(), failures);
    }

    /** cuMemFreeAsync frees in stream order: a second free is refused, and the memory is freed once the stream gets there. */
    @Test
    void aStreamOrderedFreeTakesEffectWhenTheStreamGetsThere() {
        CUstream stream = launcher().stream();
        long x = alloc(1024);
        VirtualGpu.setSchedule(VirtualGpu.Schedule.LAZY);
        long frees = VirtualGpu.counter(VirtualGpu.Counter.FREES);
        assertEquals("CUDA_SUCCESS", result(() -> JCudaDriver.cuMemFreeAsync(CudaMemory.at(x), stream)));
        assertEquals(frees, VirtualGpu.counter(VirtualGpu.Counter.FREES), "not yet: the stream has not run");
        assertEquals("CUDA_ERROR_INVALID_VALUE", result(() -> JCudaDriver.cuMemFreeAsync(CudaMemory.at(x), stream)), "freed twice");
        assertEquals("CUDA_ERROR_INVALID_VALUE", result(() -> JCudaDriver.cuMemFree(CudaMemory.at(x))), "freed twice");
        JCudaDriver.cuStreamSynchronize(stream);
        assertEquals(frees + 1, VirtualGpu.counter(VirtualGpu.Counter.FREES));
        float[] host = new float[4];
        assertEquals("CUDA_ERROR_INVALID_VALUE", result(() -> JCudaDriver.cuMemcpyDtoHAsync(Pointer.to(host), CudaMemory.at(x), 16, stream)));
        assertTrue(VirtualGpu.lastError().contains("freed memory"), VirtualGpu.lastError());
        assertEquals("CUDA_ERROR_INVALID_VALUE", result(() -> JCudaDriver.cuMemFreeHost(Pointer.to(host))), "not pinned memory");
    }
}
