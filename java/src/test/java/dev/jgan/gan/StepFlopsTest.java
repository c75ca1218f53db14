package dev.jgan.gan;

import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A step's FLOPs from its calls: each call's count by hand, and whole steps against the counts of benchmarks/'s shape tables. */
class StepFlopsTest {
    @Test
    void eachCallCountsTwoPerMultiplyAdd() {
        assertEquals(2L * 13 * 7 * 5, StepFlops.of("gemm", new Object[] {false, true, 13, 7, 5, 1f, null, null, 0f, null}));
        var b = TestBackends.cpu();
        Tensor x = b.allocate(Shape.of(2, 3, 8, 8)), w = b.allocate(Shape.of(4, 3, 5, 5)), y = b.allocate(Shape.of(2, 4, 4, 4));
        long forward = 2L * (2 * 4 * 4 * 4) * (3 * 5 * 5);   // 2 N K P Q C R S
        assertEquals(forward, StepFlops.of("conv2dForward", new Object[] {x, w, y, null}));
        assertEquals(forward, StepFlops.of("conv2dBackwardData", new Object[] {y, w, x, null}));
        assertEquals(forward, StepFlops.of("conv2dBackwardFilter", new Object[] {x, y, w, null, false}));
        assertEquals(0, StepFlops.of("batchNormTrain", new Object[0]));
    }

    /**
     * mlp-gan at batch 64: 1.01 GFLOP a step by the README's count (benchmarks/'s GemmShape: every
     * Dense layer's forward, dW and dx GEMMs, D's first layer with no dx during D's update).
     */
    @Test
    void mlpGanStepIsTheReadmesCount() {
        long flops = StepFlops.count(TestBackends.cpu(), Presets.get("mlp-gan"), 64);
        assertEquals(1.01e9, flops, 0.01e9, "mlp-gan: " + flops + " FLOPs a step");
    }

    /** The count extended from batches 2 and 4 is the count of a step at the batch itself (exactly: it is affine in the batch). */
    @Test
    void extendedCountIsTheCountedOne() {
        var b = TestBackends.cpu();
        for (String preset : new String[] {"mlp-gan", "dcgan-28"}) {
            Preset p = Presets.get(preset);
            assertEquals(StepFlops.counted(b, p, 24), StepFlops.count(b, p, 24), preset);
        }
    }
}
