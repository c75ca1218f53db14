package dev.jgan.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jgan.io.Json;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.jgan.cli.CliTest.failsWith;
import static dev.jgan.cli.CliTest.gan;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A folder of colour pictures through the CLI: train with --data alone, sample, evaluate. */
class ColourCliTest {
    /** The decoded pictures and the classifiers of these throwaway folders go to a temporary cache, not the user's. */
    @TempDir static Path cache;
    private static String before;

    @BeforeAll static void ownCache() {
        before = System.getProperty("jgan.cache");
        System.setProperty("jgan.cache", cache.toString());
    }

    @AfterAll static void userCache() {
        if (before == null) System.clearProperty("jgan.cache");
        else System.setProperty("jgan.cache", before);
    }

    /** 130 pictures of 20x30 in two class folders: warm (red) and cold (blue), noisy; PNGs and JPEGs. */
    static Path pictures(Path dir) throws IOException {
        for (int i = 0; i < 130; i++) {
            boolean warm = i % 2 == 0;
            BufferedImage img = new BufferedImage(20, 30, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 30; y++)
                for (int x = 0; x < 20; x++) {
                    int v = (x * 7 + y * 3 + i) % 40;
                    img.setRGB(x, y, warm ? (200 + v) << 16 | (40 + v) << 8 | v : v << 16 | (60 + v) << 8 | (190 + v));
                }
            Path f = dir.resolve((warm ? "warm" : "cold") + "/p" + i + (i % 3 == 0 ? ".jpg" : ".png"));
            Files.createDirectories(f.getParent());
            ImageIO.write(img, i % 3 == 0 ? "jpeg" : "png", f.toFile());
        }
        return dir;
    }

    @Test
    void aFolderOfPicturesTrainsSamplesAndEvaluatesInColour(@TempDir Path tmp) throws IOException {
        Path data = pictures(tmp.resolve("pictures")), run = tmp.resolve("run");
        CliTest.Run r = gan("train", "--device", "cpu", "--preset", "mlp-gan-small", "--data", data.toString(), "--steps", "4", "--batch", "8",
                "--log-every", "2", "--sample-every", "4", "--out", run.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        JsonNode c = Json.readTree(run.resolve("config.json")).path("config");
        assertEquals("folder", c.path("dataset").asText(), "a --data folder of pictures is a folder");
        assertEquals(3, c.path("channels").asInt(), "colour, from the data");
        BufferedImage grid = ImageIO.read(run.resolve("samples/step-0000004.png").toFile());
        assertEquals(3, grid.getColorModel().getNumColorComponents(), "a colour grid");
        assertTrue(Files.readString(run.resolve("metrics.jsonl")).contains("\"data_ms\":"), "data time per step in the metrics");

        Path ck = run.resolve("checkpoints/step-0000004.safetensors");
        failsWith(2, "idx holds gray images only; this checkpoint makes 3-channel images: use --format npy or png",
                "sample", "--device", "cpu", "--checkpoint", ck.toString(), "--out", tmp.resolve("s.idx").toString());
        CliTest.Run npy = gan("sample", "--device", "cpu", "--checkpoint", ck.toString(), "--n", "5", "--out", tmp.resolve("s.npy").toString());
        assertEquals(0, npy.code(), npy.err());
        assertEquals(128 + 5 * 3 * 28 * 28 * 4, Files.size(tmp.resolve("s.npy")), "npy: a 128-byte header and 5 x 3 x 28 x 28 floats");

        CliTest.Run ev = gan("eval", "--device", "cpu", "--checkpoint", ck.toString(), "--n", "20", "--out", tmp.resolve("e.json").toString());
        assertEquals(0, ev.code(), ev.err());
        assertTrue(ev.out().contains("every 5th image of each class, held out"), ev.out());
        assertTrue(ev.out().contains("of 2 classes") && ev.out().contains("cold") && ev.out().contains("warm"), ev.out());
        JsonNode e = Json.readTree(tmp.resolve("e.json"));
        assertEquals(2, e.path("classes").asInt());
        assertTrue(e.path("fid").asDouble() > 0, e.toString());
        try (var s = Files.list(cache.resolve("images"))) { assertTrue(s.findAny().isPresent(), "decoded into the cache"); }
    }

    @Test
    void anUnlabelledFolderTrainsButCannotBeEvaluated(@TempDir Path tmp) throws IOException {
        Path nested = pictures(tmp.resolve("p")), flat = Files.createDirectories(tmp.resolve("flat"));
        try (var s = Files.walk(nested)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) Files.copy(p, flat.resolve(p.getParent().getFileName() + "-" + p.getFileName()));
        }
        Path run = tmp.resolve("run");
        CliTest.Run r = gan("train", "--device", "cpu", "--preset", "mlp-gan-small", "--data", flat.toString(), "--steps", "2", "--batch", "8",
                "--out", run.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        failsWith(2, "FID and class coverage need labels, and folder flat has none",
                "eval", "--device", "cpu", "--checkpoint", run.resolve("checkpoints/step-0000002.safetensors").toString(), "--n", "20");
        failsWith(2, "no usable image in", "train", "--device", "cpu", "--preset", "mlp-gan-small", "--data",
                Files.createDirectories(tmp.resolve("empty")).toString(), "--steps", "2", "--out", tmp.resolve("r2").toString());
    }
}
