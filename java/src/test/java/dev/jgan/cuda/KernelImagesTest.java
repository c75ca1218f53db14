package dev.jgan.cuda;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which kernel image a driver gets ({@link KernelImages#forDriver}): the fatbin from CUDA 13.0
 * (R580) on, the ISA 7.0 PTX for CUDA 12.x drivers, one line below CUDA 12.0; and that the PTX
 * in the jar is what the build promises (ISA 7.0, sm_80, every kernel an entry, NUL-terminated).
 */
class KernelImagesTest {
    /** cuDriverGetVersion's values (1000 * major + 10 * minor) at the edges and between. */
    private static final int CUDA_11_8 = 11080, CUDA_12_0 = 12000, CUDA_12_2 = 12020, CUDA_12_9 = 12090,
            CUDA_13_0 = 13000, CUDA_13_1 = 13010;

    @Test
    void aDriverBelowTheFloorGetsOneLine() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> KernelImages.forDriver(CUDA_11_8));
        assertEquals("NVIDIA driver too old: CUDA 11.8 driver, jgan needs CUDA 12.0 (driver 525) or newer; upgrade the NVIDIA driver",
                e.getMessage());
        assertThrows(IllegalStateException.class, () -> KernelImages.forDriver(CUDA_12_0 - 10));
    }

    @Test
    void cuda13DriversGetTheFatbin() {
        Emulation.fatbin();
        for (int v : new int[] {CUDA_13_0, CUDA_13_1}) {
            KernelImages.Image image = KernelImages.forDriver(v);
            assertEquals(KernelImages.Kind.FATBIN, image.kind(), "CUDA " + v);
            assertEquals(0xBA55ED50, ByteBuffer.wrap(image.bytes()).order(ByteOrder.LITTLE_ENDIAN).getInt(0), "fatbin magic");
            assertTrue(image.description().startsWith("fatbin (sm_80, sm_90 machine code"), image.description());
        }
        assertTrue(KernelImages.forDriver(CUDA_13_0).description().endsWith("for the CUDA 13.0 driver"));
    }

    @Test
    void cuda12DriversGetThePtxToJitCompile() {
        Emulation.fatbin();
        for (int v : new int[] {CUDA_12_0, CUDA_12_2, CUDA_12_9}) {
            KernelImages.Image image = KernelImages.forDriver(v);
            assertEquals(KernelImages.Kind.PTX, image.kind(), "CUDA " + v);
            assertTrue(image.description().startsWith("compute_80 PTX (ISA 7.0), JIT-compiled by the CUDA 12."), image.description());
            assertFalse(image.description().contains("\n"));
        }
        assertEquals("compute_80 PTX (ISA 7.0), JIT-compiled by the CUDA 12.2 driver (the fatbin needs CUDA 13.0, R580)",
                KernelImages.forDriver(CUDA_12_2).description());
    }

    @Test
    void thePtxDeclaresIsa70ForSm80AndHasEveryKernel() {
        Emulation.fatbin();
        byte[] image = KernelImages.forDriver(CUDA_12_0).bytes();
        assertEquals(0, image[image.length - 1], "cuModuleLoadData reads PTX up to its NUL");
        String ptx = new String(image, 0, image.length - 1, StandardCharsets.US_ASCII);
        assertTrue(ptx.contains("\n.version " + KernelImages.PTX_ISA + "\n.target sm_80\n"), "the lowered .version and the target");
        assertEquals(-1, ptx.indexOf('\0'), "one NUL, at the end");
        for (String k : Kernels.NAMES) assertTrue(ptx.contains(".entry " + k + "("), k + " missing from the PTX");
    }

    @Test
    void theFloorInWords() {
        String floor = KernelImages.driverFloor();
        assertTrue(floor.startsWith("CUDA 12.0 (driver 525) or newer"), floor);
        assertTrue(floor.contains("CUDA 13.0 (R580)") && floor.contains("ISA 7.0") && !floor.contains("\n"), floor);
        assertEquals("CUDA 12.2", KernelImages.cudaVersion(CUDA_12_2));
        assertEquals("CUDA 13.0", KernelImages.cudaVersion(CUDA_13_0));
    }
}
