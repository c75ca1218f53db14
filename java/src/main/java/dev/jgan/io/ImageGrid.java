package dev.jgan.io;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.awt.image.DataBufferInt;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * A PNG grid of images, as the GAN tutorials save every few epochs (5x5, 8x8, ...).
 *
 * <p>Input: {@code images} (N, C, H, W), values in [-1, 1], C = 1 (grey) or 3 (RGB). A value
 * maps to {@code round((x + 1) * 127.5)} clamped to 0..255 (NaN to 0). Images fill the grid
 * row by row, {@code cols} per row, each pixel repeated {@code scale} x {@code scale} times,
 * with {@value #SEPARATOR}-pixel grey separators between cells and around the border.
 */
public final class ImageGrid {
    /** Separator width in output pixels. */
    public static final int SEPARATOR = 2;
    /** Separators are mid grey so that they show against both black and white backgrounds. */
    static final int SEPARATOR_GREY = 128;

    private ImageGrid() {}

    /** A grid at scale 1. */
    public static void writePng(Path file, float[] images, int n, int c, int h, int w, int cols) {
        writePng(file, images, n, c, h, w, cols, 1);
    }

    /** A grid with each pixel enlarged {@code scale} times (nearest neighbour), written atomically. */
    public static void writePng(Path file, float[] images, int n, int c, int h, int w, int cols, int scale) {
        BufferedImage img = render(images, n, c, h, w, cols, scale);
        AtomicFiles.write(file, out -> png(img, out));
    }

    /** One image (C, H, W) as a BufferedImage of W x H pixels, no border: gray for C = 1, RGB for C = 3. */
    public static BufferedImage single(float[] image, int c, int h, int w) {
        return render(image, 1, c, h, w, 1, 1).getSubimage(SEPARATOR, SEPARATOR, w, h);
    }

    /** The grid as PNG bytes, for a reply rather than a file. */
    public static byte[] pngBytes(float[] images, int n, int c, int h, int w, int cols, int scale) {
        return bytes(render(images, n, c, h, w, cols, scale));
    }

    /** An image as PNG bytes. */
    static byte[] bytes(BufferedImage img) {
        var out = new java.io.ByteArrayOutputStream();
        try {
            png(img, out);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);   // a byte array does not fail
        }
        return out.toByteArray();
    }

    /** The grid as an image (TYPE_BYTE_GRAY for C = 1, TYPE_INT_RGB for C = 3). */
    static BufferedImage render(float[] images, int n, int c, int h, int w, int cols, int scale) {
        if (n < 1 || h < 1 || w < 1 || cols < 1 || scale < 1)
            throw new IllegalArgumentException("need n, h, w, cols, scale >= 1; got n=" + n + " h=" + h + " w=" + w
                    + " cols=" + cols + " scale=" + scale);
        if (c != 1 && c != 3) throw new IllegalArgumentException("images must have 1 or 3 channels, got " + c);
        if ((long) n * c * h * w > images.length)
            throw new IllegalArgumentException("images hold " + images.length + " floats, need " + (long) n * c * h * w);
        int gridCols = Math.min(cols, n);
        int rows = (n + gridCols - 1) / gridCols;
        int cellH = h * scale, cellW = w * scale;
        int width = gridCols * (cellW + SEPARATOR) + SEPARATOR;
        int height = rows * (cellH + SEPARATOR) + SEPARATOR;
        int plane = h * w;

        if (c == 1) {
            BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
            byte[] px = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
            Arrays.fill(px, (byte) SEPARATOR_GREY);
            for (int i = 0; i < n; i++) {
                int x0 = SEPARATOR + (i % gridCols) * (cellW + SEPARATOR);
                int y0 = SEPARATOR + (i / gridCols) * (cellH + SEPARATOR);
                for (int y = 0; y < cellH; y++) {
                    int src = i * plane + (y / scale) * w;
                    int dst = (y0 + y) * width + x0;
                    for (int x = 0; x < cellW; x++) px[dst + x] = (byte) toByte(images[src + x / scale]);
                }
            }
            return img;
        }
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] px = ((DataBufferInt) img.getRaster().getDataBuffer()).getData();
        Arrays.fill(px, SEPARATOR_GREY * 0x010101);
        for (int i = 0; i < n; i++) {
            int x0 = SEPARATOR + (i % gridCols) * (cellW + SEPARATOR);
            int y0 = SEPARATOR + (i / gridCols) * (cellH + SEPARATOR);
            int base = i * 3 * plane;
            for (int y = 0; y < cellH; y++) {
                int row = (y / scale) * w;
                int dst = (y0 + y) * width + x0;
                for (int x = 0; x < cellW; x++) {
                    int s = base + row + x / scale;
                    px[dst + x] = toByte(images[s]) << 16 | toByte(images[s + plane]) << 8 | toByte(images[s + 2 * plane]);
                }
            }
        }
        return img;
    }

    /** [-1, 1] to 0..255, rounded, clamped; NaN to 0. */
    static int toByte(float x) {
        float v = (x + 1f) * 127.5f;
        if (!(v > 0f)) return 0;  // also NaN
        return v >= 255f ? 255 : Math.round(v);
    }

    /** Encodes as PNG into {@code out} without ImageIO's temporary cache files. */
    static void png(BufferedImage img, OutputStream out) throws IOException {
        Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("png");
        if (!writers.hasNext()) throw new IOException("this JDK has no PNG encoder");
        ImageWriter writer = writers.next();
        try (ImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
            writer.setOutput(ios);
            writer.write(img);
        } finally {
            writer.dispose();
        }
    }
}
