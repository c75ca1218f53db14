package dev.jgan.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jgan.api.Generator;
import dev.jgan.api.Samples;
import dev.jgan.io.Json;
import dev.jgan.testing.Chromium;
import dev.jgan.testing.TinyRuns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.io.ByteArrayInputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * gan serve's server on the shared fast-fmnist checkpoint of TinyRuns (4 steps of TinyData): the API
 * against the Generator, its 4xx answers, 200 clients at once, and the web page in Chromium.
 */
class ServerTest {
    @TempDir static Path tmp;
    static Generator generator;
    static Server server;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        Path ck = TinyRuns.checkpoint("fast-fmnist");
        generator = Generator.load(ck, new Generator.Options("cpu", 2, 16, true));   // gan serve's default batch
        server = new Server(generator, "127.0.0.1", 0, 16);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (generator != null) generator.close();
    }

    static HttpResponse<byte[]> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(server.uri().resolve(path)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    static HttpResponse<byte[]> post(String path, String json) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(server.uri().resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    @Test
    void infoAndSamplesAreTheGenerators() throws Exception {
        JsonNode info = Json.MAPPER.readTree(get("/v1/model").body());
        assertEquals("fast-fmnist", info.get("preset").asText());
        assertEquals(10, info.get("classes").asInt());
        assertEquals("Sneaker", info.get("classNames").get(7).asText(), "Fashion-MNIST's names: " + info);
        HttpResponse<byte[]> r = post("/v1/samples", "{\"n\": 3, \"seed\": 9, \"class\": 7}");
        assertEquals(200, r.statusCode(), new String(r.body()));
        JsonNode s = Json.MAPPER.readTree(r.body());
        Samples expected = generator.sample(3, 9, 7);
        assertEquals(3, s.get("images").size());
        for (int i = 0; i < 3; i++) {
            float[] want = expected.item(i);
            JsonNode got = s.get("images").get(i);
            assertEquals(want.length, got.size());
            for (int k = 0; k < want.length; k++) assertEquals(want[k], got.get(k).floatValue(), 0f, "image " + i + " float " + k);
            assertEquals(7, s.get("classes").get(i).asInt());
        }
        HttpResponse<byte[]> png = get("/v1/samples.png?n=4&seed=1&scale=2");
        assertEquals(200, png.statusCode());
        assertEquals("image/png", png.headers().firstValue("Content-Type").orElse(""));
        var img = ImageIO.read(new ByteArrayInputStream(png.body()));
        assertTrue(img != null && img.getWidth() > 2 * 2 * 28, "a 2x2 grid of 56-pixel images: " + (img == null ? "no PNG" : img.getWidth()));
    }

    @Test
    void aStripBetweenTwoSeedsAndTheModelCard() throws Exception {
        HttpResponse<byte[]> png = get("/v1/interpolate.png?from=1&to=2&frames=5&class=3&scale=2");
        assertEquals(200, png.statusCode(), new String(png.body()));
        var img = ImageIO.read(new ByteArrayInputStream(png.body()));
        assertEquals(5 * (2 * 28 + 2) + 2, img.getWidth(), "5 frames in a row");
        assertEquals(2 * 28 + 4, img.getHeight(), "one row");
        check(get("/v1/interpolate.png?frames=1"), 400, "frames must be 2 .. 64, got 1");
        check(get("/v1/interpolate.png?class=12"), 400, "class 12 is not one of this model's: 0 .. 9");
        assertTrue(Json.MAPPER.readTree(get("/v1/model").body()).path("quality").isMissingNode(), "no eval measured: no quality");
        JsonNode measured = Json.MAPPER.readTree("{\"fid\": 1.25, \"n\": 10000, \"classes_covered\": 10, \"classes\": 10, \"seconds\": 9}");
        try (Server other = new Server(generator, "127.0.0.1", 0, 2, measured)) {
            JsonNode q = Json.MAPPER.readTree(HTTP.send(HttpRequest.newBuilder(other.uri().resolve("/v1/model")).build(),
                    HttpResponse.BodyHandlers.ofByteArray()).body()).get("quality");
            assertEquals(1.25, q.get("fid").asDouble());
            assertEquals(10, q.get("classes_covered").asInt());
            assertTrue(q.path("seconds").isMissingNode(), "only the card's fields: " + q);
        }
    }

    @Test
    void badRequestsGetAStatusAndOneLine() throws Exception {
        check(post("/v1/samples", "{\"n\": 0}"), 400, "n must be at least 1, got 0");
        check(post("/v1/samples", "{\"n\": 5000}"), 413, "n must be at most 1024, got 5000");
        check(post("/v1/samples", "{\"n\": 2, \"class\": 10}"), 400, "class 10 is not one of this model's: 0 .. 9");
        check(post("/v1/samples", "{\"n\": \"two\"}"), 400, "n must be a whole number, got \"two\"");
        check(post("/v1/samples", "{nope"), 400, "the body is not JSON");
        check(post("/v1/samples", "[1]"), 400, "the body must be a JSON object");
        check(post("/v1/samples", "x".repeat(70_000)), 413, "the request body is over");
        check(get("/v1/samples"), 405, "/v1/samples takes POST, not GET");
        check(get("/v1/samples.png?n=x"), 400, "n must be a whole number, got 'x'");
        check(get("/nothing"), 404, "no such path: /nothing");
    }

    static void check(HttpResponse<byte[]> r, int status, String start) throws Exception {
        assertEquals(status, r.statusCode(), new String(r.body()));
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(""));
        String error = Json.MAPPER.readTree(r.body()).get("error").asText();
        assertTrue(error.startsWith(start), "error '" + error + "' should start with '" + start + "'");
        assertEquals(1, error.lines().count(), "one line: " + error);
    }

    /** 200 clients at once, each its own seed: every answer 200 and the images of its seed. */
    @Test
    void twoHundredClientsAtOnce() throws Exception {
        int clients = 200;
        List<CompletableFuture<HttpResponse<byte[]>>> answers = new ArrayList<>();
        long[] latency = new long[clients];
        long t0 = System.nanoTime();
        for (int i = 0; i < clients; i++) {
            int c = i;
            long sent = System.nanoTime();
            answers.add(HTTP.sendAsync(HttpRequest.newBuilder(server.uri().resolve("/v1/samples"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"n\": 2, \"seed\": " + i + "}")).build(), HttpResponse.BodyHandlers.ofByteArray())
                    .whenComplete((r, e) -> latency[c] = System.nanoTime() - sent));
        }
        CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).exceptionally(e -> null).join();
        double seconds = (System.nanoTime() - t0) / 1e9;
        long[] sorted = latency.clone();
        java.util.Arrays.sort(sorted);
        System.out.printf("gan serve, 200 clients at once (n=2 each): %.0f requests/s, latency p50 %.1f ms, p99 %.1f ms%n",
                clients / seconds, sorted[clients / 2] / 1e6, sorted[(int) (clients * 0.99)] / 1e6);
        for (int i = 0; i < clients; i++) {
            HttpResponse<byte[]> r = answers.get(i).get();
            assertEquals(200, r.statusCode(), "client " + i + ": " + new String(r.body()));
            if (i % 20 == 0) {
                JsonNode s = Json.MAPPER.readTree(r.body());
                float[] want = generator.sample(2, i).item(1);
                for (int k = 0; k < want.length; k += 97) assertEquals(want[k], s.get("images").get(1).get(k).floatValue(), 0f, "client " + i);
            }
        }
    }

    /** The page in headless Chromium: it reads /v1/model, fills the class list, and shows a grid. */
    @Test
    void thePageShowsAGridInChromium() throws Exception {
        Path chromium = Chromium.find();
        String dom = Chromium.run(chromium, tmp, "--dump-dom", server.uri().resolve("/?autorun").toString());
        assertTrue(dom.contains("data-state=\"shown\""), "the page showed a grid: " + dom.substring(0, Math.min(600, dom.length())));
        assertTrue(dom.contains("fast-fmnist, step 4"), "the model line");
        assertTrue(dom.contains("7: Sneaker"), "the class list");
        assertTrue(dom.contains("data-width=\""), "the grid's width was read");
        assertTrue(dom.contains("data-strip=\"shown\""), "the strip between two seeds was shown");
    }
}
