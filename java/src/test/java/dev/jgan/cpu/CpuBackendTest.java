package dev.jgan.cpu;

import dev.jgan.backend.Backend;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Storage;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Test;

import dev.jgan.testing.TestData;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Proxy;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What is specific to the CPU backend: its description, its memory, its argument checks. */
class CpuBackendTest {
    final CpuBackend cpu = TestBackends.cpu();

    @Test
    void describesLibrariesThreadsAndVectorWidth() {
        assertTrue(CpuBackend.openBlasConfig().startsWith("OpenBLAS 0.3.30"), CpuBackend.openBlasConfig());
        int bits = CpuBackend.vectorBits();
        assertTrue(bits == 128 || bits == 256 || bits == 512, "vector bits " + bits);
        String line = cpu.describe();
        assertTrue(line.matches("cpu: oneDNN 3\\.8\\.\\d+ GEMM and convolutions, " + TestBackends.CPU_THREADS + " threads, Vector API "
                + bits + "-bit float"), line);
        try (CpuBackend blas = new CpuBackend(1, CpuBackend.Gemm.OPENBLAS)) {
            assertTrue(blas.describe().matches("cpu: OpenBLAS 0\\.3\\.30 \\(.+\\) GEMM, oneDNN 3\\.8\\.\\d+ convolutions, 1 thread, Vector API "
                    + bits + "-bit float"), blas.describe());
        }
        assertEquals("cpu", cpu.name());
        assertEquals(TestBackends.CPU_THREADS, cpu.threads());
    }

    /**
     * The two GEMM libraries agree on every transpose combination, awkward sizes, beta 0 over NaN
     * (C not read) and beta != 0; both are checked against the reference in GemmTest through the
     * default, so here they are checked against each other (a few ulp per term of the dot product).
     */
    @Test
    void openBlasAndOneDnnGemmsAgree() {
        try (CpuBackend blas = new CpuBackend(TestBackends.CPU_THREADS, CpuBackend.Gemm.OPENBLAS)) {
            int[][] mnk = {{1, 1, 1}, {13, 7, 207}, {64, 784, 1024}, {207, 13, 64}};
            for (int[] s : mnk) for (int ta = 0; ta < 2; ta++) for (int tb = 0; tb < 2; tb++) for (float beta : new float[] {0f, 0.5f}) {
                int m = s[0], n = s[1], k = s[2];
                float[] a = TestData.uniform(1, m * k, -1f, 1f), b = TestData.uniform(2, k * n, -1f, 1f);
                float[] c0 = beta == 0f ? nan(m * n) : TestData.uniform(3, m * n, -1f, 1f);
                float[][] out = new float[2][];
                CpuBackend[] both = {cpu, blas};
                for (int l = 0; l < 2; l++) {
                    Tensor ta_ = both[l].fromHost(a, Shape.of(m * k)), tb_ = both[l].fromHost(b, Shape.of(k * n)),
                            tc = both[l].fromHost(c0, Shape.of(m * n));
                    both[l].gemm(ta == 1, tb == 1, m, n, k, 0.75f, ta_, tb_, beta, tc);
                    out[l] = tc.toHost();
                }
                for (int i = 0; i < m * n; i++)
                    assertTrue(Math.abs(out[0][i] - out[1][i]) <= 1e-6f * k + 1e-5f * Math.abs(out[1][i]),
                            "gemm " + (ta == 1 ? "T" : "N") + (tb == 1 ? "T" : "N") + " (m, n, k) = (" + m + ", " + n + ", " + k + "), beta " + beta
                                    + ", C[" + i + "]: oneDNN " + out[0][i] + ", OpenBLAS " + out[1][i]);
            }
        }
    }

    private static float[] nan(int n) {
        float[] x = new float[n];
        Arrays.fill(x, Float.NaN);
        return x;
    }

    @Test
    void storageIsAlignedZeroedAndSharedWithTheBlasPointer() {
        for (int n : new int[] {1, 13, 207, 1024, 65537}) {
            HostStorage s = new HostStorage(n);
            MemorySegment seg = s.segment();
            assertEquals(0, seg.address() % HostStorage.ALIGNMENT, "alignment of " + n + " floats");
            assertEquals(n, s.floats());
            assertEquals(seg.address(), s.pointer().address());
            assertEquals(n, s.pointer().capacity());
            for (int i = 0; i < n; i++) assertEquals(0f, seg.getAtIndex(ValueLayout.JAVA_FLOAT, i));
        }
        assertThrows(IllegalArgumentException.class, () -> new HostStorage(0));
    }

    @Test
    void rejectsBadThreadCountsAndForeignTensors() {
        assertThrows(IllegalArgumentException.class, () -> new CpuBackend(0));
        Backend other = Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, method, args) -> method.getName().equals("name") ? "cuda" : null) instanceof Backend b ? b : null;
        Storage foreignStorage = () -> 8;
        Tensor foreign = new Tensor(other, Shape.of(8), foreignStorage);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cpu.relu(foreign, cpu.allocate(Shape.of(8))));
        assertTrue(e.getMessage().equals("relu: x (8) belongs to the cuda backend, not the cpu backend"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> cpu.tanh(null, cpu.allocate(Shape.of(8))));
        assertEquals("tanh: x is null", e.getMessage());
    }

    @Test
    void gemmRejectsAnOutputThatAliasesAnInput() {
        Tensor a = cpu.allocate(Shape.of(4, 4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> cpu.gemm(false, false, 4, 4, 4, 1f, a, cpu.allocate(Shape.of(4, 4)), 0f, a.view(Shape.of(16))));
        assertTrue(e.getMessage().startsWith("gemm: C (16)"), e.getMessage());
    }
}
