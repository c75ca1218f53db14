package dev.jgan.check;

import dev.jgan.backend.Backend;
import dev.jgan.gan.Presets;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The harness finds faults, and the presets' cases come from the presets' own calls. */
class SelfCheckTest {
    /**
     * A backend with two deliberate mistakes, each the size of a real bug: GEMM's alpha off by one
     * part in a thousand (a lost scale), and LeakyReLU's backward with the slope of its forward
     * squared. Exactly the cases of those ops fail; the others still pass.
     */
    @Test
    void aWrongBackendFailsExactlyItsCases() {
        Backend cpu = TestBackends.cpu();
        InvocationHandler h = (proxy, m, args) -> {
            if (m.isDefault()) return InvocationHandler.invokeDefault(proxy, m, args);
            if (m.getName().equals("gemm")) args[5] = (Float) args[5] * 1.001f;
            if (m.getName().equals("leakyReluBackward")) args[3] = (Float) args[3] * (Float) args[3];
            try {
                return m.invoke(cpu, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        Backend wrong = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, h);
        for (OpSuite.Case c : OpSuite.quick()) {
            if (c.name().startsWith("memory")) continue;
            CheckResult r = c.run(wrong);
            boolean broken = c.ops().contains("gemm") || c.ops().contains("leakyReluBackward");
            // a 1x1x1 product of two values below 1 moves by less than the GEMM tolerance; every larger one fails
            if (c.name().startsWith("gemm") && c.shape().equals("m 1 n 1 k 1")) continue;
            assertEquals(!broken, r.passed(), c + ": " + r.detail());
            if (broken) assertTrue(r.error() > r.tolerance(), c + ": the table shows the error above its tolerance");
        }
    }

    /** A case whose backend throws is a failed row carrying the message, not an aborted check. */
    @Test
    void aThrowingOpIsAFailedRow() {
        Backend cpu = TestBackends.cpu();
        Backend broken = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, m, args) -> {
            if (m.getName().equals("softmax")) throw new IllegalStateException("softmax: CUDA_ERROR_LAUNCH_FAILED");
            if (m.isDefault()) return InvocationHandler.invokeDefault(proxy, m, args);
            return m.invoke(cpu, args);
        });
        CheckResult r = OpSuite.softmax(13, 10).run(broken);
        assertFalse(r.passed());
        assertTrue(r.detail().contains("CUDA_ERROR_LAUNCH_FAILED"), r.detail());
    }

    /**
     * The presets' cases, recorded from one step: dcgan-64's 4x4 stride-2 convolutions and its
     * fused batch norm + ReLU (slope 0) at the presets' channel counts, dcgan-28's dropout and
     * transposed 5x5 convolutions, mlp-gan's GEMMs, and Adam over each network's parameters.
     */
    @Test
    void presetCasesAreThePresetsCalls() {
        List<OpSuite.Case> cases = SelfCheck.presetCases(TestBackends.cpu(), SelfCheck.PRESETS.stream().map(Presets::get).toList());
        Set<String> names = cases.stream().map(OpSuite.Case::toString).collect(Collectors.toSet());
        assertTrue(names.contains("dcgan-64 conv 4x4 s2 p1 (16, 64, 32, 32) * (128, 64, 4, 4) -> (16, 128, 16, 16)"), names.toString());
        assertTrue(names.contains("dcgan-64 conv 4x4 s1 p0 (16, 512, 4, 4) * (1, 512, 4, 4) -> (16, 1, 1, 1)"), names.toString());
        assertTrue(names.stream().anyMatch(n -> n.startsWith("dcgan-64 batchNorm+leakyRelu 0.0 m 0.1 eps 1.0E-5")), names.toString());
        assertTrue(names.stream().anyMatch(n -> n.startsWith("dcgan-28 dropout p 0.3")), names.toString());
        assertTrue(names.contains("dcgan-28 conv 5x5 s2 p2 (16, 64, 14, 14) * (128, 64, 5, 5) -> (16, 128, 7, 7)"), names.toString());
        assertTrue(names.contains("mlp-gan gemm NT m 16 n 256 k 100"), names.toString());   // the first Dense: x (N, 100) times W (256, 100) transposed
        assertTrue(names.stream().anyMatch(n -> n.startsWith("mlp-gan adam")), names.toString());
        assertEquals(cases.size(), cases.stream().map(c -> c.name().replaceFirst("^\\S+ ", "") + c.shape()).distinct().count(),
                "each distinct call once");
    }
}
