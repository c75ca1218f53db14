package dev.jgan.lab;

import dev.jgan.backend.Backend;
import dev.jgan.check.OpSuite;
import dev.jgan.check.VariantCheck;
import dev.jgan.cpu.HostStorage;
import dev.jgan.lab.Variant.Device;
import dev.jgan.lab.Variant.Status;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docs/kernel-lab.md's walkthrough, with variants that are wrong on purpose: the lab's check must
 * fail a dropout that leaves the last elements unwritten (a vector loop without its scalar tail)
 * and one that writes nothing, and must pass the baseline on the same cases. Both are declared as
 * a newcomer declares one (a Variant over a ForwardingBackend), not registered.
 */
class WrongVariantsTest {
    /** The vector width the wrong variant's loop pretends to have: it writes whole chunks of 16 and skips the rest. */
    static final int CHUNK = 16;

    /** Does the op right into scratch tensors, then copies only whole chunks of CHUNK into the outputs. */
    static final class SkipsTheTail extends ForwardingBackend {
        SkipsTheTail(Backend base) { super(base); }

        @Override public void dropoutForward(Tensor x, Tensor mask, Tensor y, float p, long seed, long offset) {
            Tensor m = base.allocate(mask.shape()), out = base.allocate(y.shape());
            base.dropoutForward(x, m, out, p, seed, offset);
            long whole = x.size() - x.size() % CHUNK;
            MemorySegment.copy(segment(m), 0, segment(mask), 0, whole * Float.BYTES);
            MemorySegment.copy(segment(out), 0, segment(y), 0, whole * Float.BYTES);
        }
    }

    /** Returns at once: its outputs hold whatever the memory held. */
    static final class WritesNothing extends ForwardingBackend {
        WritesNothing(Backend base) { super(base); }

        @Override public void dropoutForward(Tensor x, Tensor mask, Tensor y, float p, long seed, long offset) {}
    }

    private static MemorySegment segment(Tensor t) { return ((HostStorage) t.storage()).segment(); }

    private static Variant variant(String name, UnaryOperator<Backend> install) {
        return new Variant(LabOp.DROPOUT, name, Device.CPU, Status.EXPERIMENT, "WrongVariantsTest.java", "wrong on purpose", 12, 0,
                List.of(), install);
    }

    private static List<VariantCheck.Row> check(Variant v) {
        List<OpSuite.Case> cases = VariantCheck.cases(LabOp.DROPOUT, true, TestBackends.cpu());
        return VariantCheck.run(v, TestBackends.cpu(), "cpu", cases, r -> {});
    }

    @Test
    void theBaselinePassesTheCasesTheWrongOnesFail() {
        List<VariantCheck.Row> rows = check(KernelLab.find("dropout:baseline", Device.CPU).getFirst());
        for (VariantCheck.Row r : rows) assertTrue(r.passed(), r.name() + " " + r.shape() + ": " + r.detail());
    }

    @Test
    void aVariantThatSkipsTheTailFailsWhereThereIsATail() {
        for (VariantCheck.Row r : check(variant("skips-tail", SkipsTheTail::new))) {
            long n = Long.parseLong(r.shape().replaceAll("[()]", ""));
            if (n % CHUNK == 0) continue;
            assertFalse(r.passed(), "skips-tail passed " + r.name() + " " + r.shape());
            // the tail kept a sentinel: NaN under the first, -7777.25 under the second
            assertTrue(r.nonFinite() > 0, r.shape() + ": the NaN sentinel was not seen in the outputs");
        }
    }

    @Test
    void aVariantThatWritesNothingFailsEveryCase() {
        for (VariantCheck.Row r : check(variant("writes-nothing", WritesNothing::new))) {
            assertFalse(r.passed(), "writes-nothing passed " + r.name() + " " + r.shape());
            assertTrue(r.detail().contains("NaN"), r.shape() + ": the first failure should be the NaN sentinel, was " + r.detail());
        }
    }
}
