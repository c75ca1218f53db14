package dev.jgan.eval;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.jgan.UserError;
import dev.jgan.data.Dataset;
import dev.jgan.data.Resize;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Features of images from an ONNX network the user supplies ({@code gan eval --features}), run by
 * ONNX Runtime: an Inception-v3 export gives the FID of the literature (Heusel et al.'s pool3
 * features), any other network a FID of its own. The images, (N, C, H, W) in [-1, 1] as jgan
 * holds them, are made into what the network reads, in this order, each step stated by the
 * {@link Protocol}: mapped to its pixel range ([0, 1], [-1, 1] or [0, 255]); gray repeated to 3
 * channels or colour made gray (BT.601 luma) when the network's channels differ; resized to its
 * input size (bilinear or nearest); normalised per channel, (x - mean) / std. The features are
 * the chosen output, flattened per image (a (N, 2048, 1, 1) pool output gives 2048 values).
 *
 * <p>Nothing is downloaded: the model is a file, named by its SHA-256 in the protocol. ONNX
 * Runtime's own threads (intra-op) are the command's {@code --threads}.
 */
public final class OnnxFeatures implements AutoCloseable {
    /** Images a run of the network takes at most, when its batch dimension is free. */
    static final int CHUNK = 50;

    /** How pixels are mapped from jgan's [-1, 1] before normalisation. */
    public enum Range {
        UNIT("01", 0.5f, 0.5f), SIGNED("pm1", 1f, 0f), BYTE("255", 127.5f, 127.5f);

        private final String flag;
        private final float scale, shift;

        Range(String flag, float scale, float shift) {
            this.flag = flag;
            this.scale = scale;
            this.shift = shift;
        }

        public String flag() { return flag; }

        float map(float x) { return x * scale + shift; }

        public static Range of(String flag) {
            for (Range r : values()) if (r.flag.equals(flag)) return r;
            throw new UserError("unknown --features-range '" + flag + "'; use 01 ([0, 1]), pm1 ([-1, 1]) or 255 ([0, 255])");
        }
    }

    /** What the user states about the network: its pixel range, resize filter, normalisation, output and (for a free size) input size. */
    public record Options(Range range, String resize, float[] mean, float[] std, String output, int size) {
        public Options {
            if (!resize.equals("bilinear") && !resize.equals("nearest"))
                throw new UserError("unknown --features-resize '" + resize + "'; use bilinear or nearest");
            for (float s : std) if (!(s > 0)) throw new UserError("--features-std must be positive, got " + s);
            if (size < 0) throw new UserError("--features-size must be positive, got " + size);
        }

        /** Inception-style defaults: [0, 1], bilinear, no normalisation, the first output, the model's own size. */
        public static Options defaults() { return new Options(Range.UNIT, "bilinear", new float[] {0f}, new float[] {1f}, null, 0); }
    }

    /** Everything that decides a feature FID besides the images: printed with it and stored in the eval JSON. */
    public record Protocol(String model, String sha256, String input, String output, int dims, int channels, int size,
                           String range, String resize, float[] mean, float[] std) {
        /** One line: the model and its hash, the input and output, and each step from jgan's pixels to the network's. */
        public String line(int fromC, int fromH, int fromW) {
            String channelStep = fromC == channels ? "" : fromC == 1 ? ", gray repeated to 3 channels" : ", colour to gray (BT.601 luma)";
            return String.format(Locale.ROOT, "features %s (sha256 %s), input '%s' %dx%dx%d, output '%s' (%d values an image); "
                            + "pixels [-1, 1] to %s%s, resized %dx%d -> %dx%d %s, normalised (x - mean) / std with mean %s std %s",
                    model, sha256.substring(0, 16), input, channels, size, size, output, dims, rangeText(range), channelStep, fromH, fromW,
                    size, size, resize, Arrays.toString(mean), Arrays.toString(std));
        }

        private static String rangeText(String r) {
            return switch (r) {
                case "01" -> "[0, 1]";
                case "255" -> "[0, 255]";
                default -> "[-1, 1]";
            };
        }

        public Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("model", model);
            m.put("sha256", sha256);
            m.put("input", input);
            m.put("output", output);
            m.put("dims", dims);
            m.put("channels", channels);
            m.put("size", size);
            m.put("range", range);
            m.put("resize", resize);
            m.put("mean", mean);
            m.put("std", std);
            return m;
        }
    }

    private final OrtEnvironment env;
    private final OrtSession session;
    private final String input, output;
    private final int channels, size, dims;
    /** The network's batch size when fixed, else 0. */
    private final int fixedBatch;
    private final Options options;
    private final Protocol protocol;

    private OnnxFeatures(OrtEnvironment env, OrtSession session, Path model, Options o, int threads) throws OrtException {
        this.env = env;
        this.session = session;
        this.options = o;
        if (session.getInputInfo().size() != 1)
            throw new UserError(model + " takes " + session.getInputInfo().size() + " inputs; a feature network takes one image batch");
        NodeInfo in = session.getInputInfo().values().iterator().next();
        this.input = in.getName();
        if (!(in.getInfo() instanceof TensorInfo ti) || ti.getShape().length != 4)
            throw new UserError(model + ": input '" + input + "' is not a 4-dimensional (N, C, H, W) tensor: " + in.getInfo());
        long[] shape = ti.getShape();
        if (shape[1] != 1 && shape[1] != 3) throw new UserError(model + ": input '" + input + "' has " + shape[1] + " channels; 1 or 3 are read");
        this.channels = (int) shape[1];
        if (shape[2] > 0 && shape[2] != shape[3]) throw new UserError(model + ": input '" + input + "' is not square: " + Arrays.toString(shape));
        if (shape[2] > 0 && o.size() > 0 && o.size() != shape[2])
            throw new UserError("--features-size " + o.size() + " does not fit " + model + ", whose input is " + shape[2] + "x" + shape[3]);
        if (shape[2] <= 0 && o.size() == 0)
            throw new UserError(model + ": input '" + input + "' has a free size; say which with --features-size (299 for Inception-v3)");
        this.size = shape[2] > 0 ? (int) shape[2] : o.size();
        this.fixedBatch = shape[0] > 0 ? (int) shape[0] : 0;
        if (o.mean().length != 1 && o.mean().length != channels || o.std().length != 1 && o.std().length != channels)
            throw new UserError("--features-mean and --features-std need 1 or " + channels + " values (the network's channels), got "
                    + o.mean().length + " and " + o.std().length);
        if (o.output() != null && !session.getOutputNames().contains(o.output()))
            throw new UserError(model + " has no output '" + o.output() + "'; it has " + session.getOutputNames());
        this.output = o.output() != null ? o.output() : session.getOutputNames().iterator().next();
        this.dims = Math.toIntExact(run(new float[(fixedBatch > 0 ? fixedBatch : 1) * channels * size * size],
                fixedBatch > 0 ? fixedBatch : 1).length / (fixedBatch > 0 ? fixedBatch : 1));
        this.protocol = new Protocol(model.getFileName().toString(), sha256(model), input, output, dims, channels, size,
                o.range().flag(), o.resize(), o.mean(), o.std());
    }

    /** Opens {@code model} (a .onnx file) with ONNX Runtime on {@code threads} threads; one line naming the problem if it cannot be used. */
    public static OnnxFeatures open(Path model, Options o, int threads) {
        if (!Files.isRegularFile(model)) throw new UserError("--features " + model + " not found");
        OrtEnvironment env;
        try {
            env = OrtEnvironment.getEnvironment();
        } catch (LinkageError | RuntimeException e) {
            throw new UserError("ONNX Runtime cannot load here (" + e.getMessage() + "); gan eval --features needs the onnxruntime jar "
                    + "on the class path (./gan has it; the CUDA bundle does not)", e);
        }
        OrtSession session = null;
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setIntraOpNumThreads(threads);
            so.setInterOpNumThreads(1);
            session = env.createSession(model.toString(), so);
            return new OnnxFeatures(env, session, model, o, threads);
        } catch (OrtException e) {
            closeQuietly(session);
            throw new UserError("--features " + model + " is not a model ONNX Runtime can run: " + firstLine(e.getMessage()), e);
        } catch (RuntimeException e) {
            closeQuietly(session);
            throw e;
        }
    }

    /** The features (n, {@link #dims}) of n images (n, c, h, w) in [-1, 1]. */
    public float[] features(float[] images, int n, int c, int h, int w) {
        if (c != 1 && c != 3) throw new IllegalArgumentException("images of 1 or 3 channels, not " + c);
        float[] out = new float[Math.multiplyExact(n, dims)];
        int chunk = fixedBatch > 0 ? fixedBatch : CHUNK, item = c * h * w;
        for (int done = 0; done < n; done += chunk) {
            int m = Math.min(chunk, n - done);
            float[] part = Arrays.copyOfRange(images, done * item, (done + m) * item);
            float[] x = prepare(part, m, c, h, w, fixedBatch > 0 ? fixedBatch : m);
            float[] f = run(x, fixedBatch > 0 ? fixedBatch : m);
            System.arraycopy(f, 0, out, done * dims, m * dims);
        }
        return out;
    }

    /**
     * The network's input for m images (m, c, h, w) in [-1, 1]: range, channels, size and
     * normalisation as the options say, padded with zeros to {@code batch} images.
     */
    float[] prepare(float[] images, int m, int c, int h, int w, int batch) {
        float[] x = images.clone();
        for (int i = 0; i < x.length; i++) x[i] = options.range().map(x[i]);
        if (c != channels) {
            x = c == 1 ? repeatChannels(x, m, h * w) : luma(x, m, h * w);
            c = channels;
        }
        if (h != size || w != size) {
            x = options.resize().equals("bilinear") ? Resize.bilinear(new Dataset("features", x, null, m, c, h, w), size, size).images()
                    : nearest(x, m * c, h, w, size);
        }
        float[] in = new float[batch * channels * size * size];
        int plane = size * size;
        for (int i = 0; i < m; i++)
            for (int ch = 0; ch < channels; ch++) {
                float mean = options.mean()[options.mean().length == 1 ? 0 : ch], std = options.std()[options.std().length == 1 ? 0 : ch];
                int base = (i * channels + ch) * plane;
                for (int p = 0; p < plane; p++) in[base + p] = (x[base + p] - mean) / std;
            }
        return in;
    }

    private float[] run(float[] x, int batch) {
        try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {batch, channels, size, size});
             OrtSession.Result r = session.run(Map.of(input, t), java.util.Set.of(output))) {
            OnnxValue v = r.get(output).orElseThrow();
            if (!(v instanceof OnnxTensor o)) throw new UserError("output '" + output + "' is not a tensor");
            long[] shape = o.getInfo().getShape();
            if (shape.length < 1 || shape[0] != batch) throw new UserError("output '" + output + "' is " + Arrays.toString(shape) + ", not one row an image");
            FloatBuffer fb = o.getFloatBuffer();
            if (fb == null) throw new UserError("output '" + output + "' is not float32");
            float[] f = new float[fb.remaining()];
            fb.get(f);
            return f;
        } catch (OrtException e) {
            throw new UserError("the feature network failed on a batch of " + batch + ": " + firstLine(e.getMessage()), e);
        }
    }

    private static float[] repeatChannels(float[] gray, int n, int plane) {
        float[] rgb = new float[n * 3 * plane];
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < 3; ch++) System.arraycopy(gray, i * plane, rgb, (i * 3 + ch) * plane, plane);
        return rgb;
    }

    private static float[] luma(float[] rgb, int n, int plane) {
        float[] gray = new float[n * plane];
        for (int i = 0; i < n; i++)
            for (int p = 0; p < plane; p++)
                gray[i * plane + p] = 0.299f * rgb[(i * 3) * plane + p] + 0.587f * rgb[(i * 3 + 1) * plane + p] + 0.114f * rgb[(i * 3 + 2) * plane + p];
        return gray;
    }

    /** Nearest-neighbour resize of {@code planes} planes h x w to s x s: output pixel (y, x) reads (floor((y + 0.5) h / s), likewise x). */
    static float[] nearest(float[] x, int planes, int h, int w, int s) {
        float[] out = new float[planes * s * s];
        for (int p = 0; p < planes; p++)
            for (int y = 0; y < s; y++) {
                int sy = Math.min(h - 1, (int) ((y + 0.5) * h / s));
                for (int xx = 0; xx < s; xx++) {
                    int sx = Math.min(w - 1, (int) ((xx + 0.5) * w / s));
                    out[(p * s + y) * s + xx] = x[(p * h + sy) * w + sx];
                }
            }
        return out;
    }

    public int dims() { return dims; }

    public Protocol protocol() { return protocol; }

    static String sha256(Path file) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }

    private static void closeQuietly(OrtSession s) {
        if (s == null) return;
        try {
            s.close();
        } catch (OrtException ignored) {
            // already failing: the first error is the one to report
        }
    }

    @Override public void close() {
        closeQuietly(session);
    }
}
