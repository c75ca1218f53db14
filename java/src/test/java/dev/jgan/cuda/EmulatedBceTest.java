package dev.jgan.cuda;

import dev.jgan.backend.Backend;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.check.Reference;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.IntStream;

import static dev.jgan.testing.Approx.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** BCE with logits through Kernels and the emulation: loss, gradient and the three statistics. */
class EmulatedBceTest {
    /** Mean loss and mean sigmoid: terms from expf/log1pf (a few ulp) summed in double. */
    static final double STAT_ATOL = 1e-6, STAT_RTOL = 1e-5;
    /** Gradients: (sigmoid - t) * k in float, sigmoid within a few ulp. */
    static final double GRAD_ATOL = 1e-9, GRAD_RTOL = 1e-5;
    static final int SLOT = 3;

    static IntStream sizes() { return IntStream.of(TestData.AWKWARD_SIZES); }

    @ParameterizedTest(name = "n={0}")
    @MethodSource("sizes")
    void matchesReferenceAndCpu(int n) {
        Kernels k = Emulation.kernels();
        Backend cpu = TestBackends.cpu();
        float[] logits = TestData.uniform(n, n, -8f, 8f), targets = TestData.uniform(n + 1, n, 0f, 1f);
        for (boolean perElement : new boolean[] {false, true}) {
            String what = perElement ? "targets[]" : "target 0.9";
            float[] dLogits = new float[n], stats = new float[SLOT + 3];
            Reference.bceWithLogits(logits, perElement ? targets : null, 0.9f, 2f, dLogits, stats, SLOT);
            Emulation.Buffer bl = Emulation.Buffer.of(logits), bt = Emulation.Buffer.of(targets), bd = new Emulation.Buffer(n),
                    bs = new Emulation.Buffer(SLOT + 3);
            k.bceWithLogits(bl.address(), perElement ? bt.address() : 0L, 0.9f, 2f, bd.address(), bs.address(), SLOT, n);
            float[] got = bs.get();
            assertClose(what + " dLogits", dLogits, bd.get(), GRAD_ATOL, GRAD_RTOL);
            assertClose(what + " mean loss", stats[SLOT], got[SLOT], STAT_ATOL, STAT_RTOL);
            assertClose(what + " mean sigmoid", stats[SLOT + 1], got[SLOT + 1], STAT_ATOL, STAT_RTOL);
            assertEquals(stats[SLOT + 2], got[SLOT + 2], what + " fraction of positive logits");
            assertEquals(0f, got[0], "slots before `slot` are untouched");

            Tensor tl = cpu.fromHost(logits, Shape.of(n)), td = cpu.allocate(Shape.of(n)), ts = cpu.allocate(Shape.of(SLOT + 3));
            cpu.bceWithLogits(tl, perElement ? cpu.fromHost(targets, Shape.of(n)) : null, 0.9f, 2f, td, ts, SLOT);
            assertClose(what + " dLogits vs cpu", td.toHost(), bd.get(), GRAD_ATOL, GRAD_RTOL);
            assertClose(what + " mean loss vs cpu", ts.toHost()[SLOT], got[SLOT], STAT_ATOL, STAT_RTOL);
        }
    }

    /** Logits of +-1e4: loss exactly 0 or 1e4 per element, gradient exactly 0 or +-1/N, no NaN. */
    @Test
    void extremeLogits() {
        Kernels k = Emulation.kernels();
        float[] logits = {1e4f, -1e4f, 1e4f, -1e4f};
        Emulation.Buffer bl = Emulation.Buffer.of(logits), bd = new Emulation.Buffer(4), bs = new Emulation.Buffer(3);
        k.bceWithLogits(bl.address(), 0L, 1f, 1f, bd.address(), bs.address(), 0, 4);
        float[] stats = bs.get(), d = bd.get();
        assertEquals(5000f, stats[0], "mean of 0, 1e4, 0, 1e4");
        assertEquals(0.5f, stats[1]);
        assertEquals(0.5f, stats[2]);
        assertEquals(0f, d[0]);
        assertEquals(-0.25f, d[1]);

        k.bceWithLogits(bl.address(), 0L, 0f, 1f, bd.address(), bs.address(), 0, 4);
        stats = bs.get();
        d = bd.get();
        assertEquals(5000f, stats[0]);
        assertEquals(0.25f, d[0]);
        assertEquals(0f, d[1]);
    }
}
