package dev.jgan.backend;

import dev.jgan.selection.CudaBinding;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.abort;

/** Which backends the op tests ran on: each absent one shows up here as skipped, with the reason. */
class BackendPresenceTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void presentBackendDescribesItself(Backend backend) {
        String line = backend.describe();
        assertTrue(line.startsWith(backend.name() + ": "), line);
        assertFalse(line.contains("\n"), "describe() must be one line: " + line);
        // the virtual-GPU JVMs: the CUDA backend goes through the binding the execution asked for
        if (dev.jgan.cuda.gpu.VirtualGpu.requested() && backend.name().equals("cuda")) {
            CudaBinding asked = CudaBinding.fromEnvironment();
            String expected = (asked == CudaBinding.JNI ? "jni" : "ffm") + " binding"; // auto is ffm
            assertTrue(line.contains(expected), "JGAN_CUDA_BINDING=" + asked.label() + ", so " + expected + ": " + line);
        }
    }

    @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
    @MethodSource("dev.jgan.testing.TestBackends#absent")
    void absentBackend(String nameAndReason) {
        abort("backend not tested here: " + nameAndReason);
    }
}
