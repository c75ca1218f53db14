package dev.jgan.cuda;

import dev.jgan.backend.Backend;
import dev.jgan.backend.ConvGeometry;
import dev.jgan.cuda.emulated.EmulatedBlas;
import dev.jgan.cuda.emulated.EmulatedDnn;
import dev.jgan.cuda.emulated.EmulatedMemory;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.Reference;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What the CUDA backend itself decides, on the emulated device (the op results are the shared op
 * suite's): cuDNN algorithms found once per problem and cached; find never clobbers gradients
 * being accumulated into; the workspace limit chooses the algorithm and sizes the one workspace;
 * close frees it and the backend stays usable; tensors of another backend are refused.
 */
class CudaBackendTest {
    /** As the op suite's convolution tolerance: float sums of C R S <= 48 products against the double reference. */
    private static final double RTOL = 1e-5, ATOL = 1e-5;

    @BeforeAll static void emulationPresent() { Emulation.launcher(); }

    private static CudaBackend backend(EmulatedMemory memory, long workspaceLimit) {
        return new CudaBackend(memory, Emulation.launcher(), new EmulatedBlas(memory), new EmulatedDnn(memory), workspaceLimit);
    }

    @Test
    void findsOncePerProblemAndAccumulatesIntoTheRealGradient() {
        EmulatedMemory memory = new EmulatedMemory();
        CudaBackend b = backend(memory, 1 << 20);
        Shape xs = Shape.of(2, 3, 8, 8), ws = Shape.of(4, 3, 4, 4), ys = Shape.of(2, 4, 4, 4);
        ConvGeometry g = ConvGeometry.of(2, 1);
        float[] x = TestData.uniform(1, xs.intSize(), -1f, 1f), dy = TestData.uniform(2, ys.intSize(), -1f, 1f);
        float[] before = TestData.uniform(3, ws.intSize(), -1f, 1f);
        Tensor tx = b.fromHost(x, xs), tdy = b.fromHost(dy, ys), tdw = b.fromHost(before, ws);
        // the first use of this problem runs find: with accumulate, dw must still be before + gradient
        b.conv2dBackwardFilter(tx, tdy, tdw, g, true);
        float[] expected = before.clone();
        Reference.conv2dBackwardFilter(x, xs, dy, ys, expected, ws, g, true);
        check(expected, tdw.toHost());
        assertEquals(1, b.algorithms().size());
        Dnn.Algo algo = b.algorithms().values().iterator().next();
        assertEquals(EmulatedDnn.IM2COL, algo.id(), "the faster algorithm fits the limit");
        assertEquals(4L * 3 * 4 * 4 * 4 * 4, b.workspaceBytes(), "the workspace is the chosen algorithm's");

        b.conv2dBackwardFilter(tx, tdy, tdw, g, false);
        b.conv2dForward(tx, b.fromHost(TestData.uniform(4, ws.intSize(), -1f, 1f), ws), b.allocate(ys), g);
        assertEquals(2, b.algorithms().size(), "one entry per (direction, shapes, geometry)");
        b.conv2dForward(tx, tdw, b.allocate(ys), g);
        assertEquals(2, b.algorithms().size());

        int live = memory.liveAllocations();
        b.close();
        assertEquals(live - 1, memory.liveAllocations(), "close frees the workspace");
        assertEquals(0, b.algorithms().size());
        b.conv2dForward(tx, tdw, b.allocate(ys), g); // and the backend goes on
        assertEquals(1, b.algorithms().size());
    }

    @Test
    void aWorkspaceLimitOfZeroTakesTheDirectAlgorithm() {
        EmulatedMemory memory = new EmulatedMemory();
        CudaBackend b = backend(memory, 0);
        Shape xs = Shape.of(1, 2, 6, 5), ws = Shape.of(3, 2, 3, 3), ys = Shape.of(1, 3, 3, 3);
        ConvGeometry g = new ConvGeometry(2, 2, 1, 1);
        float[] x = TestData.uniform(5, xs.intSize(), -1f, 1f), w = TestData.uniform(6, ws.intSize(), -1f, 1f);
        Tensor y = b.allocate(ys);
        b.conv2dForward(b.fromHost(x, xs), b.fromHost(w, ws), y, g);
        float[] expected = new float[ys.intSize()];
        Reference.conv2dForward(x, xs, w, ws, expected, ys, g);
        check(expected, y.toHost());
        assertEquals(EmulatedDnn.DIRECT, b.algorithms().values().iterator().next().id());
        assertEquals(0, b.workspaceBytes());
    }

    @Test
    void refusesTensorsOfAnotherBackend() {
        Backend cuda = backend(new EmulatedMemory(), 0), cpu = TestBackends.cpu();
        Tensor mine = cuda.allocate(Shape.of(4)), theirs = cpu.allocate(Shape.of(4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cuda.relu(theirs, mine));
        assertTrue(e.getMessage().startsWith("relu: x (4) belongs to the cpu backend"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> cuda.copy(backend(new EmulatedMemory(), 0).allocate(Shape.of(4)), mine));
    }

    @Test
    void describesItselfAndTimes() {
        CudaBackend b = backend(new EmulatedMemory(), 64L << 20);
        assertTrue(b.describe().startsWith("cuda: emulated: libjgan_emu.so") && b.describe().contains("emulated cuBLAS")
                && b.describe().contains("emulated cuDNN") && b.describe().contains("64 MiB"), b.describe());
        Backend.Timer t = b.timer();
        t.start();
        b.fill(b.allocate(Shape.of(1000)), 1f);
        double ms = t.stopMillis();
        assertTrue(ms >= 0 && ms < 10_000, ms + " ms");
    }

    private static void check(float[] expected, float[] got) {
        for (int i = 0; i < expected.length; i++)
            if (!(Math.abs(got[i] - expected[i]) <= ATOL + RTOL * Math.abs(expected[i])))
                fail("[" + i + "]: expected " + expected[i] + ", got " + got[i]);
    }
}
