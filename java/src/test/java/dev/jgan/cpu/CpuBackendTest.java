package dev.jgan.cpu;

import dev.jgan.backend.Backend;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Storage;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** What is specific to the CPU backend: its description, its memory, its argument checks. */
class CpuBackendTest {
    /** How long the allocation test waits for C2; it passes in well under a second when the machine is not starved. */
    static final long WARM_UP_LIMIT_NANOS = 20_000_000_000L;

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
     * Ops allocate nothing once compiled. Until C2 has compiled them (and on a busy 2-core
     * machine its queue can lag by seconds) Vector API code boxes every vector, so each op of a
     * small training step runs in rounds until 100 calls allocate (almost) nothing. A per-call
     * array or string never goes away and costs 100s of bytes x 100 calls; the 1 KiB allowance
     * covers JIT and profiling noise.
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
        Map<String, Runnable> ops = new LinkedHashMap<>();
        ops.put("fillNormal", () -> cpu.fillNormal(x, 0f, 1f, 1L, 0L));
        ops.put("fillUniform", () -> cpu.fillUniform(im, -1f, 1f, 1L, 0L));
        ops.put("gemm", () -> cpu.gemm(false, true, 16, 40, 40, 1f, x, w, 0f, y));
        ops.put("addBias", () -> cpu.addBias(y, b));
        ops.put("batchNormTrain (N, C)", () -> cpu.batchNormTrain(y, g, b, rm, rv, 0.1f, 1e-5f, y, sm, si));
        ops.put("batchNormTrain (N, C, H, W)", () -> cpu.batchNormTrain(im, imCh, imCh2, imCh2, imCh, 0.1f, 1e-5f, im, imCh2, imCh));
        ops.put("leakyRelu", () -> cpu.leakyRelu(y, y, 0.2f));
        ops.put("tanh", () -> cpu.tanh(y, y));
        ops.put("sigmoid", () -> cpu.sigmoid(logits, logits));
        ops.put("bceWithLogits", () -> cpu.bceWithLogits(logits, null, 0.9f, 1f, logits, stats, 0));
        ops.put("tanhBackward", () -> cpu.tanhBackward(y, x, x));
        ops.put("batchNormBackward", () -> cpu.batchNormBackward(y, x, g, sm, si, x, grads.get(1), b, true));
        ops.put("biasGrad", () -> cpu.biasGrad(x, grads.get(1), true));
        ops.put("adamStep", () -> cpu.adamStep(params, grads, m, v, 1e-4f, 0.5f, 0.999f, 1e-8f, 0f, 1));
        Map<String, Long> allocating = new LinkedHashMap<>(ops.size());
        long deadline = System.nanoTime() + WARM_UP_LIMIT_NANOS;
        while (System.nanoTime() < deadline) {
            allocating.clear();
            for (Map.Entry<String, Runnable> op : ops.entrySet()) {
                Runnable r = op.getValue();
                for (int i = 0; i < 400; i++) r.run();
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 100; i++) r.run();
                long allocated = threads.getCurrentThreadAllocatedBytes() - before;
                if (allocated > 1024) allocating.put(op.getKey(), allocated);
            }
            if (allocating.isEmpty()) return;
        }
        fail("bytes allocated by 100 warm calls: " + allocating);
    }
}
