package dev.jgan.backend;

import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.check.Reference;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static dev.jgan.testing.Approx.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** BCE with logits: pinned values at the extremes, then the reference over sizes, targets and stats slots. */
class BceTest {
    /** One ulp of a float near 1: the pinned values that are not exact. */
    static final double ULP1 = Math.ulp(1f);
    /** Loss terms of order 1-30 computed in float (exp, log1p within ~1 ulp), summed in double. */
    static final double LOSS_RTOL = 1e-6, LOSS_ATOL = 1e-6;
    /** sigmoid(l) - t in float: sigmoid within a few ulps of 1, so about 4e-7 absolute, scaled by gradScale / N. */
    static final double GRAD_ABS_PER_SCALE = 4e-7, GRAD_RTOL = 1e-6;

    /** Lengths 1 and 21 (the second runs the vector body and a scalar tail on the CPU). */
    static Stream<Arguments> pinnedCases() {
        return TestBackends.withSizes(1, 21);
    }

    record Pin(float logit, float target, float loss, float sigmoid, double lossTol) {}

    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("pinnedCases")
    void pinnedExtremes(Backend be, int n) {
        float ln2 = (float) Math.log(2);
        Pin[] pins = {
                new Pin(1e4f, 1f, 0f, 1f, 0),          // confidently right: loss exactly 0, gradient exactly 0
                new Pin(-1e4f, 1f, 1e4f, 0f, 0),       // confidently wrong: loss exactly 1e4, gradient exactly -1/N
                new Pin(1e4f, 0f, 1e4f, 1f, 0),
                new Pin(-1e4f, 0f, 0f, 0f, 0),
                new Pin(0f, 1f, ln2, 0.5f, ULP1),      // ln 2 to within an ulp
                new Pin(0f, 0f, ln2, 0.5f, ULP1),
                new Pin(0f, 0.9f, ln2, 0.5f, ULP1),
                // label smoothing: 1e4 - 0.9 * 1e4 rounds in float by at most half an ulp of 9000 (4.9e-4)
                new Pin(1e4f, 0.9f, 1000f, 1f, 5e-4),
                new Pin(-1e4f, 0.9f, 9000f, 0f, 5e-4),
        };
        for (Pin p : pins) {
            float[] logits = new float[n];
            Arrays.fill(logits, p.logit);
            Tensor tl = be.fromHost(logits, Shape.of(n, 1)), td = be.allocate(Shape.of(n, 1)), stats = be.allocate(Shape.of(3));
            be.bceWithLogits(tl, null, p.target, 1f, td, stats, 0);
            float[] s = stats.toHost(), d = td.toHost();
            String what = "logit " + p.logit + " target " + p.target + " n " + n;
            assertEquals(p.loss, s[0], p.lossTol, what + ": loss");
            assertEquals(p.sigmoid, s[1], ULP1, what + ": mean sigmoid");
            assertEquals(p.logit > 0 ? 1f : 0f, s[2], what + ": fraction > 0");
            float grad = (float) ((p.sigmoid - (double) p.target) / n);
            for (float g : d) assertEquals(grad, g, Math.abs(grad) * 2 * ULP1 + 1e-8, what + ": gradient");
            if (Math.abs(p.logit) == 1e4f && (p.target == 0f || p.target == 1f)) {
                if (p.sigmoid == p.target) for (float g : d) assertEquals(0f, g, what + ": gradient exactly 0");
                assertTrue(Float.isFinite(s[0]), what);
            }
        }
    }

    static Stream<Arguments> sizes() {
        return TestBackends.all().flatMap(be -> IntStream.of(1, 13, 64, 207, 702, 1024, 65537)
                .mapToObj(n -> Arguments.of(Named.of(be.name(), be), n)));
    }

    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("sizes")
    void matchesReference(Backend be, int n) {
        float[] logits = TestData.uniform(n, n, -20f, 20f);
        float[] perElement = TestData.uniform(n + 1, n, 0f, 1f);
        Tensor tl = be.fromHost(logits, Shape.of(n)), tt = be.fromHost(perElement, Shape.of(n)), td = be.allocate(Shape.of(n));
        Tensor stats = be.allocate(Shape.of(7));
        float[] sentinel = {-7f, -7f, -7f, -7f, -7f, -7f, -7f};
        for (float target : new float[] {1f, 0f, 0.9f, Float.NaN}) {
            for (float gradScale : new float[] {1f, -2.5f}) {
                for (int slot : new int[] {0, 3, 4}) {
                    float[] targets = Float.isNaN(target) ? perElement : null;
                    String what = (targets != null ? "per-element targets" : "target " + target)
                            + ", gradScale " + gradScale + ", slot " + slot + ": ";
                    float[] expected = sentinel.clone(), d = new float[n];
                    Reference.bceWithLogits(logits, targets, target, gradScale, d, expected, slot);
                    be.copyFromHost(sentinel, stats);
                    be.bceWithLogits(tl, targets != null ? tt : null, target, gradScale, td, stats, slot);
                    assertClose(what + "dLogits", d, td.toHost(), GRAD_ABS_PER_SCALE * Math.abs(gradScale) / n, GRAD_RTOL);
                    float[] s = stats.toHost();
                    assertClose(what + "mean loss", expected[slot], s[slot], LOSS_ATOL, LOSS_RTOL);
                    assertClose(what + "mean sigmoid", expected[slot + 1], s[slot + 1], 1e-6, 1e-6);
                    assertEquals(expected[slot + 2], s[slot + 2], what + "fraction > 0");
                    for (int i = 0; i < 7; i++)
                        if (i < slot || i > slot + 2) assertEquals(-7f, s[i], what + "stats[" + i + "] must be left alone");
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void rejectsBadArguments(Backend be) {
        Tensor l = be.allocate(Shape.of(8, 1)), d = be.allocate(Shape.of(8)), stats = be.allocate(Shape.of(4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.bceWithLogits(l, null, 1f, 1f, d, stats, 2));
        assertTrue(e.getMessage().contains("bceWithLogits") && e.getMessage().contains("slot 2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> be.bceWithLogits(l, be.allocate(Shape.of(7)), 1f, 1f, d, stats, 0));
        assertThrows(IllegalArgumentException.class, () -> be.bceWithLogits(l, null, 1f, 1f, be.allocate(Shape.of(9)), stats, 0));
    }
}
