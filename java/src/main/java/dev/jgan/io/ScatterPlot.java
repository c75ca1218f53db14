package dev.jgan.io;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.awt.image.BufferedImage;
import java.nio.file.Path;

/**
 * A plain 2-D scatter plot of points (x, y) for the ring-of-Gaussians toy: a square image
 * spanning [-range, range] on both axes (y up), light axes through the origin, the samples as
 * small translucent blue dots, and each mode centre as a red ring. No text, so it needs no fonts.
 * Points outside the range are not drawn.
 */
public final class ScatterPlot {
    public static final int DEFAULT_SIZE = 400;
    public static final float DEFAULT_RANGE = 3f;

    private ScatterPlot() {}

    /** 400 x 400 pixels over [-3, 3]^2. {@code centres} may be null. */
    public static void writePng(Path file, float[] xy, int n, float[][] centres) {
        writePng(file, xy, n, centres, DEFAULT_SIZE, DEFAULT_RANGE);
    }

    /** {@code xy}: n points as (x0, y0, x1, y1, ...); written atomically. */
    public static void writePng(Path file, float[] xy, int n, float[][] centres, int sizePx, float range) {
        BufferedImage img = render(xy, n, centres, sizePx, range);
        AtomicFiles.write(file, out -> ImageGrid.png(img, out));
    }

    /** The plot as PNG bytes, for a reply rather than a file. */
    public static byte[] pngBytes(float[] xy, int n, float[][] centres) {
        return ImageGrid.bytes(render(xy, n, centres, DEFAULT_SIZE, DEFAULT_RANGE));
    }

    static BufferedImage render(float[] xy, int n, float[][] centres, int size, float range) {
        if (size < 16) throw new IllegalArgumentException("plot size must be at least 16 pixels, got " + size);
        if (!(range > 0)) throw new IllegalArgumentException("range must be positive, got " + range);
        if (n < 0 || 2L * n > xy.length) throw new IllegalArgumentException("xy holds " + xy.length / 2 + " points, asked for " + n);
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, size, size);
            double half = size / 2.0, perUnit = half / range;
            g.setColor(new Color(0xDDDDDD));
            g.setStroke(new BasicStroke(1f));
            g.draw(new Line2D.Double(0, half, size, half));
            g.draw(new Line2D.Double(half, 0, half, size));

            g.setColor(new Color(31, 119, 180, 110));
            double r = Math.max(1.0, size / 250.0);
            for (int i = 0; i < n; i++) {
                float x = xy[2 * i], y = xy[2 * i + 1];
                if (!(Math.abs(x) <= range && Math.abs(y) <= range)) continue;  // also skips NaN
                double px = half + x * perUnit, py = half - y * perUnit;
                g.fill(new Ellipse2D.Double(px - r, py - r, 2 * r, 2 * r));
            }

            if (centres != null) {
                g.setColor(new Color(214, 39, 40));
                g.setStroke(new BasicStroke(2f));
                double cr = Math.max(4.0, size / 70.0);
                for (float[] c : centres) {
                    double px = half + c[0] * perUnit, py = half - c[1] * perUnit;
                    g.draw(new Ellipse2D.Double(px - cr, py - cr, 2 * cr, 2 * cr));
                }
            }
        } finally {
            g.dispose();
        }
        return img;
    }
}
