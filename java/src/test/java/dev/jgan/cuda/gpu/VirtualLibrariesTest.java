package dev.jgan.cuda.gpu;

import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The shared fixture of the tests of the virtual GPU's cuBLAS and cuDNN stand-ins
 * (native/vgpu/cublas.cpp, cudnn*.cpp), which run through the real JCublas2 and JCudnn JNI
 * libraries: one context and one non-blocking stream for the JVM (the virtual GPU is one device
 * shared by every test of the "virtual-gpu" execution), device buffers freed after each test, and
 * the fault plan and the sticky error cleared after each test so that a provoked failure ends with
 * its test. Copies go through pinned host memory (cuMemHostAlloc), as CudaMemory's do.
 */
@Tag("virtual-gpu")
abstract class VirtualLibrariesTest {
    static CUstream stream;
    private final List<CUdeviceptr> allocations = new ArrayList<>();

    @BeforeAll
    static void openDevice() {
        for (String lib : new String[] {CudaProbe.DRIVER, CudaProbe.CUBLAS, CudaProbe.CUDNN})
            if (VirtualGpu.directory().isEmpty() || !Files.isRegularFile(VirtualGpu.directory().get().resolve(lib)))
                VirtualDriverTest.unavailable("the virtual GPU's " + lib + " was not built (native/vgpu/; the build needs cmake and g++)");
        VirtualGpu.install();
        if (stream != null) return;
        check("cuInit", JCudaDriver.cuInit(0));
        CUdevice device = new CUdevice();
        check("cuDeviceGet", JCudaDriver.cuDeviceGet(device, 0));
        CUcontext context = new CUcontext();
        check("cuDevicePrimaryCtxRetain", JCudaDriver.cuDevicePrimaryCtxRetain(context, device));
        check("cuCtxSetCurrent", JCudaDriver.cuCtxSetCurrent(context));
        CUstream s = new CUstream();
        check("cuStreamCreate", JCudaDriver.cuStreamCreate(s, CUstream_flags.CU_STREAM_NON_BLOCKING));
        stream = s;
    }

    @AfterEach
    void releaseAndClear() {
        try {
            status(() -> JCudaDriver.cuStreamSynchronize(stream)); // a provoked sticky error is cleared below
            for (CUdeviceptr p : allocations) status(() -> JCudaDriver.cuMemFree(p));
        } finally {
            allocations.clear();
            VirtualGpu.setSchedule(VirtualGpu.Schedule.initial());
            VirtualGpu.setFaults("");
            VirtualGpu.clearError();
        }
    }

    /** A driver call's CUresult, whether JCuda's exceptions are on (another test's launcher turns them on) or off. */
    static int status(IntSupplier call) {
        try {
            return call.getAsInt();
        } catch (CudaException e) {
            for (int rc = 0; rc < 1000; rc++)
                if (CUresult.stringFor(rc).equals(e.getMessage())) return rc;
            throw e;
        }
    }

    static void check(String call, int rc) {
        assertEquals(CUresult.CUDA_SUCCESS, rc, () -> call + ": " + CUresult.stringFor(rc) + " (" + VirtualGpu.lastError() + ")");
    }

    /** A device buffer of `floats` floats, freed after the test. */
    CUdeviceptr alloc(long floats) {
        CUdeviceptr p = new CUdeviceptr();
        check("cuMemAlloc", JCudaDriver.cuMemAlloc(p, 4 * Math.max(1, floats)));
        allocations.add(p);
        return p;
    }

    /** A device copy of `values`. */
    CUdeviceptr upload(float[] values) {
        CUdeviceptr p = alloc(values.length);
        Pointer host = new Pointer();
        long bytes = 4L * values.length;
        check("cuMemHostAlloc", JCudaDriver.cuMemHostAlloc(host, bytes, 0));
        host.getByteBuffer(0, bytes).order(ByteOrder.nativeOrder()).asFloatBuffer().put(values);
        check("cuMemcpyHtoDAsync", JCudaDriver.cuMemcpyHtoDAsync(p, host, bytes, stream));
        check("cuStreamSynchronize", JCudaDriver.cuStreamSynchronize(stream));
        check("cuMemFreeHost", JCudaDriver.cuMemFreeHost(host));
        return p;
    }

    /** The `floats` floats at `p`, after everything queued on the stream. */
    static float[] download(CUdeviceptr p, int floats) {
        Pointer host = new Pointer();
        long bytes = 4L * floats;
        check("cuMemHostAlloc", JCudaDriver.cuMemHostAlloc(host, bytes, 0));
        check("cuMemcpyDtoHAsync", JCudaDriver.cuMemcpyDtoHAsync(host, p, bytes, stream));
        check("cuStreamSynchronize", JCudaDriver.cuStreamSynchronize(stream));
        float[] out = new float[floats];
        FloatBuffer b = host.getByteBuffer(0, bytes).order(ByteOrder.nativeOrder()).asFloatBuffer();
        b.get(out);
        check("cuMemFreeHost", JCudaDriver.cuMemFreeHost(host));
        return out;
    }

    static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextDouble() * 2 - 1);
        return a;
    }
}
