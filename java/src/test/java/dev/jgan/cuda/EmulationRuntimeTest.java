package dev.jgan.cuda;

import dev.jgan.cuda.emulated.EmulatedLauncher;
import dev.jgan.tensor.Shape;
import dev.jgan.backend.CriticLoss;
import dev.jgan.backend.DiffAugment;
import dev.jgan.check.OpSuite;
import dev.jgan.check.Reference;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

import static dev.jgan.testing.Approx.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The emulation is real: its kernel table is Kernels', wrong arguments are refused, a thread
 * order reversal changes nothing in correct kernels, and the same kernels compiled with every
 * __syncthreads() removed give wrong results, so a missing barrier cannot pass. The reducing
 * kernels are read from kernels/*.cu ({@link KernelSources}), not listed by hand.
 */
class EmulationRuntimeTest {
    static final double SUM_ATOL = 1e-5, SUM_RTOL = 1e-6;
    /** Batch norm gradient sums over up to 4000 terms of order 1 in double, dx from float operations on them (as EmulatedBatchNormTest). */
    static final double BN_GRAD_ATOL = 1e-4, BN_GRAD_RTOL = 1e-5;
    static final float MOMENTUM = 0.1f, EPS = 1e-5f, SLOPE = 0.2f;

    @Test
    void libraryHasExactlyTheKernelsThatKernelsLaunches() {
        assertEquals(new TreeSet<>(Kernels.NAMES), new TreeSet<>(Emulation.launcher().kernels().keySet()));
    }

    @Test
    void wrongArgumentsAreRefusedBeforeTheKernelRuns() {
        EmulatedLauncher l = Emulation.launcher();
        Emulation.Buffer b = new Emulation.Buffer(4);
        KernelArgs intCount = KernelArgs.builder().pointer(b.address()).pointer(b.address()).i32(4).build();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> l.launch("relu_forward", Dim3.of(1), Dim3.of(32), 0, intCount));
        assertTrue(e.getMessage().contains("relu_forward takes arguments (ppl) but was given (ppi)"), e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> l.launch("no_such_kernel", Dim3.of(1), Dim3.of(32), 0, intCount));
        assertTrue(e.getMessage().contains("no kernel named no_such_kernel"), e.getMessage());
        KernelArgs ok = KernelArgs.builder().pointer(b.address()).pointer(b.address()).i64(4).build();
        e = assertThrows(IllegalStateException.class, () -> l.launch("relu_forward", Dim3.of(1), Dim3.of(2048), 0, ok));
        assertTrue(e.getMessage().contains("more than 1024 threads"), e.getMessage());
    }

    /** Correct kernels do not depend on the order in which a block's threads run between barriers. */
    @Test
    void reductionsAgreeUnderEitherThreadOrder() {
        EmulatedLauncher l = Emulation.launcher();
        try {
            for (EmulatedLauncher.Schedule s : EmulatedLauncher.Schedule.values()) {
                l.configure(0, s);
                for (Reduction r : reductions()) r.check(Emulation.kernels(), true);
            }
        } finally {
            l.configure(0, EmulatedLauncher.Schedule.ASCENDING);
        }
    }

    /**
     * The barrier-removal test: libjgan_emu_nosync.so is kernels/*.cu built with __syncthreads()
     * defined away. Every block reduction then reads partial sums before the other warps wrote
     * them, and its result is wrong; the emulation does not pass it by luck.
     */
    @Test
    void removingTheBarriersGivesWrongResults() {
        Path nosync = Emulation.buildDir().resolve("libjgan_emu_nosync.so");
        if (!Files.isRegularFile(nosync))
            Emulation.unavailable("the barrier-free emulation library " + nosync + " was not built ("
                    + Emulation.missingTools("cmake", "g++") + ")");
        Kernels broken = new Kernels(EmulatedLauncher.load(nosync));
        List<String> passed = new ArrayList<>();
        for (Reduction r : reductions()) {
            try {
                r.check(broken, false);
                passed.add(r.name());
            } catch (AssertionError expected) {
                // the race was caught: a wrong result
            }
        }
        if (!passed.isEmpty()) fail("without __syncthreads these reductions still gave the right result: " + passed);
    }

    /** A reduction kernel, run on inputs where every partial sum matters. */
    interface Reduction {
        String name();

        /** The kernels (kernels/*.cu names) this check launches and whose results it compares. */
        Set<String> kernels();

        /** Runs and compares with the reference; throws AssertionError when wrong. */
        void check(Kernels k, boolean expectCorrect);
    }

    /** A reduction of one kernel. */
    record Check(String name, String kernel, Consumer<Kernels> body) implements Reduction {
        public Set<String> kernels() { return Set.of(kernel); }

        public void check(Kernels k, boolean expectCorrect) { body.accept(k); }
    }

    /** The batch norm kernels' variants: plain, fused with ReLU, fused with LeakyReLU. */
    enum Fused {
        NONE("batch_norm"), RELU("batch_norm_relu"), LEAKY_RELU("batch_norm_leaky_relu");

        final String kernel;

        Fused(String kernel) { this.kernel = kernel; }

        /** dy of the fused output to dz of the batch norm's, the activation's mask from z (the batch norm's output). */
        float[] dz(float[] z, float[] dy) {
            float[] dz = new float[z.length];
            switch (this) {
                case NONE -> System.arraycopy(dy, 0, dz, 0, dy.length);
                case RELU -> Reference.reluBackward(z, dy, dz);
                case LEAKY_RELU -> Reference.leakyReluBackward(z, dy, dz, SLOPE);
            }
            return dz;
        }
    }

    static List<Reduction> reductions() {
        List<Reduction> out = new ArrayList<>();
        for (Shape shape : List.of(Shape.of(3, 4, 1000), Shape.of(64, 70))) {
            boolean tile = shape.rank() == 2;
            String layout = tile ? "(N, C) tile" : "per channel", nc = tile ? "_nc" : "";
            int size = shape.intSize(), n = shape.dim(0), c = shape.dim(1), s = shape.spatial();
            out.add(new Check("bias gradient, " + layout, "bias" + nc + "_backward", k -> {
                float[] dy = TestData.uniform(1, size, 0.5f, 1.5f), expected = new float[c];
                Emulation.Buffer bdy = Emulation.Buffer.of(dy), bdb = new Emulation.Buffer(c);
                k.biasBackward(bdy.address(), bdb.address(), n, c, s, false);
                Reference.biasGrad(dy, shape, expected, false);
                assertClose("bias gradient, " + layout, expected, bdb.get(), SUM_ATOL, SUM_RTOL);
            }));
            for (Fused f : Fused.values()) {
                String what = f.kernel + ", " + layout;
                float[] x = TestData.normal(2, size, 3.0, 2.0), gamma = TestData.uniform(4, c, 0.5f, 1.5f);
                float[] beta = TestData.uniform(5, c, -0.5f, 0.5f), dy = TestData.uniform(6, size, 0.5f, 1.5f);
                float[] z = new float[size], sm = new float[c], si = new float[c], rm = new float[c], rv = new float[c];
                Arrays.fill(rv, 1f);
                Reference.batchNormTrain(x, shape, gamma, beta, rm, rv, MOMENTUM, EPS, z, sm, si);
                out.add(new Check("statistics of " + what, f.kernel + nc + "_forward", k -> {
                    Emulation.Buffer bsm = new Emulation.Buffer(c), bsi = new Emulation.Buffer(c);
                    long bx = Emulation.Buffer.of(x).address(), bg = Emulation.Buffer.of(gamma).address();
                    long bb = Emulation.Buffer.of(beta).address(), brm = new Emulation.Buffer(c).address();
                    float[] ones = new float[c];
                    Arrays.fill(ones, 1f);
                    long brv = Emulation.Buffer.of(ones).address(), by = new Emulation.Buffer(size).address();
                    switch (f) {
                        case NONE -> k.batchNormForward(bx, bg, bb, brm, brv, MOMENTUM, EPS, by, bsm.address(), bsi.address(), n, c, s);
                        case RELU -> k.batchNormReluForward(bx, bg, bb, brm, brv, MOMENTUM, EPS, by, bsm.address(), bsi.address(), n, c, s);
                        case LEAKY_RELU -> k.batchNormLeakyReluForward(bx, bg, bb, brm, brv, MOMENTUM, EPS, SLOPE, by, bsm.address(),
                                bsi.address(), n, c, s);
                    }
                    assertClose("statistics of " + what + ": mean", sm, bsm.get(), SUM_ATOL, SUM_RTOL);
                    assertClose("statistics of " + what + ": invStd", si, bsi.get(), SUM_ATOL, SUM_RTOL);
                }));
                out.add(new Check("gradient sums of " + what, f.kernel + nc + "_backward", k -> {
                    // from the reference's statistics, so that only this kernel's sums are under test
                    float[] dx = new float[size], dGamma = new float[c], dBeta = new float[c];
                    Reference.batchNormBackward(x, shape, f.dz(z, dy), gamma, sm, si, dx, dGamma, dBeta, false);
                    long bx = Emulation.Buffer.of(x).address(), bdy = Emulation.Buffer.of(dy).address();
                    long bg = Emulation.Buffer.of(gamma).address(), bb = Emulation.Buffer.of(beta).address();
                    long bsm = Emulation.Buffer.of(sm).address(), bsi = Emulation.Buffer.of(si).address();
                    Emulation.Buffer bdx = new Emulation.Buffer(size), bdg = new Emulation.Buffer(c), bdb = new Emulation.Buffer(c);
                    switch (f) {
                        case NONE -> k.batchNormBackward(bx, bdy, bg, bsm, bsi, bdx.address(), bdg.address(), bdb.address(), false, n, c, s);
                        case RELU -> k.batchNormReluBackward(bx, bdy, bg, bb, bsm, bsi, bdx.address(), bdg.address(), bdb.address(),
                                false, n, c, s);
                        case LEAKY_RELU -> k.batchNormLeakyReluBackward(bx, bdy, bg, bb, SLOPE, bsm, bsi, bdx.address(), bdg.address(),
                                bdb.address(), false, n, c, s);
                    }
                    assertClose("gradient sums of " + what + ": dGamma", dGamma, bdg.get(), BN_GRAD_ATOL, BN_GRAD_RTOL);
                    assertClose("gradient sums of " + what + ": dBeta", dBeta, bdb.get(), BN_GRAD_ATOL, BN_GRAD_RTOL);
                    assertClose("gradient sums of " + what + ": dx", dx, bdx.get(), BN_GRAD_ATOL, BN_GRAD_RTOL);
                }));
            }
        }
        out.add(new Check("BCE statistics", "bce_with_logits_forward", k -> {
            int n = 1000;
            float[] logits = TestData.uniform(3, n, 0.5f, 4f), d = new float[n], stats = new float[3];
            Emulation.Buffer bs = new Emulation.Buffer(3);
            k.bceWithLogits(Emulation.Buffer.of(logits).address(), 0L, 1f, 1f, new Emulation.Buffer(n).address(), bs.address(), 0, n);
            Reference.bceWithLogits(logits, null, 1f, 1f, d, stats, 0);
            assertClose("BCE statistics", stats, bs.get(), 1e-6, 1e-5);
        }));
        out.add(new Check("critic loss statistics", "critic_loss_forward", k -> {
            int n = 1000;   // least squares against 0 on outputs in [0.5, 4]: every term and score positive
            float[] logits = TestData.uniform(5, n, 0.5f, 4f), d = new float[n], stats = new float[3];
            Emulation.Buffer bs = new Emulation.Buffer(3);
            k.criticLoss(CriticLoss.SQUARED.code(), Emulation.Buffer.of(logits).address(), 0f, 1f, new Emulation.Buffer(n).address(),
                    bs.address(), 0, n);
            Reference.criticLoss(CriticLoss.SQUARED, logits, 0f, 1f, d, stats, 0);
            assertClose("critic loss statistics", stats, bs.get(), 1e-6, 1e-5);
        }));
        out.add(new Check("spectral norm M v", "spectral_norm_wv_forward", k -> {
            int rows = 3, cols = 1000;   // positive w and v: every partial sum of a row adds
            float[] w = TestData.uniform(8, rows * cols, 0.5f, 1.5f), u = TestData.uniform(9, rows, 0.5f, 1.5f);
            float[] v = TestData.uniform(10, cols, 0.5f, 1.5f);
            Emulation.Buffer work = new Emulation.Buffer(2 + rows);
            k.spectralNorm(Emulation.Buffer.of(w).address(), Emulation.Buffer.of(u).address(), Emulation.Buffer.of(v).address(),
                    false, new Emulation.Buffer(w.length).address(), work.address(), rows, 1, cols);
            float[] mv = new float[rows], got = Arrays.copyOfRange(work.get(), 2, 2 + rows);
            for (int r = 0; r < rows; r++) {
                double s = 0;
                for (int c = 0; c < cols; c++) s += (double) w[r * cols + c] * v[c];
                mv[r] = (float) s;
            }
            assertClose("spectral norm M v", mv, got, 1e-6, 1e-5);
        }));
        out.add(new Check("spectral norm g . wsn", "spectral_norm_dot_forward", k -> {
            int rows = 1, cols = 1000;
            float[] g = TestData.uniform(11, cols, 0.5f, 1.5f), wsn = TestData.uniform(12, cols, 0.5f, 1.5f);
            float[] u = {1f}, v = TestData.uniform(13, cols, 0.5f, 1.5f);
            Emulation.Buffer work = new Emulation.Buffer(2 + rows);
            double expected = 0;
            for (int i = 0; i < cols; i++) expected += (double) g[i] * wsn[i];
            k.spectralNormBackward(Emulation.Buffer.of(g).address(), Emulation.Buffer.of(wsn).address(), Emulation.Buffer.of(u).address(),
                    Emulation.Buffer.of(v).address(), work.address(), new Emulation.Buffer(cols).address(), false, rows, 1, cols);
            assertClose("spectral norm g . wsn", new float[] {(float) expected}, new float[] {work.get()[1]}, 1e-6, 1e-5);
        }));
        for (boolean backward : new boolean[] {false, true}) {
            String kernel = backward ? "diff_augment_color_backward" : "diff_augment_color_forward";
            out.add(new Check("DiffAugment colour " + (backward ? "backward" : "forward"), kernel, k -> {
                // values in [0.5, 1.5] and contrast 0.6 (r_c = 0.1): every warp's share of the mean moves y (dx)
                Shape shape = Shape.of(2, 3, 32, 32);
                int size = shape.intSize();
                float[] x = TestData.uniform(8, size, 0.5f, 1.5f), params = {0.7f, 0.3f, 0.1f, 0.2f, 0.9f, 0.05f}, y = new float[size];
                Emulation.Buffer by = new Emulation.Buffer(size);
                k.diffAugmentColor(backward, Emulation.Buffer.of(x).address(), Emulation.Buffer.of(params).address(), by.address(), 2, 3, 32, 32);
                if (backward) Reference.diffAugmentBackward(DiffAugment.COLOR, x, shape, params, y);
                else Reference.diffAugment(DiffAugment.COLOR, x, shape, params, y);
                assertClose("DiffAugment colour", y, by.get(), OpSuite.AUGMENT_COLOR_ATOL, OpSuite.AUGMENT_COLOR_RTOL);
            }));
        }
        out.add(new Check("softmax cross-entropy statistics", "softmax_cross_entropy_forward", k -> {
            int n = 700, classes = 10;
            float[] logits = TestData.uniform(7, n * classes, -3f, 3f), labels = new float[n], d = new float[n * classes];
            for (int i = 0; i < n; i++) labels[i] = (i * 7) % classes;
            float[] stats = new float[2];
            Emulation.Buffer bs = new Emulation.Buffer(2);
            k.softmaxCrossEntropy(Emulation.Buffer.of(logits).address(), Emulation.Buffer.of(labels).address(), 1f,
                    new Emulation.Buffer(n * classes).address(), bs.address(), 0, n, classes);
            Reference.softmaxCrossEntropy(logits, n, classes, labels, 1f, d, stats, 0);
            assertClose("softmax cross-entropy statistics", stats, bs.get(), 1e-6, 1e-5);
        }));
        return out;
    }

    /**
     * Every kernel in kernels/*.cu that synchronises a block (calls __syncthreads or a helper that
     * does, as the sources say) has a reduction here, so the barrier-removal test covers it: a new
     * reducing kernel fails this until it has one.
     */
    @Test
    void reductionsCoverEveryReducingKernel() {
        Set<String> syncing = KernelSources.synchronisingKernels(), covered = new TreeSet<>();
        for (Reduction r : reductions()) covered.addAll(r.kernels());
        assertTrue(syncing.contains("bias_backward") && syncing.contains("softmax_cross_entropy_forward"),
                "the source scan finds known reducing kernels: " + syncing);
        Set<String> missing = new TreeSet<>(syncing);
        missing.removeAll(covered);
        assertTrue(missing.isEmpty(), "reducing kernels without a reduction in reductions(): " + missing);
        Set<String> extra = new TreeSet<>(covered);
        extra.removeAll(syncing);
        assertTrue(extra.isEmpty(), "reductions() names kernels that do not synchronise (or do not exist): " + extra);
    }

    /** The scan follows helpers through any depth and ignores comments and kernels that do not synchronise. */
    @Test
    void sourceScanFollowsHelpers() {
        String src = """
                template <typename T> __device__ __forceinline__ T block_sum(T v) { __syncthreads(); return v; }
                __device__ float row_total(const float* r) { return block_sum<float>(r[0]); }
                __device__ float plain(float v) { return v; }  // not __syncthreads()
                extern "C" __global__ void a_forward(float* x) { x[0] = row_total(x); }
                extern "C" __global__ void b_forward(float* x) { x[0] = plain(x[0]); /* __syncthreads(); */ }
                extern "C" __global__ void c_backward(float* x) { if (x) { __syncthreads(); } }
                """;
        assertEquals(Set.of("a_forward", "c_backward"), KernelSources.synchronisingKernels(src));
    }
}
