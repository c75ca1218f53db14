package dev.jgan.cpu;

import dev.jgan.backend.Backend;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Storage;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;

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
        assertTrue(line.matches("cpu: OpenBLAS 0\\.3\\.30 \\(.+\\), " + TestBackends.CPU_THREADS + " threads, Vector API "
                + bits + "-bit float"), line);
        assertEquals("cpu", cpu.name());
        assertEquals(TestBackends.CPU_THREADS, cpu.threads());
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
            for (int i = 0; i < n; i++) assertEquals(0f, seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i));
        }
        assertThrows(IllegalArgumentException.class, () -> new HostStorage(0));
    }

    @Test
    void rejectsBadThreadCountsAndForeignTensors() {
        assertThrows(IllegalArgumentException.class, () -> new CpuBackend(0));
        Backend other = java.lang.reflect.Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
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
