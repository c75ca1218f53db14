package dev.jgan.bench.lab;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jgan.cuda.gpu.CudaProbe;
import dev.jgan.cuda.gpu.VirtualGpu;
import dev.jgan.io.Json;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * The CUDA path's plumbing on the virtual GPU (JGAN_LAB_TIME_EMULATED's test property): the
 * variant installed on the CUDA backend, the roofline copy and GEMM, CUDA-event timing with the L2
 * flush, the --vs rows and the JSON lines, every header line saying the numbers mean nothing.
 * Sizes are tiny: the virtual GPU computes on the host. Nothing here is a timing assertion.
 */
class VirtualKernelBenchTest {
    @BeforeAll
    static void virtualGpu() {
        if (VirtualGpu.directory().isEmpty()) {
            if ("true".equals(System.getenv("CI"))) throw new IllegalStateException("the virtual GPU was not built; CI=true requires it");
            abort("the virtual GPU (native/vgpu) was not built here");
        }
        System.setProperty("jgan.virtualGpu", "true");
        System.setProperty(KernelBench.TIME_EMULATED_PROPERTY, "true");
        VirtualGpu.install();
    }

    @AfterAll
    static void done() {
        System.clearProperty("jgan.virtualGpu");
        System.clearProperty(KernelBench.TIME_EMULATED_PROPERTY);
    }

    @Test
    void theCudaPathRunsEndToEndAndSaysItsNumbersMeanNothing(@TempDir Path tmp) throws Exception {
        Path results = tmp.resolve("kernel-lab.jsonl");
        KernelBenchTest.Run r = KernelBenchTest.bench(CudaProbe.SYSTEM, "batch_norm", "--vs", "baseline", "--device", "cuda",
                "--shape", "4x8,2x3x5x5", "--call", "train,backward", "--rounds", "2", "--warmup", "1", "--warmup-ms", "1",
                "--iterations", "1", "--time-ms", "1", "--l2-flush-mib", "1", "--roofline-copy-mib", "1", "--roofline-gemm", "16",
                "--results", results.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("roofline: copy") && r.out().contains("SGEMM 16^3"), r.out());
        assertTrue(r.out().lines().filter(l -> l.startsWith("roofline:") || l.startsWith("device:") || l.startsWith("CUDA events:"))
                .allMatch(l -> l.endsWith(KernelBench.MEANINGLESS)), r.out());
        List<String> rows = r.out().lines().filter(l -> l.startsWith("train ") || l.startsWith("backward ")).toList();
        assertEquals(8, rows.size(), "2 calls x 2 shapes x (variant, vs): " + r.out());
        assertTrue(rows.getFirst().endsWith("x") && rows.get(1).contains("baseline (vs)"), rows.toString());

        List<String> lines = Files.readAllLines(results);
        assertEquals(8, lines.size());
        for (String line : lines) {
            JsonNode j = Json.MAPPER.readTree(line);
            assertEquals("cuda", j.get("device").asText());
            assertTrue(j.at("/machine/virtual_gpu").asBoolean(), line);
            assertTrue(j.at("/machine/gpu").asText().startsWith("cuda"), line);
            assertEquals("kernels/batch_norm.cu", j.get("source").asText());
            assertTrue(j.get("samples").asInt() >= CudaTiming.MIN_REPETITIONS * 2, "two rounds of at least five repetitions: " + line);
            assertTrue(j.get("time_us").asDouble() > 0, line);
            assertTrue(j.get("min_us").asDouble() <= j.get("time_us").asDouble() && j.get("time_us").asDouble() <= j.get("max_us").asDouble(), line);
            assertTrue(j.at("/roofline/flops_method").asText().contains("no FMA kernel"), line);
        }
    }
}
