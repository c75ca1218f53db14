package dev.jgan.lab;

import dev.jgan.backend.Backend;
import dev.jgan.check.OpSuite;
import dev.jgan.check.VariantCheck;
import dev.jgan.cuda.emulated.EmulatedDevice;
import dev.jgan.lab.Variant.Device;
import dev.jgan.lab.Variant.Status;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `gan kernels check` on every registered variant, as CI's promise: each lab variant at every case
 * of its op (the presets' calls included), each baseline at the quick set and the lab's extra
 * shapes; CPU variants on the CPU backend, CUDA ones on the emulated device (the virtual GPU's
 * JVMs run the CUDA variants' own tests).
 */
class KernelLabCheckTest {
    private static final Map<String, List<OpSuite.Case>> CASES = new ConcurrentHashMap<>();
    private static Backend emulated;

    static Stream<Arguments> variants() {
        return KernelLab.variants().stream().map(v -> Arguments.of(Named.of(v.id() + " (" + v.device().id() + ")", v)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void passesTheLabCheck(Variant v) {
        boolean quick = v.status() == Status.BASELINE;
        List<OpSuite.Case> cases = CASES.computeIfAbsent(v.op() + " " + quick, k -> VariantCheck.cases(v.op(), quick, TestBackends.cpu()));
        Backend b = v.device() == Device.CPU ? TestBackends.cpu() : emulated();
        for (VariantCheck.Row r : VariantCheck.run(v, b, v.device().id(), cases, x -> {}))
            assertTrue(r.passed(), v + " " + r.name() + " " + r.shape() + ": " + r.detail());
    }

    private static synchronized Backend emulated() {
        Assumptions.assumeTrue(dev.jgan.cuda.emulated.EmulatedLauncher.bundledLibrary().isPresent(), "no host emulation library in this build");
        if (emulated == null) emulated = EmulatedDevice.open(TestBackends.CUDA_WORKSPACE_LIMIT);
        return emulated;
    }
}
