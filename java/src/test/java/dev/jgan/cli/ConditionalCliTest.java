package dev.jgan.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jgan.gan.Presets;
import dev.jgan.gan.TinyData;
import dev.jgan.gan.TrainConfig;
import dev.jgan.io.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.jgan.cli.CliTest.failsWith;
import static dev.jgan.cli.CliTest.gan;
import static dev.jgan.cli.CliTest.train;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A conditional model from the CLI: train (with AC-GAN's classifier and --eval-every), sample one
 * class or all of them, eval with a per-class row each (in the JSON and the report), and one
 * clear line for every bad --class or flag.
 */
class ConditionalCliTest {
    @Test
    void trainSampleAClassEvalEachClass(@TempDir Path tmp) throws Exception {
        Path data = TinyData.writeSplits(Files.createDirectories(tmp.resolve("data")), 300, 100);
        Path run = tmp.resolve("run");
        CliTest.withCache(tmp.resolve("cache"), () -> {
            CliTest.Run r = gan(train(data, run, "--preset", "cgan-mlp", "--steps", "4", "--aux-classifier", "1", "--eval-every", "2",
                    "--eval-n", "40"));
            assertEquals(0, r.code(), r.err());
            String metrics = Files.readString(run.resolve("metrics.jsonl"));
            assertTrue(metrics.contains("\"class_accuracy\"") && metrics.contains("\"class_fid\"") && metrics.contains("\"aux_acc_real\""), metrics);
            Path ck = run.resolve("checkpoints/step-0000004.safetensors");

            CliTest.Run one = gan("sample", "--device", "cpu", "--checkpoint", ck.toString(), "--class", "7", "--n", "5", "--out",
                    tmp.resolve("seven.npy").toString());
            assertEquals(0, one.code(), one.err());
            assertTrue(one.out().contains("wrote 5 samples") && one.out().contains("class 7"), one.out());
            CliTest.Run all = gan("sample", "--device", "cpu", "--checkpoint", ck.toString(), "--class", "all", "--n", "25", "--out",
                    tmp.resolve("all.png").toString());
            assertEquals(0, all.code(), all.err());
            assertTrue(all.out().contains("wrote 30 samples") && all.out().contains("3 of each class"), "ceil(25 / 10) of each: " + all.out());

            CliTest.Run e = gan("eval", "--device", "cpu", "--checkpoint", ck.toString(), "--n", "60");
            assertEquals(0, e.code(), e.err());
            assertTrue(e.out().contains("asked for each class (6 images each)") && e.out().contains("class 7 (Sneaker)"), e.out());
            String doc = Files.readString(run.resolve("checkpoints/step-0000004.eval.json"));
            assertEquals(10, doc.split("\"accuracy\"", -1).length - 1, "a per-class row for each of the 10 classes: " + doc);
            assertTrue(doc.contains("\"class_accuracy_min\""), doc);
            String report = Files.readString(run.resolve("report.html"));
            assertTrue(report.contains("gan eval of step 4") && report.contains("classified as asked") && report.contains("Sneaker"),
                    "the report shows the evaluation's per-class rows");

            failsWith(2, "--class 10 is not a class of this model: it has classes 0 .. 9", "sample", "--device", "cpu", "--checkpoint",
                    ck.toString(), "--class", "10", "--out", tmp.resolve("x.png").toString());
            failsWith(2, "--class takes a class number 0 .. 9 or all, not 'shoe'", "sample", "--device", "cpu", "--checkpoint",
                    ck.toString(), "--class", "shoe", "--out", tmp.resolve("x.png").toString());
        });
    }

    /** A labelled folder (two class sub-folders) trains a conditional model of 2 classes, in colour, that samples and evaluates each class. */
    @Test
    void aLabelledFolderGivesItsClasses(@TempDir Path tmp) throws Exception {
        Path data = ColourCliTest.pictures(tmp.resolve("pictures")), run = tmp.resolve("run");
        CliTest.withCache(tmp.resolve("cache"), () -> {
            CliTest.Run r = gan("train", "--device", "cpu", "--preset", "cdcgan-28", "--data", data.toString(), "--steps", "2", "--batch", "4",
                    "--log-every", "2", "--sample-every", "2", "--out", run.toString(), "--no-progress");
            assertEquals(0, r.code(), r.err());
            JsonNode c = Json.readTree(run.resolve("config.json")).path("config");
            assertEquals(2, c.path("classes").asInt(), "the folder's two sub-folders are the classes: " + c);
            assertEquals(3, c.path("channels").asInt());
            Path ck = run.resolve("checkpoints/step-0000002.safetensors");
            CliTest.Run s = gan("sample", "--device", "cpu", "--checkpoint", ck.toString(), "--class", "1", "--n", "3", "--out",
                    tmp.resolve("cold.png").toString());
            assertEquals(0, s.code(), s.err());
            failsWith(2, "--class 2 is not a class of this model: it has classes 0 .. 1", "sample", "--device", "cpu", "--checkpoint",
                    ck.toString(), "--class", "2", "--out", tmp.resolve("x.png").toString());
            CliTest.Run e = gan("eval", "--device", "cpu", "--checkpoint", ck.toString(), "--n", "20");
            assertEquals(0, e.code(), e.err());
            assertTrue(e.out().contains("class 0 (cold)") && e.out().contains("class 1 (warm)"), e.out());
        });
    }

    /**
     * fast-fmnist's recipe carries its own EMA and its 10-minute budget (with no step limit); a
     * length given on the command line replaces the budget, and --g-ema 0 turns the EMA off.
     */
    @Test
    void fastFmnistBringsItsBudgetEmaLossAndSpectralNorm(@TempDir Path tmp) throws Exception {
        TrainConfig d = TrainConfig.defaults(Presets.get("fast-fmnist"));
        assertEquals(10.0, d.minutes());
        assertEquals(Long.MAX_VALUE, d.steps(), "the budget alone ends a default run");
        assertEquals(0.996f, d.gEma());
        assertEquals(0f, d.auxClassifier());
        assertEquals("hinge", d.loss());
        assertEquals("d", d.spectralNorm());
        TrainConfig other = TrainConfig.defaults(Presets.get("cdcgan-28"));
        assertEquals(0f, other.gEma(), "the other presets keep no EMA unless asked");
        assertEquals("nonsaturating", other.loss(), "nor another loss");
        assertEquals("none", other.spectralNorm(), "nor spectral norm");

        Path data = TinyData.writeSplits(Files.createDirectories(tmp.resolve("data")), 60, 20);
        CliTest.withCache(tmp.resolve("cache"), () -> {
            Path run = tmp.resolve("run"), off = tmp.resolve("off");
            assertEquals(0, gan(train(data, run, "--preset", "fast-fmnist", "--steps", "2", "--batch", "4")).code());
            JsonNode c = Json.readTree(run.resolve("config.json")).path("config");
            assertEquals(2, c.path("steps").asLong(), c.toString());
            assertEquals(0.0, c.path("minutes").asDouble(), "--steps replaces the preset's budget: " + c);
            assertEquals(0.996, c.path("gEma").asDouble(), 1e-6, c.toString());
            assertEquals("hinge", c.path("loss").asText(), c.toString());
            assertEquals("d", c.path("spectralNorm").asText(), c.toString());
            assertEquals(0, gan(train(data, off, "--preset", "fast-fmnist", "--steps", "2", "--batch", "4", "--g-ema", "0",
                    "--loss", "nonsaturating", "--spectral-norm", "none")).code());
            JsonNode o = Json.readTree(off.resolve("config.json")).path("config");
            assertEquals(0.0, o.path("gEma").asDouble(), "--g-ema 0 turns it off");
            assertEquals("nonsaturating", o.path("loss").asText(), "--loss replaces the preset's: " + o);
            assertEquals("none", o.path("spectralNorm").asText(), "--spectral-norm none turns it off: " + o);
        });
    }

    @Test
    void conditionalFlagsOnTheWrongModelOrDataAreOneLine(@TempDir Path tmp) throws Exception {
        Path data = TinyData.write(Files.createDirectories(tmp.resolve("data")), 40);
        Path plain = tmp.resolve("plain");
        assertEquals(0, gan(train(data, plain, "--preset", "mlp-gan-small", "--steps", "2", "--checkpoint-every", "2")).code());
        failsWith(2, "--class needs a class-conditional checkpoint", "sample", "--device", "cpu", "--checkpoint",
                plain.resolve("checkpoints/step-0000002.safetensors").toString(), "--class", "1", "--out", tmp.resolve("x.png").toString());
        failsWith(2, "--aux-classifier needs a class-conditional preset", train(data, tmp.resolve("r1"), "--steps", "2", "--aux-classifier", "1"));
        failsWith(2, "--aux-classifier must be >= 0", train(data, tmp.resolve("r2"), "--preset", "cgan-mlp", "--steps", "2",
                "--aux-classifier", "-1"));
        Path unlabelled = Files.createDirectories(tmp.resolve("unlabelled"));
        Files.copy(data.resolve("train-images-idx3-ubyte.gz"), unlabelled.resolve("train-images-idx3-ubyte.gz"));
        failsWith(2, "is class-conditional and dataset", train(unlabelled, tmp.resolve("r3"), "--preset", "cgan-mlp", "--steps", "2"));
    }
}
