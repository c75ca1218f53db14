package dev.jgan.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Kernels' launch settings and its checks, with a launcher that only records (no library, no GPU needed). */
class KernelsPreconditionsTest {
    /** Records launches; reports 132 SMs, as an H100 SXM. */
    static final class Recorder implements KernelLauncher {
        final List<Kernels.Launch> launches = new ArrayList<>();

        @Override public String describe() { return "recorder"; }

        @Override public int multiprocessors() { return 132; }

        @Override public void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {
            launches.add(new Kernels.Launch(kernel, grid, block, sharedBytes, args));
        }

        @Override public void synchronize() {}
    }

    static final long A = 0x10000, B = 0x20000, C = 0x30000;

    @Test
    void launchSettings() {
        Recorder r = new Recorder();
        Kernels k = new Kernels(r);
        k.reluForward(A, B, 1000);
        assertEquals(new Kernels.Launch("relu_forward", Dim3.of(4), Dim3.of(256), 0, r.launches.get(0).args()), r.launches.get(0));
        k.reluForward(A, B, 1L << 30);
        assertEquals(Dim3.of(132 * Kernels.BLOCKS_PER_SM), r.launches.get(1).grid(), "elementwise grids stop at one wave");
        k.fillNormal(A, 4097, 0f, 1f, 1, 0);
        assertEquals(Dim3.of(5), r.launches.get(2).grid(), "a fill thread draws four numbers: 1025 Philox blocks");
        k.biasBackward(A, B, 64, 1000, 1, false);
        assertEquals("bias_nc_backward", r.launches.get(3).kernel());
        assertEquals(Dim3.of(32), r.launches.get(3).grid());
        assertEquals(Dim3.of(32, 8), r.launches.get(3).block());
        k.batchNormForward(A, B, C, A, B, 0.1f, 1e-5f, C, A, B, 64, 512, 16);
        assertEquals("batch_norm_forward", r.launches.get(4).kernel());
        assertEquals(Dim3.of(512), r.launches.get(4).grid());
        assertEquals(Dim3.of(256), r.launches.get(4).block());
        k.bceWithLogits(A, 0, 1f, 1f, B, C, 6, 64);
        assertEquals(Dim3.of(1), r.launches.get(5).grid());
        assertEquals("ppffppl", r.launches.get(5).args().signature());
        k.softmaxCrossEntropy(A, B, 1f, C, A, 2, 64, 10);
        assertEquals(new Kernels.Launch("softmax_cross_entropy_forward", Dim3.of(1), Dim3.of(256), 0, r.launches.get(6).args()),
                r.launches.get(6), "one block reduces the batch");
        assertEquals("ppfppll", r.launches.get(6).args().signature());
        k.maxPool2x2Forward(A, B, 64 * 16, 28, 28);
        assertEquals(Dim3.of(64 * 16 * 14 * 14 / 256), r.launches.get(7).grid(), "one thread per output");
        k.maxPool2x2Backward(A, B, C, A + 4, 3, 5, 7);
        assertEquals(Dim3.of(1), r.launches.get(8).grid(), "one thread per element of dx: 105");
        k.ema(A, B, 1000, 0.999f);
        assertEquals("pplff", r.launches.get(9).args().signature());
        k.multiply(A, B, C, 64 * 207, 207);
        assertEquals(new Kernels.Launch("multiply_forward", Dim3.of(52), Dim3.of(256), 0, r.launches.get(10).args()),
                r.launches.get(10), "elementwise over a's 13248 elements, b one value a row");
        assertEquals("pppll", r.launches.get(10).args().signature());
    }

    @Test
    void adamSplitsTablesOf48() {
        Recorder r = new Recorder();
        long[] p = new long[100], sizes = new long[100];
        for (int i = 0; i < 100; i++) {
            p[i] = A + 16L * i;
            sizes[i] = 10;
        }
        new Kernels(r).adamStep(p, p, p, p, sizes, 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 1);
        assertEquals(3, r.launches.size());
        assertEquals("{2320:8}ffffff", r.launches.get(0).args().signature());
    }

    @Test
    void badArgumentsAreRefusedBeforeAnyLaunch() {
        Recorder r = new Recorder();
        Kernels k = new Kernels(r);
        assertMessage(() -> k.reluForward(0, B, 10), "reluForward: x is a null device pointer");
        assertMessage(() -> k.reluForward(A + 2, B, 10), "reluForward: x = 0x10002 is not 4-byte aligned");
        assertMessage(() -> k.reluForward(A, B, 0), "reluForward: n must be at least 1, got 0");
        assertMessage(() -> k.leakyReluBackward(A, B, C, 10, -0.1f), "slope must be >= 0");
        assertMessage(() -> k.dropoutForward(A, B, C, 10, 1f, 1, 0), "p must be in [0, 1)");
        assertMessage(() -> k.biasForward(A, B, 2, 0, 3), "(n, c, s) must be positive");
        assertMessage(() -> k.batchNormForward(A, B, C, A, B, 1.5f, 1e-5f, C, A, B, 2, 3, 4), "momentum must be in [0, 1]");
        assertMessage(() -> k.adamStep(new long[] {A}, new long[] {A}, new long[] {A}, new long[] {A}, new long[] {1},
                1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 0), "step t must be at least 1");
        assertMessage(() -> k.bceWithLogits(A, 0, 1f, 1f, B, C, -1, 10), "slot must be at least 0");
        assertMessage(() -> k.softmaxCrossEntropy(A, B, 1f, C, A, 0, 64, 0), "k must be at least 1");
        assertMessage(() -> k.maxPool2x2Forward(A, B, 4, 1, 8), "h, w at least 2");
        assertMessage(() -> k.ema(A, B, 10, 1.01f), "decay must be in [0, 1]");
        assertMessage(() -> k.multiply(A, B, C, 10, 4), "multiply: rowLength must be at least 1 and divide n = 10, got 4");
        assertMessage(() -> k.multiply(A, B, C, 10, 0), "rowLength must be at least 1");
        assertTrue(r.launches.isEmpty(), "nothing launched");
    }

    private static void assertMessage(Executable call, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
