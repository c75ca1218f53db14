package dev.jgan.gan;

import dev.jgan.backend.Backend;
import dev.jgan.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A short run (at 10x the recipe's learning rate, to move in 200 steps) on warm-coloured pictures: G's mean colour, per channel, moves to the data's. */
class ColourTrainingTest {
    private static final int STEPS = 200;

    @Test
    void samplesTakeTheDatasMeanColourPerChannel(@TempDir Path tmp) throws IOException {
        Path data = Files.createDirectories(tmp.resolve("warm"));
        double[] want = new double[3];
        int n = 64;
        for (int i = 0; i < n; i++) {
            BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++) {
                    int v = (x * 5 + y * 3 + i * 11) % 48, r = 190 + v, g = 70 + v, b = 10 + v / 2;
                    img.setRGB(x, y, r << 16 | g << 8 | b);
                    want[0] += r;
                    want[1] += g;
                    want[2] += b;
                }
            ImageIO.write(img, "png", data.resolve("p" + i + ".png").toFile());
        }
        for (int ch = 0; ch < 3; ch++) want[ch] = want[ch] / (n * 784) / 127.5 - 1;   // in [-1, 1]
        Preset p = Presets.get("mlp-gan-small");
        TrainConfig c = TrainConfig.builder(p).dataset("fashion-mnist").dataDir(data.toString()).seed(3).batch(16).steps(STEPS).lr(2e-3f)
                .logEvery(50).sampleEvery(STEPS).checkpointEvery(STEPS).build();
        System.setProperty("jgan.cache", tmp.resolve("cache").toString());
        try (Backend b = new CpuBackend(2)) {
            TrainingRun.Result r = new TrainingRun(b, tmp.resolve("run"), s -> {}).start(c, 0, TrainingRun.Progress.NONE);
            Checkpoints.Loaded ck = Checkpoints.read(r.checkpoint());
            assertEquals(3, ck.config().channels(), "colour from the data");
            float[] x = Generation.generate(b, ck, 256, 9);
            double[] got = new double[3];
            for (int ch = 0; ch < 3; ch++) {
                for (int i = 0; i < 256; i++) for (int k = 0; k < 784; k++) got[ch] += x[i * 3 * 784 + ch * 784 + k];
                got[ch] /= 256 * 784;
            }
            // an untrained G's tanh averages about 0: each channel at least half way from there to the data's mean
            for (int ch = 0; ch < 3; ch++)
                assertTrue(Math.abs(got[ch] - want[ch]) < Math.abs(want[ch]) / 2,
                        "channel " + ch + ": G's means " + java.util.Arrays.toString(got) + ", the data's " + java.util.Arrays.toString(want));
        } finally {
            System.clearProperty("jgan.cache");
        }
    }
}
