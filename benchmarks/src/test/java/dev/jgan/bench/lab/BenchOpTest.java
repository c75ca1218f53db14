package dev.jgan.bench.lab;

import dev.jgan.lab.LabOp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;
import org.openjdk.jmh.annotations.Param;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The op table of {@code gan kernels bench}: its benchmarks take a variant, its calls are theirs, its bytes models. */
class BenchOpTest {
    static final List<BenchOp> OPS = BenchOp.ALL;

    @ParameterizedTest
    @FieldSource("OPS")
    void theBenchmarkTakesTheVariantAndOffersTheTablesCalls(BenchOp op) throws Exception {
        Param variant = op.benchmark().getField("variant").getAnnotation(Param.class);
        assertArrayEquals(new String[] {"baseline"}, variant.value(), op.benchmark().getSimpleName() + "'s variant @Param");
        assertEquals(Set.copyOf(op.benchmarkCalls()), op.calls().keySet(), "every call of " + op.benchmark().getSimpleName() + " has a bytes model, and no other");
        assertTrue(!op.shapes().isEmpty());
        for (String s : op.shapes()) assertTrue(BenchOp.elements(s) > 0, s);
        assertTrue(op.benchmark().getName().matches(op.includePattern().replace("\\.run$", "").replace("^", "")));
    }

    @Test
    void bytesAndFlopsPerCallAreTheCompulsoryTraffic() {
        BenchOp bn = BenchOp.of(LabOp.BATCH_NORM);
        assertEquals(8.0 * 64 * 256, bn.bytesPerCall("train", "64x256"), "BN train: read x, write y");
        assertEquals(12.0 * 64 * 128 * 7 * 7, bn.bytesPerCall("backward", "64x128x7x7"), "BN backward: read x and dy, write dx");
        assertEquals(8.0 * 64 * 512 * 4 * 4, bn.bytesPerCall("infer", "64x512x4x4"));
        assertEquals(7.0 * 64 * 256, bn.flopsPerCall("train", "64x256"));
        BenchOp dropout = BenchOp.of(LabOp.DROPOUT);
        assertEquals(12.0 * 64 * 64 * 14 * 14, dropout.bytesPerCall("forward", "64x64x14x14"), "dropout forward: read x, write mask and y");
        assertEquals(0, BenchOp.of(LabOp.ACTIVATIONS).flopsPerCall("tanh", "64x1024"), "a transcendental's flops are not modelled");
        assertEquals(4.0 * 64 * 512, BenchOp.of(LabOp.BIAS).bytesPerCall("biasGrad", "64x512"));
    }

    @Test
    void badShapesCallsAndOpsAreOneLine() {
        assertThrows(IllegalArgumentException.class, () -> BenchOp.elements("64x0"));
        assertThrows(IllegalArgumentException.class, () -> BenchOp.elements("64by3"));
        assertThrows(IllegalArgumentException.class, () -> BenchOp.elements("64xx"));
        assertThrows(IllegalArgumentException.class, () -> BenchOp.elements("64"), "(N, C) at least");
        IllegalArgumentException call = assertThrows(IllegalArgumentException.class, () -> BenchOp.of(LabOp.BATCH_NORM).traffic("forward"));
        assertTrue(call.getMessage().contains("train, backward, infer"), call.getMessage());
        IllegalArgumentException op = assertThrows(IllegalArgumentException.class, () -> BenchOp.of(LabOp.GEMM));
        assertTrue(op.getMessage().contains("gemm") && op.getMessage().contains("batch_norm"), op.getMessage());
    }
}
