package dev.jgan.bench.lab;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jgan.cuda.gpu.CudaProbe;
import dev.jgan.cuda.gpu.VirtualGpu;
import dev.jgan.io.Json;
import dev.jgan.lab.KernelLab;
import dev.jgan.lab.Variant;
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
        // batch_norm's CUDA variants: every lab one against the baseline (the vs slot, last); 2x3x5x5's
        // planes of 25 are small-spatial's, routed to the lab's image; 4x8's planes of 1 stay production's
        List<String> rows = r.out().lines().filter(l -> l.startsWith("train ") || l.startsWith("backward ")).toList();
        List<String> lab = KernelLab.find("batch_norm", Variant.Device.CUDA).stream().map(Variant::name).filter(n -> !n.equals("baseline")).toList();
        int perShape = lab.size() + 1;
        assertEquals(2 * 2 * perShape, rows.size(), "2 calls x 2 shapes x (variants, vs): " + r.out());
        for (int i = 0; i < rows.size(); i++)
            if (i % perShape == perShape - 1) assertTrue(rows.get(i).contains("baseline (vs)"), rows.get(i));
            else assertTrue(rows.get(i).contains(lab.get(i % perShape)) && rows.get(i).endsWith("x"), rows.get(i));

        List<String> lines = Files.readAllLines(results);
        assertEquals(rows.size(), lines.size());
        for (String line : lines) {
            JsonNode j = Json.MAPPER.readTree(line);
            assertEquals("cuda", j.get("device").asText());
            assertTrue(j.at("/machine/virtual_gpu").asBoolean(), line);
            assertTrue(j.at("/machine/gpu").asText().startsWith("cuda"), line);
            Variant v = KernelLab.find(j.get("variant_id").asText(), Variant.Device.CUDA).getFirst();
            assertEquals(v.source(), j.get("source").asText());
            assertTrue(j.get("source_sha256").asText().matches("[0-9a-f]{64}"), "the source is a file of the repository: " + line);
            assertEquals(!v.name().equals("baseline"), j.has("speedup_vs"), line);
            assertTrue(j.get("samples").asInt() >= CudaTiming.MIN_REPETITIONS * 2, "two rounds of at least five repetitions: " + line);
            assertTrue(j.get("time_us").asDouble() > 0, line);
            assertTrue(j.get("min_us").asDouble() <= j.get("time_us").asDouble() && j.get("time_us").asDouble() <= j.get("max_us").asDouble(), line);
            assertTrue(j.at("/roofline/flops_method").asText().contains("no FMA kernel"), line);
        }
    }
}
