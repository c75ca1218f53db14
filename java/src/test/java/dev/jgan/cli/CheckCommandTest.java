package dev.jgan.cli;

import dev.jgan.cuda.gpu.CudaProbe;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.jgan.cli.CliTest.gan;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** {@code gan check --quick} on the CPU backend, through the CLI: the header, one table with every section, exit 0. */
class CheckCommandTest {
    @Test
    void quickCheckOfTheCpuPasses() {
        CliTest.Run r = gan("check", "--device", "cpu", "--threads", "2", "--quick");
        assertEquals(0, r.code(), r.out() + r.err());
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.get(0).startsWith("gan check --quick on cpu"), lines.get(0));
        assertTrue(r.out().contains("oneDNN"), "the header describes the device: " + r.out());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("section") && l.contains("error") && l.contains("tolerance")
                && l.contains("result")), "a table heading: " + r.out());
        for (String section : List.of("ops", "step", "resume"))
            assertTrue(lines.stream().anyMatch(l -> l.startsWith(section + " ") && l.contains(" PASS ")), "a passing " + section + " row: " + r.out());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("step ") && l.contains("dcgan-64")), "dcgan-64's step is compared");
        assertFalse(lines.stream().anyMatch(l -> l.startsWith("bench ")), "--quick runs no bench");
        assertFalse(r.out().contains(" FAIL "), r.out());
        assertTrue(lines.getLast().endsWith("all passed"), lines.getLast());
    }

    /** Without a usable GPU the check does not start: the one line that names what to install, exit 2. */
    @Test
    void anUnusableDeviceIsOneLine() {
        assumeFalse(CudaProbe.libraryPresent("libcuda.so.1"), "an NVIDIA driver is installed here");
        CliTest.failsWith(2, "--device cuda is not usable here: no NVIDIA driver", "check", "--device", "cuda", "--quick");
    }

    @Test
    void anUnknownDeviceIsOneLine() {
        CliTest.failsWith(2, "device", "check", "--device", "tpu", "--quick");
    }
}
