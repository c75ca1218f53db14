package dev.jgan.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.jgan.api.Generator;
import dev.jgan.api.Samples;
import dev.jgan.data.Cifar10;
import dev.jgan.data.Datasets;
import dev.jgan.io.Json;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A checkpoint's generator over HTTP ({@code gan serve}), on the JDK's own server: a web page at
 * {@code /} to ask for samples and see them, and a JSON API.
 *
 * <ul>
 *   <li>{@code GET /v1/model}: the model (preset, step, classes and their names, noise size, item shape).</li>
 *   <li>{@code POST /v1/samples} with {@code {"n": 16, "seed": 7, "class": 3}} (class optional, for a
 *       conditional model): {@code {"n", "shape", "classes", "images": [[floats of image 0], ...]}}, in [-1, 1].</li>
 *   <li>{@code GET /v1/samples.png?n=16&seed=7&class=3&scale=4}: the same samples as a PNG grid.</li>
 *   <li>{@code GET /v1/interpolate.png?from=1&to=2&frames=8&class=3&scale=3}: a strip of frames along
 *       the great circle from seed 1's noise to seed 2's ({@link Generator#interpolate}).</li>
 * </ul>
 * Bad requests get a 4xx status and {@code {"error": "one line"}}: 400 for a bad value, 404 for
 * an unknown path, 405 for a wrong method, 413 for more than {@link #MAX_N} samples or a body over
 * {@link #MAX_BODY} bytes. Requests are served by a pool of threads; the {@link Generator} serves
 * the sampling itself one call at a time, each call with all of its backend's threads.
 */
public final class Server implements AutoCloseable {
    /** The most samples one request may ask for. */
    public static final int MAX_N = 1024;
    /** The largest request body read. */
    static final int MAX_BODY = 64 * 1024;
    /** How much more of a body over MAX_BODY is read (and dropped) before the 413 goes out. */
    static final long DRAIN = 4L << 20;

    private final Generator generator;
    private final HttpServer http;
    private final ExecutorService pool;
    private final List<String> classNames;
    private final JsonNode quality;

    /** Serves {@code generator} on {@code host}:{@code port} (0: any free port) with {@code threads} request threads. */
    public Server(Generator generator, String host, int port, int threads) throws IOException {
        this(generator, host, port, threads, null);
    }

    /**
     * As {@link #Server(Generator, String, int, int)}, with the model card's quality: {@code
     * quality} is what gan eval measured of the checkpoint (its eval JSON), or null.
     */
    public Server(Generator generator, String host, int port, int threads, JsonNode quality) throws IOException {
        this.generator = generator;
        this.quality = quality;
        this.classNames = classNames(generator);
        this.http = HttpServer.create(new InetSocketAddress(host, port), 256);
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "gan-serve");
            t.setDaemon(true);
            return t;
        });
        http.setExecutor(pool);
        http.createContext("/", this::handle);
        http.start();
    }

    /** The address the server listens on, e.g. http://127.0.0.1:8080/. */
    public URI uri() {
        InetSocketAddress a = http.getAddress();
        return URI.create("http://" + a.getHostString() + ":" + a.getPort() + "/");
    }

    /** Stops accepting requests, lets those in progress finish (up to 2 s), and stops the threads; the Generator stays the caller's. */
    @Override public void close() {
        http.stop(2);
        pool.shutdown();
    }

    private void handle(HttpExchange x) throws IOException {
        try {   // not try-with-resources: the catch blocks still answer on the exchange
            String path = x.getRequestURI().getPath();
            switch (path) {
                case "/", "/index.html" -> {
                    only(x, "GET");
                    reply(x, 200, "text/html; charset=utf-8", Page.HTML.getBytes(StandardCharsets.UTF_8));
                }
                case "/v1/model" -> {
                    only(x, "GET");
                    json(x, 200, info());
                }
                case "/v1/samples" -> {
                    only(x, "POST");
                    JsonNode body = body(x);
                    Samples s = sample(number(body.get("n"), "n", 16), number(body.get("seed"), "seed", 0),
                            body.hasNonNull("class") ? (Integer) number(body.get("class"), "class", 0) : null);
                    json(x, 200, samplesJson(s));
                }
                case "/v1/samples.png" -> {
                    only(x, "GET");
                    Map<String, String> q = query(x.getRequestURI());
                    int scale = param(q, "scale", 1);
                    if (scale < 1 || scale > 8) throw new Refused(400, "scale must be 1 .. 8, got " + scale);
                    Samples s = sample(param(q, "n", 16), param(q, "seed", 0), q.containsKey("class") ? param(q, "class", 0) : null);
                    reply(x, 200, "image/png", s.png(scale));
                }
                case "/v1/interpolate.png" -> {
                    only(x, "GET");
                    Map<String, String> q = query(x.getRequestURI());
                    int scale = param(q, "scale", 1), frames = param(q, "frames", 8);
                    if (scale < 1 || scale > 8) throw new Refused(400, "scale must be 1 .. 8, got " + scale);
                    if (frames < 2 || frames > 64) throw new Refused(400, "frames must be 2 .. 64, got " + frames);
                    int classOf = q.containsKey("class") ? param(q, "class", 0) : -1;
                    if (classOf >= 0 && generator.classes() == 0)
                        throw new Refused(400, generator.preset() + " is not class-conditional: leave out class");
                    if (classOf >= generator.classes() && generator.classes() > 0)
                        throw new Refused(400, "class " + classOf + " is not one of this model's: 0 .. " + (generator.classes() - 1));
                    Samples s = generator.interpolate(param(q, "from", 0), param(q, "to", 1), frames, classOf);
                    reply(x, 200, "image/png", s.png(scale, frames));
                }
                default -> throw new Refused(404, "no such path: " + path + " (try /, /v1/model, /v1/samples, /v1/samples.png, /v1/interpolate.png)");
            }
        } catch (Refused r) {
            error(x, r.status, r.getMessage());
        } catch (IllegalArgumentException e) {   // the Generator's one-line refusals of a value
            error(x, 400, e.getMessage());
        } catch (IllegalStateException e) {   // closed while serving
            error(x, 503, e.getMessage());
        } catch (RuntimeException e) {
            error(x, 500, "internal error: " + e);
        } finally {
            x.close();
        }
    }

    private Samples sample(int n, long seed, Integer classOf) {
        if (n < 1) throw new Refused(400, "n must be at least 1, got " + n);
        if (n > MAX_N) throw new Refused(413, "n must be at most " + MAX_N + ", got " + n);
        if (classOf != null && generator.classes() == 0)
            throw new Refused(400, generator.preset() + " is not class-conditional: leave out class");
        return classOf == null ? generator.sample(n, seed) : generator.sample(n, seed, classOf);
    }

    private ObjectNode info() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("preset", generator.preset());
        o.put("step", generator.step());
        o.put("dataset", generator.dataset());
        o.put("classes", generator.classes());
        ArrayNode names = o.putArray("classNames");
        classNames.forEach(names::add);
        o.put("noiseSize", generator.noiseSize());
        ArrayNode item = o.putArray("itemShape");
        for (int d : generator.itemShape()) item.add(d);
        o.put("ema", generator.usesEma());
        o.put("maxN", MAX_N);
        if (quality != null) {
            ObjectNode qn = o.putObject("quality");
            for (String k : List.of("fid", "floor_fid", "n", "classes_covered", "classes", "class_accuracy_mean"))
                if (quality.has(k)) qn.set(k, quality.get(k));
        }
        return o;
    }

    private static ObjectNode samplesJson(Samples s) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("n", s.count());
        ArrayNode shape = o.putArray("shape");
        for (int d : s.itemShape()) shape.add(d);
        if (s.classes() != null) {
            ArrayNode c = o.putArray("classes");
            for (int k : s.classes()) c.add(k);
        }
        ArrayNode images = o.putArray("images");
        for (int i = 0; i < s.count(); i++) {
            ArrayNode img = images.addArray();
            for (float v : s.item(i)) img.add(v);
        }
        return o;
    }

    private static List<String> classNames(Generator g) {
        List<String> known = switch (g.dataset()) {
            case "fashion-mnist" -> Datasets.FASHION_MNIST_CLASSES;
            case "cifar10" -> Cifar10.CLASS_NAMES;
            default -> List.of();
        };
        List<String> names = new ArrayList<>();
        for (int k = 0; k < g.classes(); k++) names.add(k < known.size() ? known.get(k) : "class " + k);
        return names;
    }

    private static void only(HttpExchange x, String method) {
        if (!x.getRequestMethod().equals(method))
            throw new Refused(405, x.getRequestURI().getPath() + " takes " + method + ", not " + x.getRequestMethod());
    }

    private static JsonNode body(HttpExchange x) throws IOException {
        byte[] b;
        try (InputStream in = x.getRequestBody()) {
            b = in.readNBytes(MAX_BODY + 1);
            if (b.length > MAX_BODY) {
                byte[] drop = new byte[8192];   // read and drop up to DRAIN more, so that a client still sending reads the answer
                for (long dropped = 0, r; dropped < DRAIN && (r = in.read(drop)) > 0; dropped += r) { }
                throw new Refused(413, "the request body is over " + MAX_BODY + " bytes");
            }
        }
        if (b.length == 0) return Json.MAPPER.createObjectNode();
        JsonNode n;
        try {
            n = Json.MAPPER.readTree(b);
        } catch (IOException e) {
            throw new Refused(400, "the body is not JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (n == null || !n.isObject()) throw new Refused(400, "the body must be a JSON object such as {\"n\": 16, \"seed\": 7}");
        return n;
    }

    /** A whole number of a JSON body, {@code fallback} when absent. */
    private static int number(JsonNode v, String name, int fallback) {
        if (v == null || v.isNull()) return fallback;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw new Refused(400, name + " must be a whole number, got " + v);
        return v.intValue();
    }

    private static int param(Map<String, String> q, String name, int fallback) {
        String v = q.get(name);
        if (v == null) return fallback;
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new Refused(400, name + " must be a whole number, got '" + v + "'");
        }
    }

    private static Map<String, String> query(URI u) {
        Map<String, String> q = new HashMap<>();
        String raw = u.getRawQuery();
        if (raw == null || raw.isEmpty()) return q;
        for (String part : raw.split("&")) {
            int eq = part.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? part : part.substring(0, eq), StandardCharsets.UTF_8);
            q.put(k, eq < 0 ? "" : URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return q;
    }

    private static void json(HttpExchange x, int status, JsonNode body) throws IOException {
        reply(x, status, "application/json", Json.MAPPER.writeValueAsBytes(body));
    }

    private static void error(HttpExchange x, int status, String message) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("error", message == null ? "error" : message.lines().findFirst().orElse("error"));
        try {
            json(x, status, o);
        } catch (IOException | UncheckedIOException e) {
            // the client has gone: nothing to tell it
        }
    }

    private static void reply(HttpExchange x, int status, String type, byte[] body) throws IOException {
        x.getResponseHeaders().set("Content-Type", type);
        x.getResponseHeaders().set("Cache-Control", "no-store");
        x.sendResponseHeaders(status, body.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(body);
        }
    }

    /** A request refused with a status and a one-line reason. */
    private static final class Refused extends RuntimeException {
        final int status;

        Refused(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }
}
