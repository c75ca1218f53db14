package dev.jgan.gan;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.backend.DiffAugment;
import dev.jgan.random.Philox;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The trainer's DiffAugment chain: the policy flag, the draws from the noise stream, and the backward as the chain's adjoint. */
class AugmentationTest {
    /** Both sides sum the same products of a 0/1 selection in another order, in double: ~1e-16 of the terms. */
    private static final double ADJOINT_RTOL = 1e-12;

    @Test
    void policiesParseInTheirOrderAndBadOnesAreOneLine() {
        assertEquals(List.of(), Augmentation.policy("none"));
        assertEquals(List.of(DiffAugment.COLOR, DiffAugment.TRANSLATION, DiffAugment.CUTOUT), Augmentation.policy("color,translation,cutout"));
        assertEquals(List.of(DiffAugment.CUTOUT, DiffAugment.TRANSLATION), Augmentation.policy("cutout, translation"));
        for (String bad : List.of("", "translation,", "colour", "none,cutout", "cutout,cutout")) {
            UserError e = assertThrows(UserError.class, () -> Augmentation.policy(bad), bad);
            assertTrue(e.getMessage().startsWith("--diffaugment: ") && !e.getMessage().contains("\n"), e.getMessage());
        }
    }

    /**
     * translation then cutout, and back: <aug(x), v> = <x, aug.backward(v)> holds only if the
     * backward runs the transforms in reverse with the forward's own numbers; each forward draws
     * ceil(N k / 4) Philox blocks per transform from the stream, and the next forward draws others.
     */
    @Test
    void backwardIsTheAdjointOfTheLastForwardAndDrawsAdvanceTheStream() {
        Backend b = TestBackends.cpu();
        Shape s = Shape.of(5, 3, 8, 8);
        Augmentation aug = new Augmentation(b, List.of(DiffAugment.TRANSLATION, DiffAugment.CUTOUT), s);
        float[] x = TestData.uniform(1, s.intSize(), -1f, 1f), v = TestData.uniform(2, s.intSize(), -1f, 1f);
        RngStream noise = new RngStream(99, 0);
        Tensor tx = b.fromHost(x, s);
        float[] ax = aug.forward(tx, noise).toHost();
        assertEquals(2 * Philox.blocks(5 * 2), noise.offset(), "two transforms of 5 x 2 numbers each");
        float[] atv = aug.backward(b.fromHost(v, s)).toHost();
        double left = 0, right = 0, scale = 0;
        for (int i = 0; i < x.length; i++) {
            left += (double) ax[i] * v[i];
            right += (double) x[i] * atv[i];
            scale += Math.abs((double) x[i] * v[i]);
        }
        assertEquals(left, right, ADJOINT_RTOL * scale, "<aug(x), v> = <x, aug^T v>");
        assertFalse(java.util.Arrays.equals(ax, aug.forward(tx, noise).toHost()), "the next batch is augmented with other numbers");
    }
}
