package dev.jgan.cli;

import dev.jgan.gan.TinyData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.jgan.cuda.gpu.CudaProbe;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** The CLI end to end, in-process: a short run, sampling, and one clear line for every bad input. */
class CliTest {
    record Run(int code, String out, String err) {}

    static Run gan(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    /** A failure: the exit code, and stderr is exactly one line that contains {@code expected}, no stack trace. */
    static void failsWith(int code, String expected, String... args) {
        Run r = gan(args);
        String err = r.err().strip();
        assertEquals(code, r.code(), "exit code of " + String.join(" ", args) + "; stderr: " + err);
        assertTrue(err.contains(expected), "stderr of " + String.join(" ", args) + " should mention '" + expected + "': " + err);
        assertEquals(1, err.lines().count(), "one line, not a stack trace: " + err);
        assertFalse(err.contains("\tat "), "no stack trace: " + err);
    }

    /** A test's body that may throw. */
    interface Body {
        void run() throws Exception;
    }

    /** Runs {@code body} with the evaluation classifier's cache (the jgan.cache property) in {@code dir}, then restores the property. */
    static void withCache(Path dir, Body body) throws Exception {
        String old = System.getProperty("jgan.cache");
        System.setProperty("jgan.cache", dir.toString());
        try {
            body.run();
        } finally {
            if (old == null) System.clearProperty("jgan.cache");
            else System.setProperty("jgan.cache", old);
        }
    }

    /** A short training command on {@code data}; options in {@code more} replace the defaults here. */
    static String[] train(Path data, Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--no-progress", "--data", data.toString(), "--out", out.toString()));
        List<String> given = List.of(more);
        String[][] defaults = {{"--device", "cpu"}, {"--threads", "2"}, {"--batch", "8"}, {"--log-every", "2"},
                {"--sample-every", "4"}, {"--checkpoint-every", "4"}};
        for (String[] d : defaults) if (!given.contains(d[0])) a.addAll(List.of(d));
        a.addAll(given);
        return a.toArray(String[]::new);
    }

    @Test
    void trainsThenSamplesInEveryFormat(@TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 40);
        Path run = tmp.resolve("run");
        Run r = gan(train(data, run, "--preset", "mlp-gan-small", "--steps", "4"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("outputs in " + run), r.out());
        Path ck = run.resolve("checkpoints/step-0000004.safetensors");

        Run idx = gan("sample", "--device", "cpu", "--checkpoint", ck.toString(), "--n", "300", "--out", tmp.resolve("s.idx").toString());
        assertEquals(0, idx.code(), idx.err());
        assertEquals(16 + 300 * 28 * 28, Files.size(tmp.resolve("s.idx")), "idx: 16-byte header and 300 28x28 images");
        Run npy = gan("sample", "--device", "cpu", "--checkpoint", ck.toString(), "--n", "5", "--out", tmp.resolve("s.npy").toString());
        assertEquals(0, npy.code(), npy.err());
        assertTrue(Files.size(tmp.resolve("s.npy")) > 5 * 784 * 4, "npy holds 5 float images");
        Run png = gan("sample", "--device", "cpu", "--checkpoint", ck.toString(), "--n", "9", "--out", tmp.resolve("s.png").toString());
        assertEquals(0, png.code(), png.err());
        assertTrue(Files.size(tmp.resolve("s.png")) > 0);
    }

    /** The flag reaches the run's config (config.json); on the CPU there are no cuDNN algorithms, so no algorithms.json. */
    @Test
    void cudnnNondeterministicIsRecordedInTheConfig(@TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 40);
        Path run = tmp.resolve("run"), plain = tmp.resolve("plain");
        Run r = gan(train(data, run, "--preset", "mlp-gan-small", "--steps", "2", "--cudnn-nondeterministic"));
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.readString(run.resolve("config.json")).contains("\"cudnnNondeterministic\" : true"),
                Files.readString(run.resolve("config.json")));
        assertFalse(Files.exists(run.resolve("algorithms.json")));
        r = gan(train(data, plain, "--preset", "mlp-gan-small", "--steps", "2"));
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.readString(plain.resolve("config.json")).contains("\"cudnnNondeterministic\" : false"));
        Run help = gan("bench", "--help");
        assertTrue(help.out().contains("--cudnn-nondeterministic"), help.out());
    }

    /**
     * Each loss and optimizer from the CLI: the closing line speaks the loss's terms, the config
     * records what the defaults resolved to (wgan: RMSprop at 5e-5, 5 critic steps, clip 0.01),
     * and a run resumed from the CLI ends on the same checkpoint as the uninterrupted one.
     */
    @Test
    void lossesAndOptimizersTrainFromTheCliAndResume(@TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 40);
        Run hinge = gan(train(data, tmp.resolve("hinge"), "--preset", "mlp-gan-small", "--steps", "2", "--loss", "hinge",
                "--optimizer", "sgd", "--momentum", "0.5", "--init", "pytorch"));
        assertEquals(0, hinge.code(), hinge.err());
        assertTrue(hinge.out().contains("critic on real") && hinge.out().contains("gap"), hinge.out());
        String config = Files.readString(tmp.resolve("hinge/config.json"));
        assertTrue(config.contains("\"optimizer\" : \"sgd\"") && config.contains("\"momentum\" : 0.5"), config);
        assertTrue(config.contains("\"init\" : \"pytorch\""), config);
        // PyTorch's init bounds G's first layer (fan-in 100) by 0.1, Glorot's by 0.16; two SGD steps at 2e-4 move it by far less
        float[] w = dev.jgan.io.Safetensors.read(dev.jgan.gan.Checkpoints.latest(tmp.resolve("hinge"))).tensors().get("g.0.weight").data();
        float max = 0;
        for (float x : w) max = Math.max(max, Math.abs(x));
        assertTrue(max <= 0.1f + 1e-3f && max > 0.09f, "g.0.weight starts in PyTorch's bound 0.1: largest " + max);

        Run bce = gan(train(data, tmp.resolve("bce"), "--preset", "mlp-gan-small", "--steps", "2", "--optimizer", "rmsprop",
                "--spectral-norm", "g"));
        assertEquals(0, bce.code(), bce.err());
        assertTrue(Files.readString(tmp.resolve("bce/config.json")).contains("\"spectralNorm\" : \"g\""));
        var snState = dev.jgan.io.Safetensors.read(dev.jgan.gan.Checkpoints.latest(tmp.resolve("bce"))).tensors().keySet();
        assertTrue(snState.contains("g.0.weight_u") && snState.contains("g.0.weight_v") && snState.stream().noneMatch(k -> k.startsWith("d.")
                && k.endsWith("_u")), "G's vectors, none of D's: " + snState);
        assertTrue(bce.out().contains("D(x)") && !bce.out().contains("critic"), bce.out());

        Path straight = tmp.resolve("straight"), split = tmp.resolve("split");
        String[] wgan = {"--preset", "mlp-gan-small", "--loss", "wgan", "--checkpoint-every", "2"};
        assertEquals(0, gan(train(data, straight, concat(wgan, "--steps", "4"))).code());
        assertEquals(0, gan(train(data, split, concat(wgan, "--steps", "2"))).code());
        config = Files.readString(split.resolve("config.json"));
        for (String k : List.of("\"optimizer\" : \"rmsprop\"", "\"clip\" : 0.01", "\"dSteps\" : 5", "\"lrD\" : 5.0E-5"))
            assertTrue(config.contains(k), k + " in " + config);
        Run resumed = gan("train", "--device", "cpu", "--threads", "2", "--no-progress", "--out", split.toString(), "--resume", "--steps", "4");
        assertEquals(0, resumed.code(), resumed.err());
        var a = dev.jgan.io.Safetensors.read(straight.resolve("checkpoints/step-0000004.safetensors")).tensors();
        var b = dev.jgan.io.Safetensors.read(split.resolve("checkpoints/step-0000004.safetensors")).tensors();
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) org.junit.jupiter.api.Assertions.assertArrayEquals(a.get(k).data(), b.get(k).data(), 0f, k);
    }

    /**
     * --diffaugment from the CLI: a policy trains and is recorded in config.json; an unknown
     * transform, colour on gray images and augmenting the ring's points are one line and exit 2.
     */
    @Test
    void diffAugmentTrainsFromTheCliAndBadPoliciesAreOneLine(@TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 40);
        Run r = gan(train(data, tmp.resolve("da"), "--preset", "mlp-gan-small", "--steps", "2", "--diffaugment", "translation,cutout"));
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.readString(tmp.resolve("da/config.json")).contains("\"diffAugment\" : \"translation,cutout\""));
        failsWith(2, "unknown transform 'rotate'", train(data, tmp.resolve("x"), "--diffaugment", "translation,rotate"));
        failsWith(2, "--diffaugment color changes colour, and these images have 1 channel",
                train(data, tmp.resolve("y"), "--preset", "mlp-gan-small", "--steps", "1", "--diffaugment", "color,cutout"));
        failsWith(2, "points have no pixels", "train", "--no-progress", "--device", "cpu", "--preset", "ring", "--steps", "1",
                "--out", tmp.resolve("z").toString(), "--diffaugment", "cutout");
    }

    static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void badInputGetsOneLineAndANonZeroExit(@TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 40);
        failsWith(2, "unknown preset 'nope'", train(data, tmp.resolve("a"), "--preset", "nope"));
        failsWith(2, "Unknown option", "train", "--bogus");
        failsWith(2, "--batch must be positive", train(data, tmp.resolve("b"), "--batch", "0"));
        failsWith(2, "--steps must be positive", train(data, tmp.resolve("c"), "--steps", "-1"));
        failsWith(2, "unknown dataset", train(data, tmp.resolve("d"), "--dataset", "cifar"));
        failsWith(2, "unknown device", train(data, tmp.resolve("e"), "--device", "tpu"));
        failsWith(2, "--device cuda is not usable here", train(data, tmp.resolve("e2"), "--device", "cuda"));
        failsWith(2, "no such directory", train(tmp.resolve("nowhere"), tmp.resolve("f"), "--steps", "2"));

        failsWith(2, "unknown loss 'nope'", train(data, tmp.resolve("g"), "--loss", "nope"));
        failsWith(2, "unknown optimizer 'nope'", train(data, tmp.resolve("h"), "--optimizer", "nope"));
        failsWith(2, "--loss hinge has none", train(data, tmp.resolve("i"), "--loss", "hinge", "--real-label", "0.9"));
        failsWith(2, "--clip must be >= 0", train(data, tmp.resolve("j"), "--clip", "-1"));
        failsWith(2, "--momentum must be in [0, 1)", train(data, tmp.resolve("k"), "--optimizer", "sgd", "--momentum", "1"));
        failsWith(2, "unknown init 'he'", train(data, tmp.resolve("m"), "--init", "he"));
        failsWith(2, "unknown --spectral-norm 'yes'; use none, d, g or both", train(data, tmp.resolve("n"), "--spectral-norm", "yes"));
        failsWith(2, "--d-steps must be positive", train(data, tmp.resolve("l"), "--d-steps", "0"));

        Path file = Files.writeString(tmp.resolve("plain-file"), "x");
        failsWith(2, "cannot write", train(data, file.resolve("run"), "--steps", "2"));
    }

    /**
     * On a machine without an NVIDIA driver (this one), --device cuda stops before anything runs
     * with one line naming what is missing and what to install; `gan info` lists each missing
     * library; bench on cuda stops the same way.
     */
    @Test
    void withoutAGpuCudaSaysWhatIsMissing(@TempDir Path tmp) throws Exception {
        assumeFalse(CudaProbe.libraryPresent("libcuda.so.1"), "an NVIDIA driver is installed here");
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 40);
        failsWith(2, "--device cuda is not usable here: no NVIDIA driver (libcuda.so.1 not found; install the NVIDIA driver",
                train(data, tmp.resolve("run"), "--device", "cuda", "--preset", "mlp-gan", "--steps", "1"));
        assertFalse(Files.exists(tmp.resolve("run").resolve("metrics.jsonl")), "nothing ran");
        failsWith(2, "use --device cpu", "bench", "--device", "cuda", "--preset", "mlp-gan");
        Run info = gan("info");
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("cuda:      not usable: no NVIDIA driver"), info.out());
        assertTrue(info.out().contains("driver:    not found (libcuda.so.1)"), info.out());
        for (String libs : List.of("libcublas.so.13 or libcublas.so.12", "libcudnn.so.9 or libcudnn.so.8"))
            if (!info.out().contains(libs.substring(0, 12) + " at "))
                assertTrue(info.out().contains("not found (" + libs + ")"), info.out());
        assertTrue(info.out().contains("binding:   auto: no NVIDIA driver"), info.out());
    }

    @Test
    void corruptDataFilesAreNamed(@TempDir Path tmp) throws Exception {
        Path wrongMagic = Files.createDirectories(tmp.resolve("magic"));
        TinyData.write(wrongMagic, 20);
        Path images = wrongMagic.resolve("train-images-idx3-ubyte.gz");
        Files.delete(images);
        Files.write(wrongMagic.resolve("train-images-idx3-ubyte"), new byte[] {0, 0, 8, 1, 0, 0, 0, 1, 7});
        failsWith(2, "train-images-idx3-ubyte", train(wrongMagic, tmp.resolve("r1"), "--steps", "2"));

        Path truncated = Files.createDirectories(tmp.resolve("trunc"));
        TinyData.write(truncated, 20);
        Path t = truncated.resolve("train-images-idx3-ubyte.gz");
        byte[] all = Files.readAllBytes(t);
        Files.write(t, Arrays.copyOf(all, all.length / 2));
        failsWith(2, "train-images-idx3-ubyte.gz", train(truncated, tmp.resolve("r2"), "--steps", "2"));
    }

    @Test
    void checkpointsThatDoNotFitAreRefused(@TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 40);
        Path run = tmp.resolve("run");
        assertEquals(0, gan(train(data, run, "--preset", "mlp-gan-small", "--steps", "4")).code());

        failsWith(2, "already holds a run", train(data, run, "--preset", "mlp-gan-small", "--steps", "4"));
        failsWith(2, "is from preset mlp-gan-small, not mlp-gan",
                "train", "--device", "cpu", "--no-progress", "--out", run.toString(), "--resume", "--preset", "mlp-gan", "--steps", "8");
        failsWith(2, "already at step 4",
                "train", "--device", "cpu", "--no-progress", "--out", run.toString(), "--resume", "--steps", "4");
        failsWith(2, "nothing to resume",
                "train", "--device", "cpu", "--no-progress", "--out", tmp.resolve("empty").toString(), "--resume");

        Path ck = run.resolve("checkpoints/step-0000004.safetensors");
        byte[] bytes = Files.readAllBytes(ck);
        Path cut = tmp.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length - 100));
        failsWith(2, "corrupt", "sample", "--device", "cpu", "--checkpoint", cut.toString(), "--out", tmp.resolve("x.png").toString());
        failsWith(2, "not found", "sample", "--device", "cpu", "--checkpoint", tmp.resolve("none.safetensors").toString(),
                "--out", tmp.resolve("x.png").toString());
        failsWith(2, "format", "sample", "--device", "cpu", "--checkpoint", ck.toString(), "--out", tmp.resolve("x.bmp").toString());
    }

    @Test
    void divergenceStopsWithTheLastGoodCheckpointIntact(@TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 40);
        Path run = tmp.resolve("run");
        // a learning rate of 1e30 blows the weights up within a few steps
        failsWith(3, "training diverged", train(data, run, "--preset", "mlp-gan-small", "--steps", "40", "--lr", "1e30"));
        try (Stream<Path> s = Files.list(run.resolve("checkpoints"))) {
            for (Path p : s.toList())
                assertEquals(0, gan("sample", "--device", "cpu", "--checkpoint", p.toString(), "--n", "2", "--out",
                        tmp.resolve("ok.npy").toString()).code(), "checkpoint " + p + " still loads");
        }
    }

    /**
     * Train with --g-ema and --eval-every, then eval (EMA and --no-ema) and report, on a test-sized
     * dataset with both splits; the evaluation classifier trains into a temporary cache.
     */
    @Test
    void evalAndReport(@TempDir Path tmp) throws Exception {
        // 300 training images: 3 batches a pass, 25 passes (the most a small split gets)
        Path data = TinyData.writeSplits(Files.createDirectories(tmp.resolve("data")), 300, 100);
        Path run = tmp.resolve("run");
        withCache(tmp.resolve("cache"), () -> {
            Run r = gan(train(data, run, "--preset", "mlp-gan-small", "--steps", "4", "--g-ema", "0.9", "--eval-every", "2", "--eval-n", "64"));
            assertEquals(0, r.code(), r.err());
            assertTrue(r.err().contains("training the evaluation classifier"), r.err());
            String metrics = Files.readString(run.resolve("metrics.jsonl"));
            assertEquals(2, metrics.lines().filter(l -> l.contains("\"fid\"") && l.contains("\"classes_covered\"")).count(), metrics);
            assertTrue(Files.isRegularFile(run.resolve("report.html")));

            Path ck = run.resolve("checkpoints/step-0000004.safetensors");
            Run e = gan("eval", "--device", "cpu", "--checkpoint", ck.toString(), "--n", "100");
            assertEquals(0, e.code(), e.err());
            assertFalse(e.err().contains("training the evaluation classifier"), "cached: " + e.err());
            assertTrue(e.out().contains("FID ") && e.out().contains("EMA generator") && e.out().contains("floor"), e.out());
            assertTrue(e.out().contains("of 10 classes hold >= a fifth of their share of the data"), e.out());
            Path json = run.resolve("checkpoints/step-0000004.eval.json");
            String doc = Files.readString(json);
            assertTrue(doc.contains("\"fid\"") && doc.contains("\"generator\" : \"ema\"") && doc.contains("\"histogram\""), doc);

            Run live = gan("eval", "--device", "cpu", "--checkpoint", ck.toString(), "--n", "100", "--no-ema", "--out", tmp.resolve("live.json").toString());
            assertEquals(0, live.code(), live.err());
            assertTrue(live.out().contains("live generator"), live.out());

            Files.delete(run.resolve("report.html"));
            Run rep = gan("report", run.toString());
            assertEquals(0, rep.code(), rep.err());
            assertTrue(Files.readString(run.resolve("report.html")).contains("FID against the test split"), "quality charts in the report");
        });
    }

    @Test
    void evalAndReportRejectBadInput(@TempDir Path tmp) throws Exception {
        failsWith(2, "not found", "eval", "--checkpoint", tmp.resolve("none.safetensors").toString());
        failsWith(2, "--n must be at least 2", "eval", "--checkpoint", tmp.resolve("none.safetensors").toString(), "--n", "1");
        failsWith(2, "not found", "report", tmp.resolve("missing").toString());
        failsWith(2, "is not a run directory", "report", tmp.toString());
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 40);
        failsWith(2, "--g-ema must be in [0, 1)", train(data, tmp.resolve("r1"), "--steps", "2", "--g-ema", "1"));
        failsWith(2, "--eval-every must be >= 0", train(data, tmp.resolve("r2"), "--steps", "2", "--eval-every", "-1"));
        failsWith(2, "the ring toy", train(data, tmp.resolve("r3"), "--preset", "ring", "--steps", "2", "--eval-every", "1"));
    }
}
