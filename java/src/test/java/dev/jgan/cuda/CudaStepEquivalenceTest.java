package dev.jgan.cuda;

import dev.jgan.backend.Backend;
import dev.jgan.check.Comparison;
import dev.jgan.check.StepEquivalence;
import dev.jgan.gan.Presets;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whole training steps on the CUDA backend (the emulated device, or in the virtual-GPU JVM the real
 * adapters) match the CPU backend's: the comparison and its argued tolerances are
 * {@link StepEquivalence}'s, the same code {@code gan check} runs against the emulated device
 * (VirtualGpuCheckTest runs that on the virtual GPU). The CPU and CUDA backends share no
 * arithmetic code: GEMMs are oneDNN's row-major sgemm vs the column-major translation through the
 * BLAS port, convolutions oneDNN vs the DNN port (im2col + a host sgemm), everything else Vector
 * API loops vs kernels/*.cu compiled for the host.
 */
class CudaStepEquivalenceTest {
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mlp-gan", "dcgan-28", "dcgan-64"})
    void oneStepMatchesTheCpu(String name) {
        Backend cuda = cuda();
        if (cuda == null) return;
        Comparison c = StepEquivalence.compare(TestBackends.cpu(), cuda, Presets.get(name), StepEquivalence.BATCH);
        assertTrue(c.passed(), name + " vs the CPU: " + c.detail());
    }

    private static Backend cuda() {
        Backend cuda = TestBackends.all().filter(b -> b.name().equals("cuda")).findFirst().orElse(null);
        if (cuda == null) Emulation.unavailable("the CUDA backend is not present here: " + String.join("; ", TestBackends.absent().toList()));
        return cuda;
    }
}
