package dev.jgan.cpu;

import dev.jgan.backend.Backend;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Storage;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.List;

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

    /**
     * Ops allocate nothing once compiled. Before C2 compiles them, Vector API code boxes every
     * vector, so the test runs small training-step-like sequences until a round of 100 steps
     * allocates (almost) nothing, for at most 40 rounds. A per-call array or string would cost
     * 100s of bytes x 1300 calls a round; the 4 KiB allowance covers JIT and profiling noise.
     */
    @Test
    void opsDoNotAllocateOnTheHeapOnceWarm() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        Shape act = Shape.of(16, 40), ch = Shape.of(40), img = Shape.of(2, 3, 5, 5), imgCh = Shape.of(3);
        Tensor x = cpu.allocate(act), y = cpu.allocate(act), g = cpu.allocate(ch), b = cpu.allocate(ch);
        Tensor rm = cpu.allocate(ch), rv = cpu.allocate(ch), sm = cpu.allocate(ch), si = cpu.allocate(ch);
        Tensor w = cpu.allocate(Shape.of(40, 40)), logits = cpu.allocate(Shape.of(16, 1)), stats = cpu.allocate(Shape.of(3));
        Tensor im = cpu.allocate(img), imCh = cpu.allocate(imgCh), imCh2 = cpu.allocate(imgCh);
        List<Tensor> params = List.of(w, g), grads = List.of(cpu.allocate(Shape.of(40, 40)), cpu.allocate(ch));
        List<Tensor> m = List.of(cpu.allocate(Shape.of(40, 40)), cpu.allocate(ch)), v = List.of(cpu.allocate(Shape.of(40, 40)), cpu.allocate(ch));
        cpu.fill(g, 1f);
        cpu.fill(rv, 1f);
        cpu.fill(imCh, 1f);
        Runnable step = () -> {
            cpu.fillNormal(x, 0f, 1f, 1L, 0L);
            cpu.fillUniform(im, -1f, 1f, 1L, 0L);
            cpu.gemm(false, true, 16, 40, 40, 1f, x, w, 0f, y);
            cpu.addBias(y, b);
            cpu.batchNormTrain(y, g, b, rm, rv, 0.1f, 1e-5f, y, sm, si);
            cpu.batchNormTrain(im, imCh, imCh2, imCh2, imCh, 0.1f, 1e-5f, im, imCh2, imCh);
            cpu.leakyRelu(y, y, 0.2f);
            cpu.tanh(y, y);
            cpu.sigmoid(logits, logits);
            cpu.bceWithLogits(logits, null, 0.9f, 1f, logits, stats, 0);
            cpu.tanhBackward(y, x, x);
            cpu.batchNormBackward(y, x, g, sm, si, x, grads.get(1), b, true);
            cpu.biasGrad(x, grads.get(1), true);
            cpu.adamStep(params, grads, m, v, 1e-4f, 0.5f, 0.999f, 1e-8f, 0f, 1);
        };
        long allocated = Long.MAX_VALUE;
        for (int round = 0; round < 40 && allocated > 4096; round++) {
            for (int i = 0; i < 400; i++) step.run();
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 100; i++) step.run();
            allocated = threads.getCurrentThreadAllocatedBytes() - before;
        }
        assertTrue(allocated <= 4096, "100 warm steps of 14 ops allocated " + allocated + " bytes");
    }
}
