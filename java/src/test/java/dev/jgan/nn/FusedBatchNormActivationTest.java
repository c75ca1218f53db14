package dev.jgan.nn;

import dev.jgan.backend.Backend;
import dev.jgan.nn.Activation.LeakyReLU;
import dev.jgan.nn.Activation.ReLU;
import dev.jgan.nn.Activation.Tanh;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import dev.jgan.cpu.CpuBackend;
import java.util.List;
import java.util.function.Supplier;

import static dev.jgan.testing.Approx.assertClose;
import static dev.jgan.testing.Approx.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Sequential's fusion of BatchNorm + ReLU/LeakyReLU: the fused network computes what the two
 * layers compute apart (each in a Sequential of its own, which cannot fuse), in training and
 * inference, forward and backward, and names its parameters and buffers as before.
 */
class FusedBatchNormActivationTest {
    /**
     * CPU: the fused op is the unfused passes, so the bits are the same. CUDA: the fused kernel
     * recomputes z in the forward's float operations, but its sums of dz may be ordered differently:
     * a few roundings of gradients of order 1.
     */
    static final double ATOL = 1e-5, RTOL = 1e-5;

    static void check(Backend be, Supplier<Activation> act, Shape in) {
        int c = in.dim(1);
        Sequential fused = new Sequential("g", List.of(new BatchNorm(c, 0.1f, 1e-5f), act.get()))
                .build(be, in, Init.DCGAN_NORMAL, new RngStream(3, 0));
        Sequential bn = new Sequential("g", List.of(new BatchNorm(c, 0.1f, 1e-5f))).build(be, in, Init.DCGAN_NORMAL, new RngStream(3, 0));
        Sequential a = new Sequential("a", List.of(act.get())).build(be, in, Init.DCGAN_NORMAL, new RngStream(3, 0));
        assertEquals(List.of("g.0.weight", "g.0.bias"), fused.parameters().stream().map(Parameter::name).toList());
        assertEquals(List.of("g.0.running_mean", "g.0.running_var"), List.copyOf(fused.buffers().keySet()));

        int n = in.intSize();
        Tensor x = be.fromHost(TestData.normal(5, n, 0.5, 2), in), dy = be.fromHost(TestData.uniform(6, n, -1f, 1f), in);
        for (int step = 0; step < 2; step++) { // the second step runs with updated running statistics
            float[] yf = fused.forward(x, true).toHost(), yu = a.forward(bn.forward(x, true), true).toHost();
            float[] dxf = fused.backward(dy, GradMode.WRITE, true).toHost();
            float[] dxu = bn.backward(a.backward(dy, GradMode.WRITE, true), GradMode.WRITE, true).toHost();
            compare(be, "y (train)", yu, yf);
            compare(be, "dx", dxu, dxf);
            for (int p = 0; p < 2; p++)
                compare(be, fused.parameters().get(p).name() + " grad", bn.parameters().get(p).grad().toHost(),
                        fused.parameters().get(p).grad().toHost());
            compare(be, "running_var", bn.buffers().get("g.0.running_var").toHost(), fused.buffers().get("g.0.running_var").toHost());
        }
        compare(be, "y (infer)", a.forward(bn.forward(x, false), false).toHost(), fused.forward(x, false).toHost());
    }

    static void compare(Backend be, String what, float[] expected, float[] actual) {
        if (be instanceof CpuBackend) assertSameBits(what, expected, actual);
        else assertClose(what, expected, actual, ATOL, RTOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void fusedMatchesTheLayersApart(Backend be) {
        check(be, () -> new LeakyReLU(0.2f), Shape.of(6, 5, 3, 3));
        check(be, ReLU::new, Shape.of(6, 5, 3, 3));
        check(be, () -> new LeakyReLU(0.2f), Shape.of(9, 7));
        check(be, ReLU::new, Shape.of(9, 7));
        check(be, Tanh::new, Shape.of(9, 7)); // not fused: the same by construction
    }
}
