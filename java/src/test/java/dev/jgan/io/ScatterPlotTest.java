package dev.jgan.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;

import static org.junit.jupiter.api.Assertions.*;

class ScatterPlotTest {
    @TempDir Path dir;

    @Test void pointsAndCentresLandWhereTheyShould() throws IOException {
        // 200 points stacked at (1.5, -1.5), one outside the range, one NaN
        int n = 202;
        float[] xy = new float[2 * n];
        for (int i = 0; i < 200; i++) {
            xy[2 * i] = 1.5f;
            xy[2 * i + 1] = -1.5f;
        }
        xy[400] = 10f;
        xy[402] = Float.NaN;
        float[][] centres = {{-1.5f, 1.5f}};
        Path f = dir.resolve("ring.png");
        ScatterPlot.writePng(f, xy, n, centres);
        BufferedImage img = ImageIO.read(f.toFile());
        assertEquals(400, img.getWidth());
        assertEquals(400, img.getHeight());
        // (1.5, -1.5) -> pixel (300, 300), y up
        Color point = new Color(img.getRGB(300, 300));
        assertTrue(point.getBlue() > point.getRed() + 50, "a blue dot at the points: " + point);
        // the centre's ring passes through (100 + radius, 100)
        int r = (int) Math.round(Math.max(4.0, 400 / 70.0));
        Color ring = new Color(img.getRGB(100 + r, 100));
        assertTrue(ring.getRed() > ring.getBlue() + 50, "a red ring at the centre: " + ring);
        assertEquals(Color.WHITE.getRGB(), img.getRGB(20, 380), "background elsewhere");
    }
}
