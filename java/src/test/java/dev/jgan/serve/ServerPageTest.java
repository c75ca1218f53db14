package dev.jgan.serve;

import dev.jgan.api.Generator;
import dev.jgan.io.Json;
import dev.jgan.testing.Chromium;
import dev.jgan.testing.TinyRuns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.TimeoutException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * gan serve's page driven in headless Chromium by Selenium, as a person uses it, on the shared
 * fast-fmnist checkpoint of TinyRuns: it loads the model's card and classes; Generate shows a
 * grid; "New samples" moves to the next seed and shows other images; Walk shows the strip of
 * frames; picking a class shows that class. Each image is checked twice: Chromium decoded it
 * (complete, naturalWidth > 0), and its bytes are the PNG the API gives for the same request, so a
 * handler that does nothing, or fetches the wrong seed or class, fails.
 */
class ServerPageTest {
    /** An image takes well under a second here, even on a busy machine; 30 s only bounds a page that never shows one. */
    static final Duration WAIT = Duration.ofSeconds(30);
    /** Selenium polls every 500 ms by default: half a second lost per image. */
    static final Duration POLL = Duration.ofMillis(20);
    /** The page asks for scale 3 (Page.HTML's generate and walk). */
    static final int SCALE = 3;

    @TempDir static Path tmp;
    static Generator generator;
    static Server server;
    static ChromeDriver driver;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        generator = Generator.load(TinyRuns.checkpoint("fast-fmnist"), new Generator.Options("cpu", 2, 16, true));
        server = new Server(generator, "127.0.0.1", 0, 4);
        driver = Chromium.driver(tmp);
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(10));
    }

    @AfterAll
    static void stop() {
        if (driver != null) driver.quit();
        if (server != null) server.close();
        if (generator != null) generator.close();
    }

    @Test
    void newSamplesTheStripAndAClassInChromium() throws Exception {
        driver.get(server.uri().toString());
        try {
            new WebDriverWait(driver, WAIT, POLL).until(d -> !"loading".equals(body("state")));
        } catch (TimeoutException e) {
            fail("the page did not read /v1/model in " + WAIT.toSeconds() + " s: " + describe("grid"));
        }
        assertEquals("ready", body("state"), "the page after /v1/model: " + describe("grid"));
        assertTrue(text("model").startsWith("fast-fmnist, step " + TinyRuns.STEPS), "the model line: " + text("model"));
        List<String> classes = new Select(driver.findElement(By.id("class"))).getOptions().stream().map(WebElement::getText).toList();
        assertEquals(11, classes.size(), "every class in turn, then the 10 classes: " + classes);
        assertEquals("7: Sneaker", classes.get(8), "the class list: " + classes);

        Shown seed0 = shows("grid", "Generate", () -> click("generate"), "/v1/samples.png?n=16&seed=0&scale=" + SCALE, null);
        Shown seed1 = shows("grid", "New samples", () -> click("next"), "/v1/samples.png?n=16&seed=1&scale=" + SCALE, seed0);
        assertEquals("1", value("seed"), "New samples moves the seed field to the next seed");

        int frames = 5;
        fill("from", "3");
        fill("to", "5");
        fill("frames", String.valueOf(frames));
        shows("strip", "Walk", () -> click("go"), "/v1/interpolate.png?from=3&to=5&frames=" + frames + "&scale=" + SCALE, null);
        int side = Json.MAPPER.readTree(get("/v1/model")).get("itemShape").get(2).asInt();
        assertEquals(frames * (SCALE * side + 2) + 2, ((Number) img("strip").get(2)).intValue(),
                frames + " frames of " + SCALE * side + " pixels in a row, each with a 2-pixel border");

        shows("grid", "picking class 7", () -> new Select(driver.findElement(By.id("class"))).selectByValue("7"),
                "/v1/samples.png?n=16&seed=1&scale=" + SCALE + "&class=7", seed1);
    }

    /** What an img showed: its src (a blob: URL, new for each answer) and the PNG behind it. */
    record Shown(String src, byte[] png) {}

    /**
     * Does {@code action} (named {@code after} in failures), waits until img #id shows a new picture
     * (another src) that Chromium has decoded, and checks that its bytes are the API's answer to
     * {@code path} and not those of the image {@code before} (null: none to compare with).
     */
    static Shown shows(String id, String after, Runnable action, String path, Shown before) throws Exception {
        String old = src(id);
        action.run();
        try {
            new WebDriverWait(driver, WAIT, POLL).until(d -> {
                List<?> s = img(id);
                return !s.get(0).equals(old) && Boolean.TRUE.equals(s.get(1)) && ((Number) s.get(2)).longValue() > 0;
            });
        } catch (TimeoutException e) {
            fail("#" + id + " showed no new decoded image " + WAIT.toSeconds() + " s after " + after + ": " + describe(id));
        }
        String src = src(id);
        String base64 = (String) driver.executeAsyncScript("""
                const done = arguments[arguments.length - 1];
                fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => {
                  let s = '';
                  for (const x of new Uint8Array(b)) s += String.fromCharCode(x);
                  done(btoa(s));
                }).catch(e => done('!' + e));""", src);
        if (base64.startsWith("!")) fail("#" + id + "'s " + src + " could not be read back: " + base64.substring(1));
        byte[] shown = Base64.getDecoder().decode(base64);
        byte[] want = get(path);
        if (before != null && Arrays.equals(want, before.png()))
            fail("the API gave the same PNG for " + path + " as for the image before " + after + ": nothing to tell apart");
        if (!Arrays.equals(want, shown))
            fail("after " + after + " #" + id + " should show " + path + " (" + want.length + " bytes of PNG), it shows "
                    + (before != null && Arrays.equals(shown, before.png()) ? "the same image as before" : shown.length + " other bytes")
                    + "; " + describe(id));
        return new Shown(src, shown);
    }

    /** img #id's src, complete and naturalWidth. */
    static List<?> img(String id) {
        return (List<?>) driver.executeScript("const i = document.getElementById(arguments[0]); return [i.src, i.complete, i.naturalWidth];", id);
    }

    static String describe(String id) {
        return "#" + id + " " + img(id) + ", body data-state '" + body("state") + "', seed '" + value("seed")
                + "', class '" + value("class") + "', #error '" + text("error") + "'";
    }

    static String body(String key) {
        return (String) driver.executeScript("return document.body.dataset[arguments[0]] ?? '';", key);
    }

    static String src(String id) {
        return (String) img(id).get(0);
    }

    static String text(String id) {
        return driver.findElement(By.id(id)).getText();
    }

    static String value(String id) {
        return driver.findElement(By.id(id)).getDomProperty("value");
    }

    static void click(String id) {
        driver.findElement(By.id(id)).click();
    }

    static void fill(String id, String value) {
        WebElement e = driver.findElement(By.id(id));
        e.clear();
        e.sendKeys(value);
    }

    static byte[] get(String path) throws Exception {
        HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(server.uri().resolve(path)).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode(), path + ": " + new String(r.body()));
        return r.body();
    }
}
