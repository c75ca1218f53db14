package dev.jgan.cuda.gpu;

import dev.jgan.cuda.Emulation;
import dev.jgan.cuda.KernelArgs;
import dev.jgan.cuda.Kernels;
import dev.jgan.testing.Approx;
import dev.jgan.check.Reference;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The JCuda launcher as far as a machine without a GPU can test it: kernelParams point at the
 * packed arguments' offsets, the fatbin it loads is in the jar, opening without a driver fails
 * with one clear line; and, where a GPU is present, a kernel runs on it.
 */
class CudaLauncherTest {
    @Test
    void kernelParamsPointAtThePackedOffsets() {
        KernelArgs a = KernelArgs.builder().pointer(1).pointer(2).f32(0.5f).i64(3).i32(4).build();
        assertArrayEquals(new long[] {0, 8, 16, 24, 32}, CudaLauncher.parameterOffsets(a));
        Pointer params = CudaLauncher.kernelParams(a);
        assertNotNull(params);
        long base = java.lang.foreign.MemorySegment.ofBuffer(a.values()).address();
        assertArrayEquals(new long[] {base, base + 8, base + 16, base + 24, base + 32}, CudaLauncher.parameterAddresses(params, 5),
                "kernelParams[i] is the native address of argument i in the site's own buffer");
    }

    @Test
    void theModuleImageIsInTheJar() {
        byte[] image = Emulation.fatbin();
        assertTrue(image.length > 1000, "fatbin of " + image.length + " bytes");
    }

    @Test
    void withoutADriverOpeningFailsWithOneClearLine() {
        assumeFalse(CudaProbe.libraryPresent("libcuda.so.1"), "an NVIDIA driver is installed here");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> CudaLauncher.open(0));
        assertTrue(e.getMessage().contains("libcuda.so.1 not found"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    /** A CUdeviceptr whose address Kernels can take (JCuda keeps it protected). */
    static final class DevicePointer extends CUdeviceptr {
        long address() { return getNativePointer(); }
    }

    /** On a GPU machine: the same Kernels call as the emulation tests, on the device. */
    @Test
    void onAGpuAKernelRuns() {
        assumeTrue(CudaProbe.libraryPresent("libcuda.so.1") && CudaProbe.probe().devices() > 0, "no GPU here");
        try (CudaLauncher l = CudaLauncher.open(0)) {
            assertTrue(l.describe().startsWith("cuda: "), l.describe());
            DevicePointer p = new DevicePointer();
            JCudaDriver.cuMemAlloc(p, 4 * 1000);
            try {
                long address = p.address();
                new Kernels(l).fillUniform(address, 1000, 0f, 1f, 1, 0);
                float[] got = new float[1000];
                JCudaDriver.cuMemcpyDtoH(Pointer.to(got), p, 4 * 1000);
                float[] expected = new float[1000];
                Reference.fillUniform(expected, 0f, 1f, 1, 0);
                Approx.assertSameBits("fillUniform on the GPU", expected, got);
            } finally {
                JCudaDriver.cuMemFree(p);
            }
        }
    }
}
