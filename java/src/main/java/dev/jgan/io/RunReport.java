package dev.jgan.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jgan.UserError;
import dev.jgan.data.Emoji;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@code report.html} of a run directory: one self-contained page (no network, nothing beside
 * it) built from what the run wrote: the latest sample grid and a timeline of grids (PNG,
 * embedded as base64 data: URIs), the curves of metrics.jsonl (losses; D(x) and D(G(z)); FID and
 * class coverage when the run measured them; modes for the toy) as SVG charts embedded the same
 * way, the config, and the machine and backend. Written atomically; rebuilt from the files alone,
 * so `gan report RUN` gives the page the run itself would write.
 */
public final class RunReport {
    public static final String FILE = "report.html";
    /** Grids in the timeline at most: evenly spaced, first and last included (a page stays a few MB). */
    static final int TIMELINE = 12;
    private static final Pattern SAMPLE = Pattern.compile("step-(\\d+)\\.png");

    private RunReport() {}

    /** Writes {@code runDir/report.html}; returns it. A UserError when the directory holds no run. */
    public static Path write(Path runDir) {
        if (!Files.isRegularFile(runDir.resolve("config.json")))
            throw new UserError(runDir + " is not a run directory: it has no config.json");
        JsonNode config = Json.readTree(runDir.resolve("config.json"));
        Path metricsFile = runDir.resolve("metrics.jsonl");
        List<Map<String, Object>> rows = Files.exists(metricsFile) ? MetricsLog.read(metricsFile) : List.of();
        List<Path> samples = samples(runDir.resolve("samples"));
        Path out = runDir.resolve(FILE);
        AtomicFiles.writeString(out, html(runDir, config, rows, samples, latestEval(runDir.resolve("checkpoints"))));
        return out;
    }

    /** The newest {@code gan eval} JSON beside the run's checkpoints (by the step of its checkpoint), or null. */
    static JsonNode latestEval(Path checkpoints) {
        if (!Files.isDirectory(checkpoints)) return null;
        try (var files = Files.list(checkpoints)) {
            Path newest = files.filter(f -> f.getFileName().toString().endsWith(".eval.json")).max(Comparator.naturalOrder()).orElse(null);
            if (newest == null) return null;
            try {
                return Json.readTree(newest);
            } catch (UserError unreadable) {
                return null;   // a half-written or foreign file does not stop the report
            }
        } catch (IOException e) {
            return null;
        }
    }

    static String html(Path runDir, JsonNode doc, List<Map<String, Object>> rows, List<Path> samples) {
        return html(runDir, doc, rows, samples, null);
    }

    static String html(Path runDir, JsonNode doc, List<Map<String, Object>> rows, List<Path> samples, JsonNode eval) {
        String name = runDir.toAbsolutePath().normalize().getFileName().toString();
        JsonNode c = doc.path("config");
        StringBuilder b = new StringBuilder();
        b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>jgan run ").append(esc(name)).append("</title>\n")
                .append("<style>body{font-family:sans-serif;margin:24px;max-width:1200px;color:#222}h1{margin-bottom:4px}"
                        + "h2{border-bottom:1px solid #ddd;padding-bottom:3px;margin-top:28px}.sub{color:#666}"
                        + "img.grid{image-rendering:pixelated;border:1px solid #ccc}.timeline{display:flex;flex-wrap:wrap;gap:12px}"
                        + ".timeline figure{margin:0;text-align:center;font-size:12px}.timeline img{width:150px;image-rendering:pixelated;border:1px solid #ccc}"
                        + ".charts{display:flex;flex-wrap:wrap;gap:16px}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}"
                        + "pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:12px}.warn{color:#b00}</style>\n</head><body>\n");
        Map<String, Object> last = rows.isEmpty() ? null : lastWith(rows, "d_loss");
        b.append("<h1>").append(esc(name)).append("</h1>\n<p class=\"sub\">")
                .append(esc(c.path("preset").asText("?"))).append(" on ").append(esc(c.path("dataset").asText("?")))
                .append(", step ").append(last == null ? "0" : last.get("step")).append(" of ").append(c.path("steps").asText("?"))
                .append(c.path("gEma").asDouble(0) > 0 ? ", generator EMA " + c.path("gEma").asText() : "")
                .append(c.path("channels").asInt(1) == 3 ? ", in colour" : "")
                .append(". Report written ").append(ZonedDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss z", Locale.ROOT)))
                .append(".</p>\n");

        b.append("<h2>Latest samples</h2>\n");
        if (samples.isEmpty()) b.append("<p>No sample grid yet.</p>\n");
        else {
            Path latest = samples.get(samples.size() - 1);
            b.append("<figure><img class=\"grid\" width=\"300\" alt=\"samples at step ").append(stepOf(latest)).append("\" src=\"")
                    .append(png(latest)).append("\"><figcaption>step ").append(stepOf(latest)).append("</figcaption></figure>\n");
        }

        List<Map<String, Object>> evals = rows.stream().filter(r -> r.get("fid") instanceof Number).toList();
        if (!evals.isEmpty()) {
            Map<String, Object> e = evals.get(evals.size() - 1);
            Object classes = e.get("classes") != null ? e.get("classes") : 10;   // runs before colour data measured 10 classes
            b.append("<h2>Quality</h2>\n<table><tr><th>step</th><th>FID</th><th>classes covered (&ge; a fifth of their share of the data)</th>"
                    + "<th>KL from the data's classes</th><th>KL from uniform</th><th>mean confidence</th><th>samples</th></tr>\n<tr><td>")
                    .append(e.get("step")).append("</td><td>")
                    .append(fmt(e.get("fid"))).append("</td><td>").append(e.get("classes_covered")).append(" of ").append(classes).append("</td><td>")
                    .append(e.get("kl_data") == null ? "-" : fmt(e.get("kl_data"))).append("</td><td>")
                    .append(fmt(e.get("kl_uniform"))).append("</td><td>").append(fmt(e.get("mean_confidence"))).append("</td><td>")
                    .append(e.get("eval_n")).append("</td></tr></table>\n");
            if (e.get("floor_fid") instanceof Number f)
                b.append("<p class=\"sub\">FID of the real training split against the test split (the floor): ").append(fmt(f)).append("</p>\n");
            if (e.get("class_accuracy") instanceof List<?> acc)
                perClass(b, "Each class asked for, step " + e.get("step") + " (" + e.get("eval_n") + " images, every class in turn)",
                        acc, e.get("class_fid") instanceof List<?> f ? f : List.of(), List.of());
            b.append("<div class=\"charts\">\n")
                    .append(chart("FID against the test split (lower is better)", "FID", evals, "fid"))
                    .append(chart("Class coverage", "classes", evals, "classes_covered"))
                    .append("</div>\n");
        }
        if (eval != null && eval.path("per_class").isArray()) {
            List<Object> acc = new ArrayList<>(), fid = new ArrayList<>(), names = new ArrayList<>();
            for (JsonNode r : eval.path("per_class")) {
                acc.add(r.path("accuracy").asDouble());
                fid.add(r.path("fid").isNumber() ? r.path("fid").asDouble() : null);
                names.add(r.path("name").asText(""));
            }
            b.append("<h2>gan eval of step ").append(eval.path("step").asText("?")).append("</h2>\n<p>FID ").append(fmt(eval.path("fid").asDouble()))
                    .append(" (").append(eval.path("n").asText()).append(" images of the ").append(esc(eval.path("generator").asText("?")))
                    .append(" generator); asked for each class, classified as asked ").append(pct(eval.path("class_accuracy_min").asDouble()))
                    .append(" at worst.</p>\n");
            perClass(b, null, acc, fid, names);
        }
        List<Map<String, Object>> train = rows.stream().filter(r -> r.get("d_loss") instanceof Number).toList();
        b.append("<h2>Training curves</h2>\n<div class=\"charts\">\n");
        b.append(chart("Losses", "loss", train, "d_loss", "g_loss"));
        if (train.stream().anyMatch(r -> r.get("critic_real") != null))   // hinge, lsgan, wgan: D's raw output
            b.append(chart("Critic scores (D's raw output, no sigmoid)", "mean score", train, "critic_real", "critic_fake", "critic_gap"));
        else
            b.append(chart("Discriminator outputs D(x), D(G(z))", "mean sigmoid", train, "d_x", "d_g_z"));
        if (train.stream().anyMatch(r -> r.get("modes_covered") != null))
            b.append(chart("Ring modes covered (of 8)", "modes", train, "modes_covered"));
        b.append("</div>\n");

        if (samples.size() > 1) {
            b.append("<h2>Timeline</h2>\n<div class=\"timeline\">\n");
            for (Path p : timeline(samples))
                b.append("<figure><img alt=\"samples at step ").append(stepOf(p)).append("\" src=\"").append(png(p))
                        .append("\"><figcaption>step ").append(stepOf(p)).append("</figcaption></figure>\n");
            b.append("</div>\n");
        }

        if (Emoji.NAME.equals(c.path("dataset").asText())) b.append("<p class=\"sub\">").append(esc(Emoji.CREDIT)).append(".</p>\n");
        b.append("<h2>Config</h2>\n<pre>").append(esc(c.toPrettyString())).append("</pre>\n");
        b.append("<h2>Machine and backend</h2>\n<table>\n");
        row(b, "backend", doc.path("backend").asText("?"));
        JsonNode m = doc.path("machine");
        m.fieldNames().forEachRemaining(k -> row(b, k, m.path(k).asText()));
        row(b, "model", doc.path("model").asText("?"));
        b.append("</table>\n</body></html>\n");
        return b.toString();
    }

    private static Map<String, Object> lastWith(List<Map<String, Object>> rows, String key) {
        for (int i = rows.size() - 1; i >= 0; i--) if (rows.get(i).get(key) != null) return rows.get(i);
        return rows.get(rows.size() - 1);
    }

    private static String chart(String title, String yLabel, List<Map<String, Object>> rows, String... keys) {
        List<SvgChart.Series> series = new ArrayList<>();
        for (String k : keys) {
            double[] x = new double[rows.size()], y = new double[rows.size()];
            for (int i = 0; i < rows.size(); i++) {
                x[i] = number(rows.get(i).get("step"));
                y[i] = number(rows.get(i).get(k));
            }
            series.add(new SvgChart.Series(k, x, y));
        }
        String svg = SvgChart.render(title, yLabel, series);
        return "<img alt=\"" + esc(title) + "\" width=\"" + SvgChart.WIDTH + "\" height=\"" + SvgChart.HEIGHT
                + "\" src=\"data:image/svg+xml;base64," + Base64.getEncoder().encodeToString(svg.getBytes(StandardCharsets.UTF_8)) + "\">\n";
    }

    private static double number(Object o) {
        return o instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    /** A table with one row per class: how often its images are classified as asked, and their FID against the class's test images. */
    private static void perClass(StringBuilder b, String caption, List<?> accuracy, List<?> fid, List<Object> names) {
        if (caption != null) b.append("<p class=\"sub\">").append(esc(caption)).append("</p>\n");
        boolean named = names.stream().anyMatch(n -> !String.valueOf(n).isEmpty());
        b.append("<table><tr><th>class</th>").append(named ? "<th>name</th>" : "")
                .append("<th>classified as asked</th><th>FID against the class's test images</th></tr>\n");
        for (int k = 0; k < accuracy.size(); k++) {
            b.append("<tr><td>").append(k).append("</td>");
            if (named) b.append("<td>").append(esc(String.valueOf(names.get(k)))).append("</td>");
            Object f = k < fid.size() ? fid.get(k) : null;
            b.append("<td>").append(accuracy.get(k) instanceof Number a ? pct(a.doubleValue()) : "-").append("</td><td>")
                    .append(f instanceof Number ? fmt(f) : "-").append("</td></tr>\n");
        }
        b.append("</table>\n");
    }

    private static String pct(double share) {
        return String.format(Locale.ROOT, "%.1f%%", 100 * share);
    }

    private static String fmt(Object o) {
        return o instanceof Number n ? String.format(Locale.ROOT, "%.3f", n.doubleValue()) : String.valueOf(o);
    }

    private static void row(StringBuilder b, String k, String v) {
        b.append("<tr><th>").append(esc(k)).append("</th><td>").append(esc(v)).append("</td></tr>\n");
    }

    static List<Path> samples(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> SAMPLE.matcher(p.getFileName().toString()).matches())
                    .sorted((a, c) -> Long.compare(stepOf(a), stepOf(c))).toList();
        } catch (IOException e) {
            throw new UserError("cannot list " + dir + ": " + IoErrors.reason(e), e);
        }
    }

    /** At most {@link #TIMELINE} of the grids, evenly spaced, first and last included. */
    static List<Path> timeline(List<Path> all) {
        if (all.size() <= TIMELINE) return all;
        List<Path> out = new ArrayList<>();
        for (int i = 0; i < TIMELINE; i++) out.add(all.get((int) Math.round(i * (all.size() - 1) / (double) (TIMELINE - 1))));
        return out;
    }

    static long stepOf(Path p) {
        Matcher m = SAMPLE.matcher(p.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    private static String png(Path p) {
        try {
            return "data:image/png;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(p));
        } catch (IOException e) {
            throw new UserError("cannot read " + p + ": " + IoErrors.reason(e), e);
        }
    }

    private static String esc(String s) { return SvgChart.escape(s); }
}
