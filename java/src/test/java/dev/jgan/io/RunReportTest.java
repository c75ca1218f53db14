package dev.jgan.io;

import dev.jgan.cpu.CpuBackend;
import dev.jgan.gan.Presets;
import dev.jgan.gan.TinyData;
import dev.jgan.gan.TrainConfig;
import dev.jgan.gan.TrainingRun;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * report.html of a short real run: self-contained (no network, no file beside it), and in
 * headless Chromium every image and plot loads (none with naturalWidth 0); a screenshot is taken
 * (target/report-screenshot.png). Without Debian's chromium the browser checks are skipped with
 * the reason, and fail under CI=true (.ci/run installs it).
 */
class RunReportTest {
    static CpuBackend backend;
    @TempDir static Path tmp;
    static Path run;

    @BeforeAll
    static void shortRun() {
        backend = new CpuBackend(2);
        Path data = TinyData.write(tmp.resolve("data"), 100);
        TrainConfig c = TrainConfig.builder(Presets.get("mlp-gan")).dataset("fashion-mnist").dataDir(data.toString())
                .seed(5).batch(16).steps(12).logEvery(2).sampleEvery(3).checkpointEvery(12).gEma(0.9f).build();
        run = tmp.resolve("run");
        new TrainingRun(backend, run, s -> {}).start(c, 0, TrainingRun.Progress.NONE);
    }

    @AfterAll static void close() { backend.close(); }

    @Test
    void selfContainedWithEveryPart() throws Exception {
        String html = Files.readString(run.resolve(RunReport.FILE));
        assertFalse(Pattern.compile("(src|href)=\"(?!data:)").matcher(html).find(), "every src is a data: URI");
        assertFalse(html.contains("http://") && !html.contains("xmlns"), "no network");
        for (String part : List.of("Latest samples", "Training curves", "Timeline", "Config", "Machine and backend", "d_g_z", "gEma"))
            assertTrue(html.contains(part) || decodedSvgs(html).contains(part), "report has " + part);
        assertEquals(4 + 2 + 1, count(html, "<img "), "latest grid, 4 timeline grids (steps 3, 6, 9, 12), 2 charts");
        // rebuilt from the files alone, as `gan report` does
        Files.delete(run.resolve(RunReport.FILE));
        RunReport.write(run);
        assertEquals(count(html, "<img "), count(Files.readString(run.resolve(RunReport.FILE)), "<img "));
    }

    /** Metrics rows with FID add the quality table and two more charts. */
    @Test
    void fidRowsAddTheQualityCharts(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), "{\"config\":{\"preset\":\"dcgan-28\",\"dataset\":\"fashion-mnist\",\"steps\":20},"
                + "\"backend\":\"cpu\",\"machine\":{\"cpu\":\"test\"},\"model\":\"m\"}");
        try (MetricsLog m = MetricsLog.open(dir.resolve("metrics.jsonl"))) {
            m.append(Map.of("step", 10, "d_loss", 1.2, "g_loss", 0.8, "d_x", 0.6, "d_g_z", 0.4));
            m.append(Map.of("step", 15, "fid", 80.5, "classes_covered", 7, "kl_uniform", 0.3, "mean_confidence", 0.7, "eval_n", 100));
            m.append(Map.of("step", 20, "d_loss", 1.1, "g_loss", 0.9, "d_x", 0.6, "d_g_z", 0.4, "fid", 60.25,
                    "classes_covered", 9, "kl_uniform", 0.1, "mean_confidence", 0.8, "eval_n", 100));
        }
        String html = Files.readString(RunReport.write(dir));
        assertTrue(html.contains("<td>60.250</td>"), "the latest FID in the table");
        assertEquals(4, count(html, "<img "), "FID, coverage, losses, D outputs; no samples yet");
        assertTrue(html.contains("No sample grid yet"));
    }

    @Test
    void everyImageLoadsInChromium() throws Exception {
        Path chromium = chromium();
        // a copy of the page with a script that counts broken images into the DOM
        String html = Files.readString(run.resolve(RunReport.FILE));
        String probe = html.replace("</body>", "<script>window.addEventListener('load', () => {"
                + "const imgs = [...document.images];"
                + "document.body.setAttribute('data-images', imgs.length);"
                + "document.body.setAttribute('data-broken', imgs.filter(i => !i.complete || i.naturalWidth === 0).length);"
                + "});</script></body>");
        Path page = tmp.resolve("probe.html");
        Files.writeString(page, probe);
        String dom = runChromium(chromium, "--dump-dom", page.toUri().toString());
        Matcher images = Pattern.compile("data-images=\"(\\d+)\"").matcher(dom), broken = Pattern.compile("data-broken=\"(\\d+)\"").matcher(dom);
        assertTrue(images.find() && broken.find(), "the probe ran: " + dom.substring(0, Math.min(300, dom.length())));
        assertEquals(count(html, "<img "), Integer.parseInt(images.group(1)), "every <img> seen");
        assertEquals(0, Integer.parseInt(broken.group(1)), "no broken image or plot");

        Path shot = Path.of("target", "report-screenshot.png").toAbsolutePath();
        Files.deleteIfExists(shot);
        runChromium(chromium, "--screenshot=" + shot, "--window-size=1280,1600", run.resolve(RunReport.FILE).toUri().toString());
        assertTrue(Files.size(shot) > 10_000, "a screenshot of the page: " + shot);
        var img = ImageIO.read(shot.toFile());
        assertEquals(1280, img.getWidth());
    }

    static Path chromium() { return dev.jgan.testing.Chromium.find(); }

    static String runChromium(Path chromium, String... args) throws Exception { return dev.jgan.testing.Chromium.run(chromium, tmp, args); }

    static int count(String s, String part) {
        int n = 0;
        for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) n++;
        return n;
    }

    static String decodedSvgs(String html) {
        StringBuilder b = new StringBuilder();
        Matcher m = Pattern.compile("data:image/svg\\+xml;base64,([A-Za-z0-9+/=]+)").matcher(html);
        while (m.find()) b.append(new String(Base64.getDecoder().decode(m.group(1)), StandardCharsets.UTF_8));
        return b.toString();
    }
}
