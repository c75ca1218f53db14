package dev.jgan.cpu;

import dev.jgan.backend.ConvGeometry;
import dev.jgan.backend.ConvolutionTest;
import dev.jgan.check.Reference;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.check.ConvCases;
import dev.jgan.check.ConvCases.Conv;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static dev.jgan.testing.Approx.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What is specific to the CPU backend's oneDNN convolutions: the primitive cache, threads, close. */
class OneDnnTest {
    final CpuBackend cpu = TestBackends.cpu();

    @Test
    void primitivesAreMadeOncePerOpShapeAndGeometry() {
        OneDnn convs = cpu.oneDnn();
        Tensor x = cpu.allocate(Shape.of(2, 3, 11, 13)), w = cpu.allocate(Shape.of(4, 3, 3, 3));
        Tensor y1 = cpu.allocate(Shape.of(2, 4, 11, 13)), y2 = cpu.allocate(Shape.of(2, 4, 6, 7));
        int before = convs.cached();
        cpu.conv2dForward(x, w, y1, ConvGeometry.of(1, 1));
        assertEquals(before + 1, convs.cached(), "a new shape makes a primitive");
        cpu.conv2dForward(cpu.allocate(x.shape()), cpu.allocate(w.shape()), cpu.allocate(y1.shape()), ConvGeometry.of(1, 1));
        assertEquals(before + 1, convs.cached(), "the same shapes and geometry reuse it, with other tensors");
        cpu.conv2dForward(x, w, y2, ConvGeometry.of(2, 1));
        cpu.conv2dBackwardData(y2, w, x, ConvGeometry.of(2, 1));
        cpu.conv2dBackwardFilter(x, y2, w, ConvGeometry.of(2, 1), false);
        cpu.conv2dBackwardFilter(x, y2, w, ConvGeometry.of(2, 1), true);
        assertEquals(before + 4, convs.cached(), "one per op; accumulate shares the backward-filter primitive");
    }

    /** OpenMP's thread count is per calling thread; each call sets it there, so a fresh thread runs with the backend's. */
    @Test
    void everyCallingThreadUsesTheBackendsThreadCount() throws Exception {
        for (int threads : new int[] {1, 3}) {
            try (OneDnn convs = new OneDnn(threads)) {
                HostStorage x = new HostStorage(1 * 2 * 5 * 5), w = new HostStorage(2 * 2 * 3 * 3), y = new HostStorage(1 * 2 * 5 * 5);
                OneDnn.Key key = new OneDnn.Key(OneDnn.FORWARD, 1, 2, 5, 5, 2, 3, 3, 5, 5, ConvGeometry.of(1, 1));
                AtomicInteger seen = new AtomicInteger();
                AtomicReference<Throwable> failure = new AtomicReference<>();
                Thread t = new Thread(() -> {
                    try {
                        convs.forward(x, w, y, key);
                        seen.set(OneDnn.ompMaxThreads());
                    } catch (Throwable e) {
                        failure.set(e);
                    }
                });
                t.start();
                t.join();
                assertNull(failure.get());
                assertEquals(threads, seen.get(), "omp_get_max_threads on the calling thread after a convolution");
            }
        }
    }

    /** JUnit closes the shared backend after each parameterized invocation: it must keep convolving. */
    @Test
    void closeFreesOneDnnAndTheNextConvolutionStartsAgain() {
        try (CpuBackend be = new CpuBackend(TestBackends.CPU_THREADS)) {
            Shape xs = Shape.of(1, 2, 6, 6), ws = Shape.of(3, 2, 3, 3), ys = Shape.of(1, 3, 6, 6);
            Tensor x = be.fromHost(TestData.uniform(1, xs.intSize(), -1f, 1f), xs), w = be.fromHost(TestData.uniform(2, ws.intSize(), -1f, 1f), ws);
            Tensor y1 = be.allocate(ys), y2 = be.allocate(ys);
            be.conv2dForward(x, w, y1, ConvGeometry.of(1, 1));
            OneDnn first = be.oneDnn();
            be.close();
            be.close(); // twice is harmless
            be.conv2dForward(x, w, y2, ConvGeometry.of(1, 1));
            assertTrue(first != be.oneDnn(), "a new engine after close");
            assertArrayEquals(y1.toHost(), y2.toHost());
        }
    }

    /**
     * oneDNN's first choice for plain layouts nests its reference convolution (~1 GFLOP/s, slower
     * than a plain Java loop); no preset shape may end up on a reference implementation. Dense
     * layers (kernel = image, no padding) run as sgemm and make no primitive.
     */
    @Test
    void noShapeRunsOnAReferenceImplementation() {
        try (CpuBackend be = new CpuBackend(TestBackends.CPU_THREADS)) {
            List<Conv> all = List.of(ConvCases.DCGAN);
            for (Conv cv : all) {
                Tensor x = be.allocate(cv.image()), w = be.allocate(cv.weights()), y = be.allocate(cv.output());
                be.conv2dForward(x, w, y, cv.g());
                be.conv2dBackwardData(y, w, x, cv.g());
                be.conv2dBackwardFilter(x, y, w, cv.g(), false);
            }
            Map<String, String> implementations = be.oneDnn().implementations();
            long dense = all.stream().filter(cv -> cv.r() == cv.h() && cv.s() == cv.w() && cv.g().padH() == 0 && cv.g().padW() == 0).count();
            assertEquals(2, dense, "dcgan-64's first and last layer are dense layers");
            assertEquals(3 * (all.size() - dense), implementations.size(), "one primitive per op and shape; none for dense layers");
            implementations.forEach((what, impl) -> assertFalse(impl.contains("ref"), what + " runs on " + impl));
        }
    }

    /**
     * Wide layers run on oneDNN's blocked-layout kernels (reorders at the edges), 1-channel images
     * on im2col + sgemm over the plain tensors; both paths give the plain path's results within
     * the summation-order tolerance (3 ulp-ish per term, as the reference tests).
     */
    @Test
    void wideLayersUseBlockedLayoutsAndAgreeWithThePlainPath() {
        for (Conv cv : ConvCases.WIDE) {
            try (OneDnn blocked = new OneDnn(TestBackends.CPU_THREADS, true);
                 OneDnn plain = new OneDnn(TestBackends.CPU_THREADS, false)) {
                int p = cv.output().dim(2), q = cv.output().dim(3);
                HostStorage x = storage(1, cv.image()), w = storage(2, cv.weights()), dy = storage(3, cv.output());
                for (int op = 0; op < 3; op++) {
                    OneDnn.Key key = new OneDnn.Key(op, cv.n(), cv.c(), cv.h(), cv.w(), cv.k(), cv.r(), cv.s(), p, q, cv.g());
                    HostStorage[] outs = new HostStorage[2];
                    OneDnn[] both = {blocked, plain};
                    for (int m = 0; m < 2; m++) {
                        switch (op) {
                            case OneDnn.FORWARD -> both[m].forward(x, w, outs[m] = new HostStorage(cv.output().size()), key);
                            case OneDnn.BACKWARD_DATA -> both[m].backwardData(dy, w, outs[m] = new HostStorage(cv.image().size()), key);
                            default -> both[m].backwardFilter(x, dy, outs[m] = new HostStorage(cv.weights().size()), key, false);
                        }
                    }
                    float[] a = outs[0].segment().toArray(ValueLayout.JAVA_FLOAT), b = outs[1].segment().toArray(ValueLayout.JAVA_FLOAT);
                    int terms = op == 0 ? cv.forwardTerms() : op == 1 ? cv.dataTerms() : cv.filterTerms();
                    for (int i = 0; i < a.length; i++)
                        assertTrue(Math.abs(a[i] - b[i]) <= 1e-6 * terms + 1e-5 * Math.abs(b[i]), key.describe() + " [" + i + "]: blocked " + a[i] + ", plain " + b[i]);
                }
                blocked.implementations().forEach((what, impl) -> assertFalse(impl.contains("gemm") || impl.contains("ref"), what + " runs on " + impl));
            }
        }
    }

    /**
     * Every primitive's blocked copies, scratchpad and accumulate scratch share one workspace that
     * grows (and moves) when a larger call comes: interleaved calls of a small, a large and a plain
     * (im2col + sgemm, with a scratchpad) convolution, all three directions and accumulate, twice
     * over, must each match the reference; a memory object left on the old buffer would read freed
     * or another call's memory. Tolerances as ConvolutionTest's (float sums in oneDNN's order).
     */
    @Test
    void interleavedConvolutionsInTheSharedWorkspaceMatchTheReference() {
        Conv small = ConvCases.WIDE[0], large = LARGE, plain = ConvCases.SWEEP[0];
        try (OneDnn convs = new OneDnn(TestBackends.CPU_THREADS)) {
            long afterSmall = 0;
            for (int round = 0; round < 2; round++) {
                for (Conv cv : new Conv[] {small, large, plain}) {
                    matchesReference(convs, cv, round);
                    if (round == 0 && cv == small) afterSmall = convs.bufferBytes();
                }
            }
            assertTrue(afterSmall > 0, "the small convolution runs on blocked copies in the workspace");
            assertTrue(convs.bufferBytes() > afterSmall, "the large one grew (and moved) the workspace: "
                    + afterSmall + " -> " + convs.bufferBytes() + " bytes");
        }
    }

    /** The workspace is the largest need of any one call, not the sum of the primitives'. */
    @Test
    void theWorkspaceIsTheLargestNeedNotTheSum() {
        long[] alone = new long[2];
        Conv[] convsByNeed = {ConvCases.WIDE[0], LARGE};
        for (int i = 0; i < 2; i++) {
            try (OneDnn convs = new OneDnn(TestBackends.CPU_THREADS)) {
                matchesReference(convs, convsByNeed[i], 0);
                alone[i] = convs.bufferBytes();
            }
        }
        try (OneDnn convs = new OneDnn(TestBackends.CPU_THREADS)) {
            for (Conv cv : convsByNeed) matchesReference(convs, cv, 0);
            assertTrue(alone[0] > 0 && alone[1] > alone[0], "needs " + alone[0] + " and " + alone[1] + " bytes");
            assertEquals(Math.max(alone[0], alone[1]), convs.bufferBytes(), "both convolutions, all directions, in one workspace");
        }
    }

    /**
     * This oneDNN build's own (library-mode) scratchpad belongs to the thread that created the
     * primitive (thread-local); a primitive run on a thread that never created one would get none.
     * The scratchpad is the user's, in the workspace, so primitives made on one thread run on
     * another (im2col + sgemm needs a scratchpad; the blocked kernel here too, for backward data).
     */
    @Test
    void primitivesMadeOnOneThreadRunOnAnother() throws Exception {
        try (OneDnn convs = new OneDnn(TestBackends.CPU_THREADS)) {
            for (long seed = 0; seed < 2; seed++) { // the first thread creates the primitives, the second only runs them
                long s = seed;
                AtomicReference<Throwable> failure = new AtomicReference<>();
                Thread t = new Thread(() -> {
                    try {
                        for (Conv cv : new Conv[] {ConvCases.SWEEP[0], LARGE}) matchesReference(convs, cv, s);
                    } catch (Throwable e) {
                        failure.set(e);
                    }
                });
                t.start();
                t.join();
                if (failure.get() != null) throw new AssertionError("on thread " + seed, failure.get());
            }
        }
    }

    /** Wider and larger than the WIDE cases, so that its blocked copies outgrow theirs. */
    private static final Conv LARGE = new Conv("C 32, K 48, 3x3 s1 p1, 12x14", 3, 32, 12, 14, 48, 3, 3, ConvGeometry.of(1, 1));

    /** Runs the three directions and accumulate of {@code cv} on {@code convs}, against Reference; {@code seed} varies the data. */
    private static void matchesReference(OneDnn convs, Conv cv, long seed) {
        Shape is = cv.image(), ws = cv.weights(), os = cv.output();
        OneDnn.Key[] keys = new OneDnn.Key[3];
        for (int op = 0; op < 3; op++)
            keys[op] = new OneDnn.Key(op, cv.n(), cv.c(), cv.h(), cv.w(), cv.k(), cv.r(), cv.s(), os.dim(2), os.dim(3), cv.g());
        float[] x = TestData.uniform(10 * seed + 1, is.intSize(), -1f, 1f), w = TestData.uniform(10 * seed + 2, ws.intSize(), -1f, 1f),
                dy = TestData.uniform(10 * seed + 3, os.intSize(), -1f, 1f), old = TestData.uniform(10 * seed + 4, ws.intSize(), -1f, 1f);
        HostStorage hx = storage(x), hw = storage(w), hdy = storage(dy);

        HostStorage hy = new HostStorage(os.size());
        convs.forward(hx, hw, hy, keys[OneDnn.FORWARD]);
        float[] y = new float[os.intSize()];
        Reference.conv2dForward(x, is, w, ws, y, os, cv.g());
        assertClose("forward " + cv, y, floats(hy), atol(cv.forwardTerms()), ConvolutionTest.RTOL);

        HostStorage hdx = new HostStorage(is.size());
        convs.backwardData(hdy, hw, hdx, keys[OneDnn.BACKWARD_DATA]);
        float[] dx = new float[is.intSize()];
        Reference.conv2dBackwardData(dy, os, w, ws, dx, is, cv.g());
        assertClose("backward data " + cv, dx, floats(hdx), atol(cv.dataTerms()), ConvolutionTest.RTOL);

        HostStorage hdw = new HostStorage(ws.size());
        convs.backwardFilter(hx, hdy, hdw, keys[OneDnn.BACKWARD_FILTER], false);
        float[] dw = new float[ws.intSize()];
        Reference.conv2dBackwardFilter(x, is, dy, os, dw, ws, cv.g(), false);
        assertClose("backward filter (=) " + cv, dw, floats(hdw), atol(cv.filterTerms()), ConvolutionTest.RTOL);

        HostStorage acc = storage(old);
        convs.backwardFilter(hx, hdy, acc, keys[OneDnn.BACKWARD_FILTER], true);
        float[] sum = new float[dw.length]; // the reference's (+=) is old + the (=) sum, rounded once
        for (int i = 0; i < dw.length; i++) sum[i] = (float) (old[i] + (double) dw[i]);
        assertClose("backward filter (+=) " + cv, sum, floats(acc), atol(cv.filterTerms()), ConvolutionTest.RTOL);
    }

    private static double atol(int terms) { return ConvolutionTest.ATOL_PER_TERM * terms; }

    private static float[] floats(HostStorage h) { return h.segment().toArray(ValueLayout.JAVA_FLOAT); }

    private static HostStorage storage(float[] v) {
        HostStorage h = new HostStorage(v.length);
        MemorySegment.copy(v, 0, h.segment(), ValueLayout.JAVA_FLOAT, 0, v.length);
        return h;
    }

    private static HostStorage storage(long seed, Shape s) {
        HostStorage h = new HostStorage(s.size());
        float[] v = TestData.uniform(seed, s.intSize(), -1f, 1f);
        MemorySegment.copy(v, 0, h.segment(), ValueLayout.JAVA_FLOAT, 0, v.length);
        return h;
    }

    @Test
    void reportsTheOneDnnVersion() {
        assertTrue(CpuBackend.oneDnnVersion().startsWith("oneDNN 3.8."), CpuBackend.oneDnnVersion());
    }
}
