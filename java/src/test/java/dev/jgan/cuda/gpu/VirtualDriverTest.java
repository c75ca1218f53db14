package dev.jgan.cuda.gpu;

import dev.jgan.cuda.KernelArgs;
import dev.jgan.cuda.KernelImages;
import dev.jgan.cuda.Kernels;
import dev.jgan.cuda.Dim3;
import dev.jgan.testing.Approx;
import dev.jgan.check.Reference;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * The virtual GPU's driver stand-in (libcuda.so.1 over libjgan_vgpu.so) through the real JCuda
 * classes and the real adapters CudaLauncher and CudaMemory: the jar's fatbin loads, kernels run
 * with results equal to plain Java, copies go both ways and are bounds-checked, a kernel given
 * freed memory fails its launch, and the context is per thread. The streams, events and faults
 * are in {@link VirtualDriverStreamsTest}. Runs in the "virtual-gpu" JVM (java/pom.xml).
 */
@Tag("virtual-gpu")
class VirtualDriverTest {
    /** Elementwise kernels: a size that is no multiple of the block. */
    private static final int N = 1013;
    /** tanh in the kernels (tanhf) and Math.tanh differ in the last bits. */
    private static final double TANH_ATOL = 1e-6, TANH_RTOL = 1e-6;

    private static CudaLauncher launcher;
    private static CudaMemory memory;
    private static Kernels kernels;

    /** The JVM's one device: the stand-ins installed before any JCuda class, a launcher and memory as GpuDevice makes them. */
    static synchronized CudaLauncher launcher() {
        if (launcher == null) {
            if (VirtualGpu.directory().isEmpty() || !java.nio.file.Files.isRegularFile(VirtualGpu.directory().get().resolve(CudaProbe.DRIVER)))
                unavailable("the virtual GPU was not built (native/vgpu/; the build needs cmake and g++)");
            if (KernelImages.fatbin().isEmpty()) unavailable("the CUDA kernels' fatbin was not built (the build needs nvcc)");
            VirtualGpu.installDriver();
            launcher = CudaLauncher.open(0);
            memory = new CudaMemory(launcher);
            kernels = new Kernels(launcher);
        }
        return launcher;
    }

    static synchronized CudaMemory memory() {
        launcher();
        return memory;
    }

    static synchronized Kernels kernels() {
        launcher();
        return kernels;
    }

    /**
     * Device memory straight from cuMemAlloc (not CudaMemory's, which may cache and round up): its
     * bounds are exactly {@code bytes}, and {@link #release} really frees it.
     */
    static long alloc(long bytes) {
        launcher();
        Address p = new Address();
        JCudaDriver.cuMemAlloc(p, bytes);
        return p.value();
    }

    /** cuMemFree of an {@link #alloc} address. */
    static void release(long address) {
        JCudaDriver.cuMemFree(CudaMemory.at(address));
    }

    /** A CUdeviceptr that cuMemAlloc fills, and its numeric address. */
    private static final class Address extends jcuda.driver.CUdeviceptr {
        long value() { return getNativePointer() + getByteOffset(); }
    }

    /** Skipped with the reason, or failed under CI=true (as the emulation's tests). */
    static void unavailable(String reason) {
        if ("true".equals(System.getenv("CI"))) fail(reason + "; CI=true requires it");
        abort(reason);
    }

    /** "CUDA_SUCCESS" or the CUresult a JCuda call failed with (exceptions are on for the launcher). */
    static String result(Runnable call) {
        try {
            call.run();
            return "CUDA_SUCCESS";
        } catch (CudaException e) {
            return e.getMessage();
        }
    }

    /** Back to the defaults for the next test: the JVM's device is shared. */
    static void restore() {
        if (!VirtualGpu.installed()) return;
        VirtualGpu.setSchedule(VirtualGpu.Schedule.initial());
        VirtualGpu.setFaults("");
        if (launcher != null) result(() -> JCudaDriver.cuStreamSynchronize(launcher.stream()));
        VirtualGpu.clearError();
    }

    /** Per test, so that without the virtual GPU each test is reported skipped (or, under CI=true, failed). */
    @BeforeEach
    void open() { launcher(); }

    @AfterEach
    void restoreDefaults() { restore(); }

    static float[] ramp(int n, float scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (i - n / 2) * scale;
        return x;
    }

    @Test
    void theDeviceIsTheVirtualGpuOfComputeCapability90() {
        assertTrue(launcher().describe().startsWith("cuda: jgan virtual GPU ("), launcher().describe());
        CUdevice device = launcher().device();
        int[] major = new int[1], minor = new int[1], version = new int[1];
        JCudaDriver.cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
        JCudaDriver.cuDeviceGetAttribute(minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
        JCudaDriver.cuDriverGetVersion(version);
        assertEquals(9, major[0]);
        assertEquals(0, minor[0]);
        assertTrue(version[0] >= 12000, "driver version " + version[0]);
        assertEquals("CUDA_ERROR_INVALID_VALUE", result(() -> JCudaDriver.cuDeviceGetAttribute(major, 100000, device)));
        assertEquals("CUDA_ERROR_INVALID_VALUE", result(() -> JCudaDriver.cuInit(1)));
        assertTrue(memory().describe().contains("jgan virtual GPU"), memory().describe());
    }

    @Test
    void kernelsRunThroughCudaLauncherAndEqualPlainJava() {
        CudaMemory m = memory();
        long x = alloc(4L * N), y = alloc(4L * N);
        try {
            float[] in = ramp(N, 0.01f);
            m.copyToDevice(in, 0, x, N);

            kernels().reluForward(x, y, N);
            float[] got = new float[N], expected = new float[N];
            m.copyToHost(y, got, 0, N);
            Reference.relu(in, expected);
            Approx.assertSameBits("relu_forward", expected, got);

            kernels().leakyReluForward(x, y, N, 0.2f);
            m.copyToHost(y, got, 0, N);
            Reference.leakyRelu(in, expected, 0.2f);
            Approx.assertSameBits("leaky_relu_forward", expected, got);

            kernels().tanhForward(x, y, N);
            m.copyToHost(y, got, 0, N);
            Reference.tanh(in, expected);
            Approx.assertClose("tanh_forward", expected, got, TANH_ATOL, TANH_RTOL);

            kernels().fillUniform(y, N, -1f, 1f, 42, 7);
            m.copyToHost(y, got, 0, N);
            Reference.fillUniform(expected, -1f, 1f, 42, 7);
            Approx.assertSameBits("fill_uniform", expected, got);
            assertTrue(VirtualGpu.counter(VirtualGpu.Counter.LAUNCHES) >= 4);
        } finally {
            release(x);
            release(y);
        }
    }

    @Test
    void copiesGoBothWaysAndWithinTheDevice() {
        CudaMemory m = memory();
        long a = alloc(4L * N), b = alloc(4L * N);
        try {
            float[] in = ramp(N, 0.5f), got = new float[N];
            m.copyToDevice(in, 0, a, N);
            m.copy(a, b, 4L * N);
            m.copyToHost(b, got, 0, N);
            assertArrayEquals(in, got);
            // part of a buffer, at an offset on both sides
            m.copyToHost(a + 40, got, 3, 100);
            for (int i = 0; i < 100; i++) assertEquals(in[10 + i], got[3 + i]);
            m.fill32(b + 8, Float.floatToRawIntBits(2.5f), N - 2);
            m.copyToHost(b, got, 0, N);
            assertEquals(in[0], got[0]);
            assertEquals(in[1], got[1]);
            for (int i = 2; i < N; i++) assertEquals(2.5f, got[i]);
            // fresh memory is NaN until written (contents undefined)
            long c = alloc(64);
            m.copyToHost(c, got, 0, 16);
            assertTrue(Float.isNaN(got[0]) && Float.isNaN(got[15]));
            release(c);
        } finally {
            release(a);
            release(b);
        }
    }

    @Test
    void aCopyPastTheEndOfAnAllocationIsInvalidValue() {
        CudaMemory m = memory();
        CUstream stream = launcher().stream();
        long a = alloc(1000);
        try {
            float[] host = new float[251]; // 1004 bytes
            assertEquals("CUDA_ERROR_INVALID_VALUE",
                    result(() -> JCudaDriver.cuMemcpyHtoDAsync(CudaMemory.at(a), Pointer.to(host), 1004, stream)));
            assertTrue(VirtualGpu.lastError().contains("past the end of an allocation of 1000 bytes"), VirtualGpu.lastError());
            assertEquals("CUDA_ERROR_INVALID_VALUE",
                    result(() -> JCudaDriver.cuMemcpyDtoHAsync(Pointer.to(host), CudaMemory.at(a + 16), 988, stream)));
            assertEquals("CUDA_SUCCESS", result(() -> JCudaDriver.cuMemcpyDtoHAsync(Pointer.to(host), CudaMemory.at(a + 16), 984, stream)));
            assertEquals("CUDA_ERROR_INVALID_VALUE",
                    result(() -> JCudaDriver.cuMemcpyDtoDAsync(CudaMemory.at(a), CudaMemory.at(a + 4), 1000, stream)));
            assertEquals("CUDA_ERROR_INVALID_VALUE", result(() -> JCudaDriver.cuMemsetD32Async(CudaMemory.at(a), 0, 251, stream)));
            // through the adapter: one line naming the call
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.copyToDevice(host, 0, a, 251));
            assertTrue(e.getMessage().startsWith("cuMemcpyHtoDAsync(1004 bytes) failed: CUDA_ERROR_INVALID_VALUE"), e.getMessage());
        } finally {
            release(a);
        }
    }

    @Test
    void allocationAndFreeCheckTheirArguments() {
        launcher();
        long live = VirtualGpu.counter(VirtualGpu.Counter.LIVE_ALLOCATIONS);
        long a = alloc(1000);
        assertEquals(0, a % 256, "cuMemAlloc's alignment");
        assertEquals(live + 1, VirtualGpu.counter(VirtualGpu.Counter.LIVE_ALLOCATIONS));
        assertEquals("CUDA_ERROR_INVALID_VALUE", result(() -> JCudaDriver.cuMemFree(CudaMemory.at(a + 256))));
        release(a);
        assertEquals(live, VirtualGpu.counter(VirtualGpu.Counter.LIVE_ALLOCATIONS));
        assertEquals("CUDA_ERROR_INVALID_VALUE", result(() -> JCudaDriver.cuMemFree(CudaMemory.at(a))), "a second free");
        assertTrue(VirtualGpu.lastError().contains("freed memory"), VirtualGpu.lastError());
        assertEquals("CUDA_ERROR_INVALID_VALUE", result(() -> JCudaDriver.cuMemAlloc(new jcuda.driver.CUdeviceptr(), 0)));
        long[] free = new long[1], total = new long[1];
        JCudaDriver.cuMemGetInfo(free, total);
        assertEquals("CUDA_ERROR_OUT_OF_MEMORY", result(() -> JCudaDriver.cuMemAlloc(new jcuda.driver.CUdeviceptr(), total[0] + 1)));
    }

    @Test
    void aKernelGivenFreedMemoryFailsItsLaunchNamingTheKernel() {
        launcher();
        long x = alloc(4L * N), y = alloc(4L * N);
        release(x);
        try {
            kernels().reluForward(x, y, N); // queued: the failure is asynchronous
            assertEquals("CUDA_ERROR_ILLEGAL_ADDRESS", result(() -> JCudaDriver.cuStreamSynchronize(launcher().stream())));
            String error = VirtualGpu.lastError();
            assertTrue(error.contains("relu_forward") && error.contains("argument 0") && error.contains("freed memory"), error);
            // sticky: later calls report it too, until the test hook clears it
            assertEquals("CUDA_ERROR_ILLEGAL_ADDRESS", result(() -> JCudaDriver.cuStreamSynchronize(launcher().stream())));
        } finally {
            VirtualGpu.clearError();
            release(y);
        }
    }

    @Test
    void theModuleImageIsChecked() {
        // the fatbin and its ELFs are CUDA 13's: this test plays a CUDA 13 driver whatever the JVM's
        // (what older drivers load is VirtualDriverFloorTest's)
        int previous = VirtualGpu.setDriverVersion(13000);
        try {
            fatbinChecks();
        } finally {
            VirtualGpu.setDriverVersion(previous);
        }
    }

    private void fatbinChecks() {
        byte[] fatbin = KernelImages.fatbin().orElseThrow();
        CUmodule module = new CUmodule();
        assertEquals("CUDA_SUCCESS", result(() -> JCudaDriver.cuModuleLoadData(module, fatbin)));
        CUfunction f = new CUfunction();
        assertEquals("CUDA_SUCCESS", result(() -> JCudaDriver.cuModuleGetFunction(f, module, "relu_forward")));
        assertEquals("CUDA_ERROR_NOT_FOUND", result(() -> JCudaDriver.cuModuleGetFunction(new CUfunction(), module, "no_such_kernel")));

        // cuLaunchKernel's own checks: block size, extra, the function handle
        long x = alloc(64);
        try {
            Pointer params = Pointer.to(Pointer.to(new long[] {x}), Pointer.to(new long[] {x}), Pointer.to(new long[] {16}));
            CUstream s = launcher().stream();
            assertEquals("CUDA_ERROR_INVALID_VALUE", result(() -> JCudaDriver.cuLaunchKernel(f, 1, 1, 1, 1025, 1, 1, 0, s, params, null)));
            assertEquals("CUDA_ERROR_INVALID_VALUE", result(() -> JCudaDriver.cuLaunchKernel(f, 1, 65536, 1, 32, 1, 1, 0, s, params, null)));
            assertEquals("CUDA_ERROR_INVALID_VALUE", result(() -> JCudaDriver.cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, s, params, Pointer.to(new int[1]))));
            assertEquals("CUDA_SUCCESS", result(() -> JCudaDriver.cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, s, params, null)));
            assertEquals("CUDA_SUCCESS", result(() -> JCudaDriver.cuStreamSynchronize(s)));
        } finally {
            release(x);
        }
        assertEquals("CUDA_SUCCESS", result(() -> JCudaDriver.cuModuleUnload(module)));

        byte[] notAFatbin = fatbin.clone();
        notAFatbin[0] ^= 0x5a;
        assertEquals("CUDA_ERROR_INVALID_IMAGE", result(() -> JCudaDriver.cuModuleLoadData(new CUmodule(), notAFatbin)));
        byte[] truncated = fatbin.clone();
        ByteBuffer.wrap(truncated).order(ByteOrder.LITTLE_ENDIAN).putLong(8, fatbin.length); // entries run past the container
        assertEquals("CUDA_ERROR_INVALID_IMAGE", result(() -> JCudaDriver.cuModuleLoadData(new CUmodule(), truncated)));
        assertEquals("CUDA_ERROR_NO_BINARY_FOR_GPU", result(() -> JCudaDriver.cuModuleLoadData(new CUmodule(), withArchitecturesAbove90(fatbin))));
        assertTrue(VirtualGpu.lastError().contains("no sm_90"), VirtualGpu.lastError());

        // a cubin on its own: the fatbin's sm_90 ELF loads, its sm_80 ELF is no binary for this GPU
        CUmodule cubin = new CUmodule();
        assertEquals("CUDA_SUCCESS", result(() -> JCudaDriver.cuModuleLoadData(cubin, elf(fatbin, 90))));
        assertEquals("CUDA_SUCCESS", result(() -> JCudaDriver.cuModuleGetFunction(new CUfunction(), cubin, "relu_forward")));
        JCudaDriver.cuModuleUnload(cubin);
        assertEquals("CUDA_ERROR_NO_BINARY_FOR_GPU", result(() -> JCudaDriver.cuModuleLoadData(new CUmodule(), elf(fatbin, 80))));
    }

    /** The fatbin's ELF entry for sm_{@code arch}. */
    private static byte[] elf(byte[] fatbin, int arch) {
        ByteBuffer b = ByteBuffer.wrap(fatbin).order(ByteOrder.LITTLE_ENDIAN);
        int header = Short.toUnsignedInt(b.getShort(6));
        long end = header + b.getLong(8);
        for (long off = header; off < end; ) {
            int entryHeader = b.getInt((int) off + 4);
            long size = b.getLong((int) off + 8);
            if (b.getShort((int) off) == 2 && b.getInt((int) off + 28) == arch)
                return java.util.Arrays.copyOfRange(fatbin, (int) off + entryHeader, (int) (off + entryHeader + size));
            off += entryHeader + size;
        }
        throw new AssertionError("no sm_" + arch + " ELF in the fatbin");
    }

    /** The fatbin with every entry's architecture moved to 100: nothing a 9.0 device runs. */
    private static byte[] withArchitecturesAbove90(byte[] fatbin) {
        byte[] out = fatbin.clone();
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        int header = Short.toUnsignedInt(b.getShort(6));
        long end = header + b.getLong(8);
        for (long off = header; off < end; ) {
            int entryHeader = b.getInt((int) off + 4);
            long size = b.getLong((int) off + 8);
            b.putInt((int) off + 28, 100);
            off += entryHeader + size;
        }
        return out;
    }

    @Test
    void aThreadWithoutACurrentContextGetsInvalidContext() throws InterruptedException {
        launcher();
        AtomicReference<String> before = new AtomicReference<>(), current = new AtomicReference<>(), after = new AtomicReference<>();
        Thread t = new Thread(() -> {
            jcuda.driver.CUdeviceptr p = new jcuda.driver.CUdeviceptr();
            before.set(result(() -> JCudaDriver.cuMemAlloc(p, 256)));
            CUcontext none = new CUcontext();
            JCudaDriver.cuCtxGetCurrent(none);
            current.set(none.equals(new CUcontext()) ? "none" : "some");
            CUcontext ctx = new CUcontext();
            JCudaDriver.cuDevicePrimaryCtxRetain(ctx, launcher.device());
            JCudaDriver.cuCtxSetCurrent(ctx);
            after.set(result(() -> JCudaDriver.cuMemAlloc(p, 256)));
            JCudaDriver.cuMemFree(p);
            JCudaDriver.cuDevicePrimaryCtxRelease(launcher.device());
        });
        t.start();
        t.join();
        assertEquals("CUDA_ERROR_INVALID_CONTEXT", before.get());
        assertEquals("none", current.get());
        assertEquals("CUDA_SUCCESS", after.get());
    }

    @Test
    void kernelParametersAreReadAtTheCall() {
        // the launcher's argument buffer may be reused at once: the values are copied by cuLaunchKernel
        CudaMemory m = memory();
        long x = alloc(4L * N), y = alloc(4L * N);
        try {
            VirtualGpu.setSchedule(VirtualGpu.Schedule.LAZY);
            float[] in = ramp(N, 1f), got = new float[N];
            m.copyToDevice(in, 0, x, N);
            launcher().launch("relu_forward", new Dim3(4, 1, 1), new Dim3(256, 1, 1), 0,
                    KernelArgs.builder().pointer(x).pointer(y).i64(N).build());
            m.copyToHost(y, got, 0, N);
            float[] expected = new float[N];
            Reference.relu(in, expected);
            Approx.assertSameBits("relu_forward, lazily run", expected, got);
        } finally {
            release(x);
            release(y);
        }
    }
}
