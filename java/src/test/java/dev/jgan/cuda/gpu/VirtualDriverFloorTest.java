package dev.jgan.cuda.gpu;

import dev.jgan.cuda.CudaBackend;
import dev.jgan.cuda.KernelImages;
import dev.jgan.cuda.Kernels;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static dev.jgan.cuda.gpu.VirtualDriverTest.result;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The driver floor on the virtual GPU playing older NVIDIA drivers (VirtualGpu.setDriverVersion):
 * a CUDA 12.0 driver refuses the fatbin (CUDA 13's machine code, PTX ISA 9.0), so the launcher
 * hands it the ISA 7.0 PTX and the kernels run from it; a CUDA 11.8 driver gets one line.
 * Runs in the "virtual-gpu" JVM (java/pom.xml).
 */
@Tag("virtual-gpu")
class VirtualDriverFloorTest {
    /** cuDriverGetVersion's values: the floor, one release below it, and the fatbin's first. */
    private static final int CUDA_11_8 = 11080, CUDA_12_0 = 12000, CUDA_13_0 = 13000;
    /** Not a multiple of the kernels' block, so the tail is covered. */
    private static final int N = 1013;
    private static final float SLOPE = 0.2f;

    private int before;

    @BeforeEach
    void open() {
        VirtualDriverTest.launcher();  // the driver stand-in installed and a context current (or skipped)
        before = VirtualGpu.setDriverVersion(CUDA_13_0);  // put back after the test: the JVM's device is shared
    }

    @AfterEach
    void restore() {
        VirtualGpu.setDriverVersion(before);
        VirtualDriverTest.restore();
    }

    @Test
    void aCuda12DriverRefusesTheFatbinAndLoadsThePtx() {
        VirtualGpu.setDriverVersion(CUDA_12_0);
        int[] version = new int[1];
        JCudaDriver.cuDriverGetVersion(version);
        assertEquals(CUDA_12_0, version[0]);

        byte[] fatbin = KernelImages.fatbin().orElseThrow();
        assertEquals("CUDA_ERROR_UNSUPPORTED_PTX_VERSION", result(() -> JCudaDriver.cuModuleLoadData(new CUmodule(), fatbin)));
        String why = VirtualGpu.lastError();
        assertTrue(why.contains("CUDA 13's ELF format") && why.contains("PTX is ISA 9.0"), why);

        byte[] ptx = KernelImages.forDriver(CUDA_12_0).bytes();
        CUmodule module = new CUmodule();
        assertEquals("CUDA_SUCCESS", result(() -> JCudaDriver.cuModuleLoadData(module, ptx)));
        for (String k : Kernels.NAMES)  // every kernel the launcher may ask for, by its .entry name
            assertEquals("CUDA_SUCCESS", result(() -> JCudaDriver.cuModuleGetFunction(new CUfunction(), module, k)), k);
        assertEquals("CUDA_ERROR_NOT_FOUND", result(() -> JCudaDriver.cuModuleGetFunction(new CUfunction(), module, "no_such_kernel")));
        assertEquals("CUDA_SUCCESS", result(() -> JCudaDriver.cuModuleUnload(module)));

        // the same PTX declared ISA 9.0 (as nvcc 13 wrote it) is too new for this driver's JIT
        String text = new String(ptx, 0, ptx.length - 1, StandardCharsets.US_ASCII).replace("\n.version 7.0\n", "\n.version 9.0\n");
        byte[] isa90 = (text + "\0").getBytes(StandardCharsets.US_ASCII);
        assertEquals("CUDA_ERROR_UNSUPPORTED_PTX_VERSION", result(() -> JCudaDriver.cuModuleLoadData(new CUmodule(), isa90)));
        assertTrue(VirtualGpu.lastError().contains("the PTX is ISA 9.0, a CUDA 12.0 driver JIT-compiles ISA 8.0 and older"),
                VirtualGpu.lastError());

        VirtualGpu.setDriverVersion(CUDA_13_0);
        CUmodule again = new CUmodule();
        assertEquals("CUDA_SUCCESS", result(() -> JCudaDriver.cuModuleLoadData(again, fatbin)), "a CUDA 13.0 driver loads the fatbin");
        assertEquals("CUDA_SUCCESS", result(() -> JCudaDriver.cuModuleUnload(again)));
    }

    @Test
    void onACuda12DriverTheBackendRunsItsKernelsFromThePtx() {
        VirtualGpu.install();
        VirtualGpu.setDriverVersion(CUDA_12_0);
        CudaBackend backend = GpuDevice.open(0, 16L << 20);
        try {
            assertTrue(backend.describe().contains("jgan kernels: compute_80 PTX (ISA 7.0), JIT-compiled by the CUDA 12.0 driver"),
                    backend.describe());
            float[] xs = new float[N], expected = new float[N], out = new float[N];
            for (int i = 0; i < N; i++) {
                xs[i] = (i - N / 2) * 0.37f;
                expected[i] = xs[i] > 0 ? xs[i] : SLOPE * xs[i];  // one float multiply: the same rounding on both sides
            }
            Tensor x = backend.allocate(Shape.of(N)), y = backend.allocate(Shape.of(N));
            backend.copyFromHost(xs, x);
            backend.leakyRelu(x, y, SLOPE);
            backend.toHost(y, out);
            assertArrayEquals(expected, out);
        } finally {
            backend.close();
        }
    }

    @Test
    void aDriverBelowTheFloorGetsOneLine() {
        VirtualGpu.install();
        VirtualGpu.setDriverVersion(CUDA_11_8);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> GpuDevice.open(0, 16L << 20));
        assertEquals("NVIDIA driver too old: CUDA 11.8 driver, jgan needs CUDA 12.0 (driver 525) or newer; upgrade the NVIDIA driver",
                e.getMessage());
    }
}
