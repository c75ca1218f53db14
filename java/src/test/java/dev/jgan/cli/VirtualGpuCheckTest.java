package dev.jgan.cli;

import dev.jgan.cuda.gpu.VirtualGpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.jgan.cli.CliTest.gan;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * {@code gan check --quick --device cuda} on the virtual GPU over the real adapters: with a cuBLAS
 * fault injected at the first GEMM, that GEMM's row fails naming the call, every other row passes,
 * the header names the device and its libraries, and the exit code is 1. (The clean run, all rows
 * passing, is the bundle's own check in BundleIT.)
 */
@Tag("virtual-gpu")
class VirtualGpuCheckTest {
    @BeforeAll
    static void virtualGpu() {
        if (VirtualGpu.directory().isEmpty()) {
            if ("true".equals(System.getenv("CI"))) throw new IllegalStateException("the virtual GPU was not built; CI=true requires it");
            abort("the virtual GPU (native/vgpu) was not built here");
        }
        VirtualGpu.install();
    }

    @AfterEach
    void noFaultsLeft() {
        VirtualGpu.setFaults("");
        VirtualGpu.clearError();
    }

    @Test
    void aFaultIsAFailedRowAndExitOne() {
        VirtualGpu.setFaults("cublas:1");
        CliTest.Run r = gan("check", "--device", "cuda", "--quick");
        assertEquals(1, r.code(), r.out() + r.err());
        List<String> failed = r.out().lines().filter(l -> l.contains(" FAIL ")).toList();
        assertEquals(1, failed.size(), "only the faulted GEMM fails: " + failed);
        assertTrue(failed.get(0).startsWith("ops ") && failed.get(0).contains("gemm") && failed.get(0).contains("cublasSgemm"), failed.get(0));
        assertTrue(r.out().strip().endsWith("FAILED"), r.out());
        // every other row passed: the header names the device and its libraries, each section ran
        assertTrue(r.out().contains("jgan virtual GPU") && r.out().contains("cuBLAS") && r.out().contains("cuDNN"), r.out());
        List<String> lines = r.out().lines().toList();
        for (String section : List.of("ops", "step", "resume"))
            assertTrue(lines.stream().anyMatch(l -> l.startsWith(section + " ") && l.contains(" PASS ")), "a passing " + section + " row: " + r.out());
    }
}
