package dev.jgan.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The example runs as an application would run it: a run directory with its checkpoint, and four readable grids. */
class TrainAndSampleTest {
    @Test
    void trainsTheRingAndWritesFourGrids(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("run");
        TrainAndSample.main(new String[] {out.toString(), "ring", "40"});
        assertTrue(Files.isRegularFile(out.resolve("checkpoints/step-0000040.safetensors")), "the run's checkpoint");
        for (int i = 0; i < 4; i++) {
            Path png = out.resolve("sample-" + i + ".png");
            assertTrue(Files.isRegularFile(png), png + " written");
            assertNotNull(ImageIO.read(png.toFile()), png + " is a PNG");
        }
    }
}
