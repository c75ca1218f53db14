package dev.jgan.io;

import dev.jgan.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

import static org.junit.jupiter.api.Assertions.*;

class ImageGridTest {
    @TempDir Path dir;

    @Test void pixelMapping() {
        assertEquals(0, ImageGrid.toByte(-1f));
        assertEquals(255, ImageGrid.toByte(1f));
        assertEquals(128, ImageGrid.toByte(0f));  // 127.5 rounds up
        assertEquals(0, ImageGrid.toByte(-7f));
        assertEquals(255, ImageGrid.toByte(300f));
        assertEquals(0, ImageGrid.toByte(Float.NaN));
        assertEquals(64, ImageGrid.toByte(-0.5f));  // 63.75
    }

    @Test void greyGridLayout() throws IOException {
        int n = 5, h = 3, w = 4, cols = 2, scale = 2;
        float[] images = new float[n * h * w];
        for (int i = 0; i < n; i++)
            for (int p = 0; p < h * w; p++) images[i * h * w + p] = -1f + 2f * p / (h * w - 1) * (i + 1) / n;
        Path f = dir.resolve("grid.png");
        ImageGrid.writePng(f, images, n, 1, h, w, cols, scale);
        BufferedImage img = ImageIO.read(f.toFile());
        int sep = ImageGrid.SEPARATOR;
        assertEquals(cols * (w * scale + sep) + sep, img.getWidth());
        assertEquals(3 * (h * scale + sep) + sep, img.getHeight());
        int grey = ImageGrid.SEPARATOR_GREY;
        assertEquals(grey, img.getRaster().getSample(0, 0, 0));
        assertEquals(grey, img.getRaster().getSample(sep + w * scale, sep, 0), "separator between columns");
        for (int i = 0; i < n; i++) {
            int x0 = sep + (i % cols) * (w * scale + sep), y0 = sep + (i / cols) * (h * scale + sep);
            for (int y = 0; y < h * scale; y++)
                for (int x = 0; x < w * scale; x++)
                    assertEquals(ImageGrid.toByte(images[i * h * w + (y / scale) * w + x / scale]),
                            img.getRaster().getSample(x0 + x, y0 + y, 0), "image " + i + " at " + x + "," + y);
        }
        // the unused sixth cell stays separator grey
        assertEquals(grey, img.getRaster().getSample(sep + w * scale + sep + 1, sep + 2 * (h * scale + sep) + 1, 0));
    }

    @Test void rgbChannelsAreInOrder() throws IOException {
        // one 1x2 image: pixel 0 pure red, pixel 1 blue-ish; planes R, G, B
        float[] img = {1f, -1f, /* G */ -1f, 0f, /* B */ -1f, 1f};
        Path f = dir.resolve("rgb.png");
        ImageGrid.writePng(f, img, 1, 3, 1, 2, 1);
        BufferedImage b = ImageIO.read(f.toFile());
        int s = ImageGrid.SEPARATOR;
        assertEquals(0xFF0000, b.getRGB(s, s) & 0xFFFFFF);
        assertEquals(0x0080FF, b.getRGB(s + 1, s) & 0xFFFFFF);
    }

    @Test void badArgumentsAndUnwritableOutput() throws IOException {
        assertThrows(IllegalArgumentException.class, () -> ImageGrid.writePng(dir.resolve("x.png"), new float[8], 2, 2, 2, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> ImageGrid.writePng(dir.resolve("x.png"), new float[3], 2, 1, 2, 1, 1));
        Path blocker = Files.writeString(dir.resolve("samples"), "");
        UserError e = assertThrows(UserError.class,
                () -> ImageGrid.writePng(blocker.resolve("e1.png"), new float[4], 1, 1, 2, 2, 1));
        assertTrue(e.getMessage().startsWith("cannot write to " + blocker + ": "), e.getMessage());
    }
}
