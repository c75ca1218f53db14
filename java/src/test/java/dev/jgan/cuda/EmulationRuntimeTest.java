package dev.jgan.cuda;

import dev.jgan.cuda.emulated.EmulatedLauncher;
import dev.jgan.testing.Reference;
import dev.jgan.testing.TestData;
import dev.jgan.tensor.Shape;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static dev.jgan.testing.Approx.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The emulation is real: its kernel table is Kernels', wrong arguments are refused, a thread
 * order reversal changes nothing in correct kernels, and the same kernels compiled with every
 * __syncthreads() removed give wrong results, so a missing barrier cannot pass.
 */
class EmulationRuntimeTest {
    static final double SUM_ATOL = 1e-5, SUM_RTOL = 1e-6;

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

        /** Runs and compares with the reference; throws AssertionError when wrong. */
        void check(Kernels k, boolean expectCorrect);
    }

    static List<Reduction> reductions() {
        List<Reduction> out = new ArrayList<>();
        for (Shape shape : List.of(Shape.of(3, 4, 1000), Shape.of(64, 70))) {
            String layout = shape.rank() == 2 ? "(N, C) tile" : "per channel";
            out.add(new Reduction() {
                public String name() { return "bias gradient, " + layout; }

                public void check(Kernels k, boolean expectCorrect) {
                    int size = shape.intSize(), c = shape.dim(1);
                    float[] dy = TestData.uniform(1, size, 0.5f, 1.5f), expected = new float[c];
                    Emulation.Buffer bdy = Emulation.Buffer.of(dy), bdb = new Emulation.Buffer(c);
                    k.biasBackward(bdy.address(), bdb.address(), shape.dim(0), c, shape.spatial(), false);
                    Reference.biasGrad(dy, shape, expected, false);
                    assertClose(name(), expected, bdb.get(), SUM_ATOL, SUM_RTOL);
                }
            });
            out.add(new Reduction() {
                public String name() { return "batch norm statistics, " + layout; }

                public void check(Kernels k, boolean expectCorrect) {
                    int size = shape.intSize(), c = shape.dim(1);
                    float[] x = TestData.normal(2, size, 3.0, 2.0), ones = new float[c], zeros = new float[c];
                    java.util.Arrays.fill(ones, 1f);
                    float[] y = new float[size], sm = new float[c], si = new float[c], rm = zeros.clone(), rv = ones.clone();
                    Emulation.Buffer bsm = new Emulation.Buffer(c), bsi = new Emulation.Buffer(c);
                    k.batchNormForward(Emulation.Buffer.of(x).address(), Emulation.Buffer.of(ones).address(),
                            Emulation.Buffer.of(zeros).address(), Emulation.Buffer.of(zeros).address(),
                            Emulation.Buffer.of(ones).address(), 0.1f, 1e-5f, new Emulation.Buffer(size).address(),
                            bsm.address(), bsi.address(), shape.dim(0), c, shape.spatial());
                    Reference.batchNormTrain(x, shape, ones, zeros, rm, rv, 0.1f, 1e-5f, y, sm, si);
                    assertClose(name() + ": mean", sm, bsm.get(), SUM_ATOL, SUM_RTOL);
                    assertClose(name() + ": invStd", si, bsi.get(), SUM_ATOL, SUM_RTOL);
                }
            });
        }
        out.add(new Reduction() {
            public String name() { return "BCE statistics"; }

            public void check(Kernels k, boolean expectCorrect) {
                int n = 1000;
                float[] logits = TestData.uniform(3, n, 0.5f, 4f), d = new float[n], stats = new float[3];
                Emulation.Buffer bs = new Emulation.Buffer(3);
                k.bceWithLogits(Emulation.Buffer.of(logits).address(), 0L, 1f, 1f, new Emulation.Buffer(n).address(),
                        bs.address(), 0, n);
                Reference.bceWithLogits(logits, null, 1f, 1f, d, stats, 0);
                assertClose(name(), stats, bs.get(), 1e-6, 1e-5);
            }
        });
        return out;
    }

    @Test
    void reductionsCoverEveryReducingKernelFamily() {
        Set<String> names = new TreeSet<>();
        for (Reduction r : reductions()) names.add(r.name());
        assertEquals(5, names.size(), names.toString());
    }
}
