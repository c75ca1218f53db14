package dev.jgan.io;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.DoubleUnaryOperator;

/**
 * A line chart as a standalone SVG document, written by hand (no charting dependency, no fonts
 * to install: the browser renders the text): x axis = training step, one polyline per series,
 * "nice" tick values on both axes, a legend. Non-finite points are skipped.
 */
public final class SvgChart {
    public static final int WIDTH = 560, HEIGHT = 300;
    private static final int LEFT = 60, RIGHT = 16, TOP = 46, BOTTOM = 40;
    /** Series colours: colour-blind-safe (Okabe-Ito). */
    private static final String[] COLOURS = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"};

    /** One named line: x[i], y[i]. */
    public record Series(String name, double[] x, double[] y) {}

    private SvgChart() {}

    /** The SVG text of a chart titled {@code title}; {@code yLabel} names the vertical axis. */
    public static String render(String title, String yLabel, List<Series> series) {
        double xMin = Double.POSITIVE_INFINITY, xMax = Double.NEGATIVE_INFINITY, yMin = Double.POSITIVE_INFINITY, yMax = Double.NEGATIVE_INFINITY;
        for (Series s : series)
            for (int i = 0; i < s.x().length; i++) {
                if (!Double.isFinite(s.x()[i]) || !Double.isFinite(s.y()[i])) continue;
                xMin = Math.min(xMin, s.x()[i]);
                xMax = Math.max(xMax, s.x()[i]);
                yMin = Math.min(yMin, s.y()[i]);
                yMax = Math.max(yMax, s.y()[i]);
            }
        StringBuilder b = new StringBuilder();
        b.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(WIDTH).append("\" height=\"").append(HEIGHT)
                .append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(HEIGHT)
                .append("\" font-family=\"sans-serif\" font-size=\"11\">\n");
        b.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        b.append(text(WIDTH / 2.0, 18, "middle", 13, escape(title)));
        if (xMin > xMax) {   // nothing finite to draw
            b.append(text(WIDTH / 2.0, HEIGHT / 2.0, "middle", 12, "no data yet"));
            return b.append("</svg>\n").toString();
        }
        if (xMax == xMin) { xMin -= 1; xMax += 1; }
        if (yMax == yMin) { yMin -= Math.max(1e-3, Math.abs(yMin) * 0.1); yMax += Math.max(1e-3, Math.abs(yMax) * 0.1); }
        double[] yt = ticks(yMin, yMax), xt = ticks(xMin, xMax);
        yMin = Math.min(yMin, yt[0]);
        yMax = Math.max(yMax, yt[yt.length - 1]);
        double pw = WIDTH - LEFT - RIGHT, ph = HEIGHT - TOP - BOTTOM;
        final double x0 = xMin, x1 = xMax, y0 = yMin, y1 = yMax;
        DoubleUnaryOperator px = v -> LEFT + (v - x0) / (x1 - x0) * pw;
        DoubleUnaryOperator py = v -> TOP + (1 - (v - y0) / (y1 - y0)) * ph;
        for (double t : yt) {
            double y = py.applyAsDouble(t);
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", LEFT, y, LEFT + pw, y));
            b.append(text(LEFT - 6, y + 4, "end", 11, number(t, yt)));
        }
        for (double t : xt) {
            if (t < x0 || t > x1) continue;
            double x = px.applyAsDouble(t);
            b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#f0f0f0\"/>\n", x, TOP, x, TOP + ph));
            b.append(text(x, TOP + ph + 16, "middle", 11, number(t, xt)));
        }
        b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#888\"/>\n", LEFT, TOP, pw, ph));
        b.append(text(LEFT + pw / 2, HEIGHT - 6, "middle", 11, "step"));
        b.append(String.format(Locale.ROOT, "<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\">%s</text>\n",
                TOP + ph / 2, TOP + ph / 2, escape(yLabel)));
        double legendX = LEFT + 8;
        for (int k = 0; k < series.size(); k++) {
            Series s = series.get(k);
            String colour = COLOURS[k % COLOURS.length];
            List<String> points = new ArrayList<>();
            for (int i = 0; i < s.x().length; i++)
                if (Double.isFinite(s.x()[i]) && Double.isFinite(s.y()[i]))
                    points.add(String.format(Locale.ROOT, "%.1f,%.1f", px.applyAsDouble(s.x()[i]), py.applyAsDouble(s.y()[i])));
            if (points.size() == 1) {
                String[] xy = points.get(0).split(",");
                b.append("<circle cx=\"").append(xy[0]).append("\" cy=\"").append(xy[1]).append("\" r=\"3\" fill=\"").append(colour).append("\"/>\n");
            } else if (!points.isEmpty()) {
                b.append("<polyline fill=\"none\" stroke=\"").append(colour).append("\" stroke-width=\"1.6\" points=\"")
                        .append(String.join(" ", points)).append("\"/>\n");
            }
            // the legend sits between the title and the plot, never over a line
            b.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"12\" height=\"3\" fill=\"%s\"/>\n", legendX, TOP - 12, colour));
            b.append(text(legendX + 16, TOP - 8, "start", 11, escape(s.name())));
            legendX += 28 + 7 * s.name().length();
        }
        return b.append("</svg>\n").toString();
    }

    /** About five round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten). */
    static double[] ticks(double lo, double hi) {
        double raw = (hi - lo) / 5, mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
        double first = Math.floor(lo / step) * step;
        List<Double> out = new ArrayList<>();
        for (double t = first; t <= hi + step * 0.5 && out.size() < 12; t += step) out.add(Math.abs(t) < step * 1e-9 ? 0 : t);
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** A tick label with as many decimals as the tick spacing needs, the same for every tick of an axis. */
    private static String number(double v, double[] ticks) {
        double step = ticks.length > 1 ? ticks[1] - ticks[0] : Math.abs(v);
        int decimals = step > 0 ? Math.max(0, (int) Math.ceil(-Math.log10(step) - 1e-9)) : 0;
        if (Math.abs(v) >= 1e7) return String.format(Locale.ROOT, "%.3g", v);
        return String.format(Locale.ROOT, "%." + Math.min(decimals, 8) + "f", v);
    }

    private static String text(double x, double y, String anchor, int size, String content) {
        return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\">%s</text>\n", x, y, anchor, size, content);
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
