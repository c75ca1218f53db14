package dev.jgan.cuda;

import dev.jgan.backend.Backend;
import dev.jgan.check.Comparison;
import dev.jgan.check.StepEquivalence;
import dev.jgan.cuda.emulated.EmulatedDevice;
import dev.jgan.cuda.emulated.EmulatedLauncher;
import dev.jgan.cuda.gpu.VirtualGpu;
import dev.jgan.gan.Presets;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Whole training steps on the CUDA backend match the CPU backend's, and (in the virtual-GPU JVM,
 * where the CUDA backend runs over the real adapters) the emulated device's: the comparison and
 * its argued tolerances are {@link StepEquivalence}'s, the same code {@code gan check} runs. The
 * CPU and CUDA backends share no arithmetic code: GEMMs are oneDNN's row-major sgemm vs the
 * column-major translation through the BLAS port, convolutions oneDNN vs the DNN port (im2col +
 * a host sgemm), everything else Vector API loops vs kernels/*.cu compiled for the host.
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

    /** What {@code gan check} compares: the device under test against the emulated device (no oneDNN needed). */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mlp-gan", "dcgan-28", "dcgan-64"})
    void oneStepMatchesTheEmulatedDevice(String name) {
        Backend cuda = cuda();
        if (cuda == null) return;
        assumeTrue(VirtualGpu.requested(), "the CUDA backend of this JVM is the emulated device itself; the virtual-GPU JVM compares the real adapters with it");
        if (EmulatedLauncher.bundledLibrary().isEmpty()) {
            Emulation.unavailable("the host emulation library was not built");
            return;
        }
        try (Backend emulated = EmulatedDevice.open(TestBackends.CUDA_WORKSPACE_LIMIT)) {
            Comparison c = StepEquivalence.compare(emulated, cuda, Presets.get(name), StepEquivalence.BATCH);
            assertTrue(c.passed(), name + " vs the emulated device: " + c.detail());
        }
    }

    private static Backend cuda() {
        Backend cuda = TestBackends.all().filter(b -> b.name().equals("cuda")).findFirst().orElse(null);
        if (cuda == null) Emulation.unavailable("the CUDA backend is not present here: " + String.join("; ", TestBackends.absent().toList()));
        return cuda;
    }
}
