package dev.jgan.lab.cpu;

import dev.jgan.backend.Backend;
import dev.jgan.check.CheckResult;
import dev.jgan.check.OpSuite;
import dev.jgan.check.PresetOps;
import dev.jgan.check.Reference;
import dev.jgan.check.SelfCheck;
import dev.jgan.gan.Presets;
import dev.jgan.lab.KernelLab;
import dev.jgan.lab.LabOp;
import dev.jgan.lab.Variant;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;

import static dev.jgan.testing.Approx.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * dropout:mul32-pairs draws production's mask bit for bit: the op checks of dropout (the quick set
 * and dcgan-28's calls, the only preset with dropout) on the variant, then the mask and y against
 * {@link Reference#dropoutForward} at awkward sizes (a single element, sizes that end in the scalar
 * tail, dcgan-28's first dropout at batch 64), several seeds and block offsets (0, odd, one where
 * the 64-bit block counter carries into its high word inside the call, one above 2^32) and rates.
 */
class DropoutMul32PairsTest {
    static final int[] SIZES = {1, 13, 207, 1025, 64 * 64 * 14 * 14};
    static final long[] OFFSETS = {0, 3, (1L << 32) - 2, (1L << 32) + 5};
    static final long[] SEEDS = {0, 11, 0x0123456789abcdefL, -1L};
    static final float[] RATES = {0f, 0.3f, 0.5f, 0.999f};

    static Backend variant() {
        Variant v = KernelLab.find("dropout:mul32-pairs", Variant.Device.CPU).getFirst();
        return v.on(TestBackends.cpu());
    }

    /** The op cases that call a dropout op: the quick set's and dcgan-28's (recorded on production). */
    static Stream<OpSuite.Case> opCases() {
        List<OpSuite.Case> all = new ArrayList<>(OpSuite.quick());
        all.addAll(PresetOps.cases(TestBackends.cpu(), Presets.get("dcgan-28"), SelfCheck.OP_BATCH));
        List<OpSuite.Case> out = all.stream().filter(c -> !Collections.disjoint(c.ops(), LabOp.DROPOUT.calls())).toList();
        assertTrue(out.size() >= OpSuite.quick().stream().filter(c -> c.ops().contains("dropoutForward")).count() + 1,
                "the quick set's dropout cases and dcgan-28's: " + out);
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("opCases")
    void opCasePasses(OpSuite.Case c) {
        CheckResult r = c.run(variant());
        assertTrue(r.passed(), c + ": " + r.detail() + " (error " + r.error() + ")");
    }

    @Test
    void maskAndOutputAreTheReferenceBitForBit() {
        Backend b = variant();
        for (int n : SIZES) {
            float[] x = TestData.uniform(n, n, -2f, 2f);
            Shape s = Shape.of(n);
            Tensor tx = b.fromHost(x, s), tm = b.allocate(s), ty = b.allocate(s);
            for (long offset : OFFSETS)
                for (long seed : SEEDS)
                    for (float p : n > 1025 ? new float[] {0.3f} : RATES) {
                        float[] mask = new float[n], y = new float[n];
                        b.fill(tm, Float.NaN);
                        b.fill(ty, Float.NaN);
                        b.dropoutForward(tx, tm, ty, p, seed, offset);
                        Reference.dropoutForward(x, mask, y, p, seed, offset);
                        String what = "n " + n + " p " + p + " seed " + seed + " offset " + offset;
                        assertSameBits("mask " + what, mask, tm.toHost());
                        assertSameBits("y " + what, y, ty.toHost());
                    }
        }
    }

    /** y may be x (in place), as on production. */
    @Test
    void inPlaceOutputIsTheReference() {
        Backend b = variant();
        int n = 1025;
        float[] x = TestData.uniform(5, n, -1f, 1f), mask = new float[n], y = new float[n];
        Tensor tx = b.fromHost(x, Shape.of(n)), tm = b.allocate(Shape.of(n));
        b.dropoutForward(tx, tm, tx, 0.3f, 7L, 9L);
        Reference.dropoutForward(x, mask, y, 0.3f, 7L, 9L);
        assertSameBits("mask", mask, tm.toHost());
        assertSameBits("y (in place)", y, tx.toHost());
    }

    @Test
    void argumentsAreCheckedAsProductionChecksThem() {
        Backend b = variant();
        Tensor x = b.allocate(Shape.of(8)), m = b.allocate(Shape.of(8));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> b.dropoutForward(x, m, x, 1f, 0, 0));
        assertTrue(e.getMessage().contains("p must be in [0, 1)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> b.dropoutForward(x, x, m, 0.3f, 0, 0));
        assertTrue(e.getMessage().contains("must not share memory"), e.getMessage());
    }

    /**
     * Once C2 has compiled it, a call allocates nothing: a vector that C2 did not intrinsify would
     * be boxed on the heap and run many times slower (see dev.jgan.cpu.Vec). Waits for the compile
     * (rounds of calls until one allocates nothing), failing only if none does within the bound.
     */
    @Test
    void warmForwardAllocatesNothing() {
        assumeTrue(DropoutMul32Pairs.VECTOR, "long vectors of " + DropoutMul32Pairs.CHUNK / 4
                + " lanes here: the variant hands the call to production's scalar path");
        Backend b = variant();
        int n = 4096;
        Tensor x = b.fromHost(TestData.uniform(3, n, -1f, 1f), Shape.of(n)), m = b.allocate(Shape.of(n)), y = b.allocate(Shape.of(n));
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long bytes = -1;
        for (int round = 0; round < 200 && bytes != 0; round++) {
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 200; i++) b.dropoutForward(x, m, y, 0.3f, 1L, i);
            bytes = threads.getCurrentThreadAllocatedBytes() - before;
        }
        assertEquals(0, bytes, "bytes allocated by 200 warm calls");
    }
}
