package dev.jgan.bench.lab;

import dev.jgan.cuda.gpu.CudaProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code gan kernels bench}'s refusals and usage errors: one line on stderr, exit 2, nothing
 * measured and nothing appended. (Timing itself is not tested: the smoke runs do that.)
 */
class KernelBenchTest {
    /** A machine without NVIDIA's driver or libraries. */
    static final CudaProbe.Environment NO_GPU = new CudaProbe.Environment() {
        @Override public boolean libraryPresent(String library) { return false; }
        @Override public int deviceCount() { return 0; }
        @Override public boolean kernelsBuilt() { return true; }
    };

    record Run(int code, String out, String err) {}

    static Run bench(CudaProbe.Environment env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = KernelBench.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), env);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static void oneLine(Run r, String... contains) {
        assertEquals(2, r.code(), r.err());
        assertEquals("", r.out(), "nothing measured");
        assertEquals(1, r.err().lines().count(), "one line, no stack trace: " + r.err());
        assertTrue(r.err().startsWith("gan kernels bench: "), r.err());
        for (String c : contains) assertTrue(r.err().contains(c), "'" + c + "' in: " + r.err());
    }

    @Test
    void cudaTimingIsRefusedWithoutAGpu(@TempDir Path tmp) {
        Path results = tmp.resolve("r.jsonl");
        Run r = bench(NO_GPU, "batch_norm", "--vs", "baseline", "--device", "cuda", "--results", results.toString());
        oneLine(r, "no GPU here", "no NVIDIA driver", "timed only on a real GPU", "emulation time says nothing about GPU speed", "gan kernels check");
        assertFalse(Files.exists(results));
    }

    @Test
    void theVirtualGpuIsRefusedUnlessTimingEmulationIsAskedFor() {
        String before = System.getProperty("jgan.virtualGpu");
        System.setProperty("jgan.virtualGpu", "true");
        try {
            String refusal = KernelBench.cudaRefusal(NO_GPU, false);
            assertTrue(refusal.contains("virtual GPU") && refusal.contains("timed only on a real GPU"), refusal);
            assertEquals(null, KernelBench.cudaRefusal(NO_GPU, true), "JGAN_LAB_TIME_EMULATED=1 lets the plumbing run");
        } finally {
            if (before == null) System.clearProperty("jgan.virtualGpu");
            else System.setProperty("jgan.virtualGpu", before);
        }
    }

    @Test
    void usageErrorsAreOneLine() {
        oneLine(bench(NO_GPU), "name an op", "usage:");
        oneLine(bench(NO_GPU, "batch_norm", "--frobnicate"), "unknown option '--frobnicate'");
        oneLine(bench(NO_GPU, "batch_norm", "--rounds"), "--rounds needs a value");
        oneLine(bench(NO_GPU, "batch_norm", "--rounds", "two"), "whole number");
        oneLine(bench(NO_GPU, "batch_norm", "--device", "tpu"), "cpu or cuda");
        oneLine(bench(NO_GPU, "batch_norm:nonesuch"), "no variant 'batch_norm:nonesuch'", "baseline");
        oneLine(bench(NO_GPU, "batch_norm", "--vs", "nonesuch"), "no variant 'batch_norm:nonesuch'");
        oneLine(bench(NO_GPU, "batch_norm", "--call", "forward"), "no call 'forward'");
        oneLine(bench(NO_GPU, "batch_norm", "--shape", "64xx"), "shape '64xx'");
        oneLine(bench(NO_GPU, "warp_drive"), "no kernel-lab op 'warp_drive'");
        oneLine(bench(NO_GPU, "gemm"), "no benchmark is wired for gemm");
        oneLine(bench(NO_GPU, "batch_norm", "dropout"), "one OP[:VARIANT]");
    }

    @Test
    void helpIsTheUsageAndExitZero() {
        Run r = bench(NO_GPU, "--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("usage: gan kernels bench OP[:VARIANT]") && r.out().contains("batch_norm"), r.out());
    }

    @Test
    void theCommandIsRecordedAsTyped() {
        assertEquals("gan kernels bench batch_norm:welford --vs baseline --shape 64x256,64x512",
                KernelBench.command(new String[] {"batch_norm:welford", "--vs", "baseline", "--shape", "64x256,64x512"}));
        assertEquals("gan kernels bench bias --results 'my results.jsonl'", KernelBench.command(new String[] {"bias", "--results", "my results.jsonl"}));
    }
}
