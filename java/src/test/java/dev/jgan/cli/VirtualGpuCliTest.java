package dev.jgan.cli;

import dev.jgan.cuda.gpu.VirtualGpu;
import dev.jgan.gan.Checkpoints;
import dev.jgan.gan.TinyData;
import dev.jgan.io.MetricsLog;
import dev.jgan.io.Safetensors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static dev.jgan.cli.CliTest.gan;
import static dev.jgan.cli.CliTest.train;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * The CLI on {@code --device cuda} over the real GPU adapters (JCuda, JCublas2, JCudnn and their
 * JNI libraries) on the virtual GPU: training, sampling, benchmarking, {@code gan info}, a resumed
 * run equal to the uninterrupted one bit for bit, and every injected fault ending in one line that
 * names the failed call while the last checkpoint stays loadable. Runs in the virtual-GPU test JVM
 * (surefire execution {@code virtual-gpu}, strict: any use of the NULL stream is an error).
 *
 * <p>Budget: the virtual GPU computes on the host (its GEMMs and convolutions are plain loops), so
 * runs stay small: mlp-gan at batch 16 for at most 12 steps, dcgan-28 at batch 4 for 4 steps.
 */
@Tag("virtual-gpu")
class VirtualGpuCliTest {
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

    private static String[] cuda(Path data, Path out, String... more) {
        String[] base = train(data, out, more);
        for (int i = 0; i + 1 < base.length; i++) if (base[i].equals("--device") && base[i + 1].equals("cpu")) base[i + 1] = "cuda";
        return base;
    }

    @Test
    void trainsSamplesBenchesAndDescribesTheDevice(@TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 40);
        Path run = tmp.resolve("run");
        long nullStream = VirtualGpu.counter(VirtualGpu.Counter.NULL_STREAM_USES);
        CliTest.Run r = gan(cuda(data, run, "--preset", "mlp-gan", "--batch", "16", "--steps", "12", "--checkpoint-every", "6"));
        assertEquals(0, r.code(), r.err());
        List<Map<String, Object>> lines = MetricsLog.read(run.resolve("metrics.jsonl"));
        assertFalse(lines.isEmpty(), "metrics written");
        for (Map<String, Object> m : lines)
            assertTrue(Double.isFinite(((Number) m.get("d_loss")).doubleValue()) && Double.isFinite(((Number) m.get("g_loss")).doubleValue()), "finite: " + m);
        assertEquals(nullStream, VirtualGpu.counter(VirtualGpu.Counter.NULL_STREAM_USES), "nothing ran on the NULL stream");

        Path ck = run.resolve("checkpoints/step-0000012.safetensors");
        CliTest.Run s = gan("sample", "--device", "cuda", "--checkpoint", ck.toString(), "--n", "4", "--out", tmp.resolve("s.npy").toString());
        assertEquals(0, s.code(), s.err());

        CliTest.Run b = gan("bench", "--device", "cuda", "--preset", "mlp-gan", "--batch", "16", "--steps", "3", "--warmup", "0");
        assertEquals(0, b.code(), b.err());
        assertTrue(b.out().contains("ms"), b.out());
        // the CPU's FMA peak is not a GPU's: no probe, no percent
        assertTrue(b.out().lines().findFirst().orElseThrow().contains("peak: not measured (not a CPU backend"), b.out());
        assertTrue(b.out().contains("\t- of peak\tpeak RSS "), b.out());

        CliTest.Run info = gan("info");
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("jgan virtual GPU"), info.out());
        assertTrue(info.out().contains("cuda:      ready"), info.out());
    }

    @Test
    void autoNeverPicksTheVirtualGpu(@TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 40);
        CliTest.Run r = gan(train(data, tmp.resolve("run"), "--device", "auto", "--preset", "mlp-gan-small", "--steps", "2"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("device auto: using the CPU (the virtual GPU"), r.err());
    }

    /** A fresh backend for the second half (each command opens its own): the persisted cuDNN choices make it equal. */
    @Test
    void resumeOnCudaEqualsTheUninterruptedRunBitForBit(@TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 40);
        Path straight = tmp.resolve("straight"), split = tmp.resolve("split");
        String[] common = {"--preset", "dcgan-28", "--batch", "4", "--log-every", "1", "--checkpoint-every", "2", "--sample-every", "100"};
        assertEquals(0, gan(cuda(data, straight, concat(common, "--steps", "4"))).code());
        assertEquals(0, gan(cuda(data, split, concat(common, "--steps", "2"))).code());
        CliTest.Run r = gan("train", "--device", "cuda", "--no-progress", "--out", split.toString(), "--resume", "--steps", "4");
        assertEquals(0, r.code(), r.err());

        List<Map<String, Object>> a = MetricsLog.read(straight.resolve("metrics.jsonl")), b = MetricsLog.read(split.resolve("metrics.jsonl"));
        assertEquals(a.size(), b.size(), "as many metrics lines");
        for (int i = 0; i < a.size(); i++)
            for (String k : List.of("step", "d_loss", "g_loss", "d_x", "d_g_z"))
                assertEquals(a.get(i).get(k), b.get(i).get(k), k + " at line " + i);
        var ca = Safetensors.read(Checkpoints.latest(straight)).tensors();
        var cb = Safetensors.read(Checkpoints.latest(split)).tensors();
        assertEquals(ca.keySet(), cb.keySet());
        for (String k : ca.keySet()) assertArrayEquals(ca.get(k).data(), cb.get(k).data(), 0f, k + " equal after resume");
    }

    /**
     * Each non-BCE loss and each optimizer, with and without spectral norm and DiffAugment, trains
     * on cuda from the CLI and resumes to the same bits.
     */
    @ParameterizedTest(name = "{0} {1} spectral norm {2} diffaugment {3}")
    @CsvSource({"hinge, sgd, none, none", "lsgan, adam, both, none", "wgan, rmsprop, none, 'translation,cutout'",
            "hinge, adam, d, 'translation,cutout'"})
    void eachLossResumesOnCudaBitForBit(String loss, String optimizer, String spectralNorm, String diffAugment, @TempDir Path tmp)
            throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 40);
        Path straight = tmp.resolve("straight"), split = tmp.resolve("split");
        String[] common = {"--preset", "mlp-gan-small", "--loss", loss, "--optimizer", optimizer, "--checkpoint-every", "2",
                "--sample-every", "100", "--spectral-norm", spectralNorm, "--diffaugment", diffAugment};
        CliTest.Run whole = gan(cuda(data, straight, concat(common, "--steps", "4")));
        assertEquals(0, whole.code(), whole.err());
        assertTrue(whole.out().contains("critic on real"), whole.out());
        assertEquals(0, gan(cuda(data, split, concat(common, "--steps", "2"))).code());
        CliTest.Run r = gan("train", "--device", "cuda", "--no-progress", "--out", split.toString(), "--resume", "--steps", "4");
        assertEquals(0, r.code(), r.err());
        var ca = Safetensors.read(Checkpoints.latest(straight)).tensors();
        var cb = Safetensors.read(Checkpoints.latest(split)).tensors();
        assertEquals(ca.keySet(), cb.keySet());
        for (String k : ca.keySet()) assertArrayEquals(ca.get(k).data(), cb.get(k).data(), 0f, loss + ": " + k + " equal after resume");
        assertEquals(!"none".equals(spectralNorm), ca.containsKey("d.1.weight_u"), "D's first dense layer's u is in the checkpoint: " + ca.keySet());
    }

    /**
     * Each injected fault, at a call that falls after the first checkpoint: the run stops with one
     * line naming the call (and the status), no stack trace, a non-zero exit, and every checkpoint
     * it left still loads. The count of each kind's calls in a clean run of the same command
     * places the fault.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "launch, LAUNCH_CALLS, mlp-gan, cuLaunchKernel",
            "cublas, CUBLAS_CALLS, mlp-gan, cublasSgemm",
            "cudnn, CUDNN_CALLS, dcgan-28, cudnn"})
    void anInjectedFaultIsOneLineAndTheLastCheckpointLoads(String kind, VirtualGpu.Counter counter, String preset, String call,
                                                          @TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 40);
        String[] args = {"--preset", preset, "--batch", "4", "--steps", "4", "--checkpoint-every", "2", "--sample-every", "100"};
        long before = VirtualGpu.counter(counter);
        assertEquals(0, gan(cuda(data, tmp.resolve("clean"), args)).code());
        long perRun = VirtualGpu.counter(counter) - before;
        assertTrue(perRun > 4, kind + " calls in a clean run: " + perRun);

        Path run = tmp.resolve("faulty");
        VirtualGpu.setFaults(kind + ":" + (perRun * 7 / 8));
        CliTest.Run r = gan(cuda(data, run, args));
        String err = r.err().strip();
        assertNotEquals(0, r.code(), "the fault stops the run: " + err);
        assertEquals(1, err.lines().count(), "one line: " + err);
        assertFalse(err.contains("\tat "), "no stack trace: " + err);
        assertTrue(err.contains(call), "names " + call + ": " + err);
        VirtualGpu.setFaults("");
        VirtualGpu.clearError();
        Path last = Checkpoints.latest(run);
        assertEquals(0, gan("sample", "--device", "cpu", "--checkpoint", last.toString(), "--n", "2", "--out",
                tmp.resolve("ok.npy").toString()).code(), "the last checkpoint " + last + " loads");
    }

    /** The Nth and every later cuMemAlloc fail: the caching allocator's retry cannot help, and the message says so. */
    @Test
    void outOfMemoryIsOneLine(@TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 40);
        VirtualGpu.setFaults("alloc:3+");
        CliTest.Run r = gan(cuda(data, tmp.resolve("run"), "--preset", "mlp-gan-small", "--steps", "2"));
        String err = r.err().strip();
        assertNotEquals(0, r.code(), err);
        assertEquals(1, err.lines().count(), "one line: " + err);
        assertTrue(err.contains("cuMemAlloc") && err.contains("CUDA_ERROR_OUT_OF_MEMORY"), err);
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
