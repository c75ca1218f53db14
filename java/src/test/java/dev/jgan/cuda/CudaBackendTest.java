package dev.jgan.cuda;

import dev.jgan.backend.AlgorithmChoice;
import dev.jgan.backend.Backend;
import dev.jgan.backend.ConvGeometry;
import dev.jgan.cuda.emulated.EmulatedBlas;
import dev.jgan.cuda.emulated.EmulatedDnn;
import dev.jgan.cuda.emulated.EmulatedMemory;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.check.Reference;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What the CUDA backend itself decides, on the emulated device (the op results are the shared op
 * suite's): cuDNN algorithms found once per problem and cached; find never clobbers gradients
 * being accumulated into; the workspace limit chooses the algorithm and sizes the one workspace;
 * close frees it and the backend stays usable; tensors of another backend are refused;
 * non-deterministic algorithms only when allowed; choices exported and handed back without find.
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

    /**
     * The emulated cuDNN with its faster algorithm (im2col, found first) reported as
     * non-deterministic, as cuDNN reports its atomics-based backward algorithms; counts finds.
     */
    private static final class NondeterministicIm2col implements Dnn {
        final EmulatedDnn inner;
        final List<Problem> finds = new ArrayList<>();

        NondeterministicIm2col(EmulatedMemory memory) { inner = new EmulatedDnn(memory); }

        @Override public String describe() { return inner.describe(); }
        @Override public int algorithmCount(Direction d) { return inner.algorithmCount(d); }
        @Override public long workspaceSize(Problem p, int algo) { return inner.workspaceSize(p, algo); }

        @Override public List<Algo> find(Problem p, long x, long w, long y, long workspace, long workspaceBytes) {
            finds.add(p);
            return inner.find(p, x, w, y, workspace, workspaceBytes).stream()
                    .map(a -> new Algo(a.id(), a.name(), a.workspaceBytes(), a.millis(), a.id() != EmulatedDnn.IM2COL)).toList();
        }

        @Override public void forward(float alpha, TensorDesc xd, long x, FilterDesc wd, long w, ConvDesc c, int algo, long ws, long wsb,
                                      float beta, TensorDesc yd, long y) { inner.forward(alpha, xd, x, wd, w, c, algo, ws, wsb, beta, yd, y); }

        @Override public void backwardData(float alpha, FilterDesc wd, long w, TensorDesc dyd, long dy, ConvDesc c, int algo, long ws,
                                           long wsb, float beta, TensorDesc dxd, long dx) {
            inner.backwardData(alpha, wd, w, dyd, dy, c, algo, ws, wsb, beta, dxd, dx);
        }

        @Override public void backwardFilter(float alpha, TensorDesc xd, long x, TensorDesc dyd, long dy, ConvDesc c, int algo, long ws,
                                             long wsb, float beta, FilterDesc dwd, long dw) {
            inner.backwardFilter(alpha, xd, x, dyd, dy, c, algo, ws, wsb, beta, dwd, dw);
        }
    }

    private static CudaBackend backend(EmulatedMemory memory, Dnn dnn, boolean nondeterministicAllowed) {
        return new CudaBackend(memory, Emulation.launcher(), new EmulatedBlas(memory), dnn, 1 << 20, nondeterministicAllowed);
    }

    @Test
    void choosesOnlyDeterministicAlgorithmsUnlessAllowed() {
        Shape xs = Shape.of(2, 3, 8, 8), ws = Shape.of(4, 3, 4, 4), ys = Shape.of(2, 4, 4, 4);
        ConvGeometry g = ConvGeometry.of(2, 1);
        for (boolean allowed : new boolean[] {false, true}) {
            EmulatedMemory memory = new EmulatedMemory();
            CudaBackend b = backend(memory, new NondeterministicIm2col(memory), allowed);
            b.conv2dForward(b.fromHost(TestData.uniform(1, xs.intSize(), -1f, 1f), xs),
                    b.fromHost(TestData.uniform(2, ws.intSize(), -1f, 1f), ws), b.allocate(ys), g);
            Dnn.Algo a = b.algorithms().values().iterator().next();
            assertEquals(allowed ? EmulatedDnn.IM2COL : EmulatedDnn.DIRECT, a.id(),
                    allowed ? "the fastest, allowed" : "the fastest deterministic one, not the faster non-deterministic one");
            assertEquals(!allowed, a.deterministic());
            assertEquals(allowed, b.describe().contains("non-deterministic algorithms allowed"), b.describe());
        }
        Dnn.Problem p = new Dnn.Problem(Dnn.Direction.FORWARD, new Dnn.TensorDesc(1, 1, 4, 4), new Dnn.FilterDesc(1, 1, 3, 3),
                new Dnn.ConvDesc(0, 0, 1, 1, 1, 1), new Dnn.TensorDesc(1, 1, 2, 2));
        List<Dnn.Algo> onlyFast = List.of(new Dnn.Algo(1, "fast", 0, 1f, false));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> CudaBackend.choose(p, onlyFast, 0, false));
        assertTrue(e.getMessage().contains("no deterministic algorithm") && e.getMessage().contains("--cudnn-nondeterministic"), e.getMessage());
        assertEquals(onlyFast.get(0), CudaBackend.choose(p, onlyFast, 0, true));
        e = assertThrows(IllegalStateException.class, () -> CudaBackend.choose(p, List.of(new Dnn.Algo(1, "big", 100, 1f, true)), 99, true));
        assertTrue(e.getMessage().contains("--workspace-mb") && !e.getMessage().contains("deterministic"), e.getMessage());
    }

    @Test
    void exportedChoicesAreUsedByAnotherBackendWithoutFind() {
        Shape xs = Shape.of(2, 3, 8, 8), ws = Shape.of(4, 3, 4, 4), ys = Shape.of(2, 4, 4, 4);
        ConvGeometry g = ConvGeometry.of(2, 1);
        float[] x = TestData.uniform(1, xs.intSize(), -1f, 1f), w = TestData.uniform(2, ws.intSize(), -1f, 1f),
                dy = TestData.uniform(3, ys.intSize(), -1f, 1f);
        EmulatedMemory m1 = new EmulatedMemory();
        NondeterministicIm2col d1 = new NondeterministicIm2col(m1);
        CudaBackend first = backend(m1, d1, true);
        Tensor y1 = first.allocate(ys), dw1 = first.allocate(ws);
        first.conv2dForward(first.fromHost(x, xs), first.fromHost(w, ws), y1, g);
        first.conv2dBackwardFilter(first.fromHost(x, xs), first.fromHost(dy, ys), dw1, g, false);
        List<AlgorithmChoice> saved = first.algorithmChoices();
        assertEquals(2, saved.size());
        assertEquals(2, d1.finds.size());
        for (AlgorithmChoice c : saved) {
            assertEquals(EmulatedDnn.IM2COL, c.id());
            assertFalse(c.deterministic());
            assertEquals("im2col+gemm", c.name());
        }
        assertTrue(saved.get(0).problem().compareTo(saved.get(1).problem()) < 0, "in a stable order: " + saved);

        // a second backend (a resumed run) takes them back: the same algorithms, no find, the same bits
        EmulatedMemory m2 = new EmulatedMemory();
        NondeterministicIm2col d2 = new NondeterministicIm2col(m2);
        CudaBackend second = backend(m2, d2, true);
        second.useAlgorithmChoices(saved);
        assertEquals(saved, second.algorithmChoices(), "choices not yet met are exported as they came");
        Tensor y2 = second.allocate(ys), dw2 = second.allocate(ws);
        second.conv2dForward(second.fromHost(x, xs), second.fromHost(w, ws), y2, g);
        second.conv2dBackwardFilter(second.fromHost(x, xs), second.fromHost(dy, ys), dw2, g, false);
        assertEquals(List.of(), d2.finds, "no find for a problem with a saved choice");
        assertEquals(saved, second.algorithmChoices());
        assertEquals(4L * 3 * 4 * 4 * 4 * 4, second.workspaceBytes(), "the workspace grows to the saved algorithm's");
        check(y1.toHost(), y2.toHost());
        check(dw1.toHost(), dw2.toHost());

        // the choices say non-deterministic: a backend that allows only deterministic ones refuses them, naming the flag
        EmulatedMemory m3 = new EmulatedMemory();
        CudaBackend strict = backend(m3, new NondeterministicIm2col(m3), false);
        strict.useAlgorithmChoices(saved);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> strict.conv2dForward(strict.fromHost(x, xs), strict.fromHost(w, ws), strict.allocate(ys), g));
        assertTrue(e.getMessage().contains("non-deterministic") && e.getMessage().contains("--cudnn-nondeterministic"), e.getMessage());
        // an algorithm id this device does not have
        EmulatedMemory m4 = new EmulatedMemory();
        CudaBackend other = backend(m4, new EmulatedDnn(m4), true);
        other.useAlgorithmChoices(List.of(new AlgorithmChoice(saved.get(0).problem(), 7, "CUDNN_X", 0, true)));
        Dnn.Direction d = saved.get(0).problem().startsWith("forward") ? Dnn.Direction.FORWARD : Dnn.Direction.BACKWARD_FILTER;
        e = assertThrows(IllegalStateException.class, () -> {
            if (d == Dnn.Direction.FORWARD) other.conv2dForward(other.fromHost(x, xs), other.fromHost(w, ws), other.allocate(ys), g);
            else other.conv2dBackwardFilter(other.fromHost(x, xs), other.fromHost(dy, ys), other.allocate(ws), g, false);
        });
        assertTrue(e.getMessage().contains("CUDNN_X") && e.getMessage().contains("is not an algorithm"), e.getMessage());
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
