package dev.jgan.eval;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.data.Dataset;
import dev.jgan.data.Resize;
import dev.jgan.nn.Activation.ReLU;
import dev.jgan.nn.Conv2d;
import dev.jgan.nn.Dense;
import dev.jgan.nn.Flatten;
import dev.jgan.nn.Init;
import dev.jgan.nn.MaxPool2d;
import dev.jgan.nn.Parameter;
import dev.jgan.nn.Sequential;
import dev.jgan.random.Philox;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.testing.Approx;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code gan eval --features}' feature network: a small ONNX model the test writes itself
 * ({@link TinyOnnx}), run by ONNX Runtime, gives the features jgan's own layers compute for the
 * same weights, after the same preparation (range, channels, resize, normalisation) done here by
 * hand; and every way a model or its flags can be wrong is one line.
 */
class OnnxFeaturesTest {
    /**
     * Two runtimes summing the same products in other orders: the convolution's 27 and the dense
     * layer's 64 float products of order 1 each round differently, some 1e-6 relative, far below
     * this; a wrong weight layout or a skipped step moves features by 0.1 or more.
     */
    private static final double ATOL = 1e-4, RTOL = 1e-4;
    private static final int K = 4, F = 6;

    /** The network's weights, and jgan's Sequential of the same network with them. */
    private record Net(float[] convW, float[] convB, float[] gemmW, float[] gemmB, int c, int s) {
        static Net random(int c, int s) {
            int flat = K * (s / 2) * (s / 2);
            return new Net(values(K * c * 9, 1, 0.3f), values(K, 2, 0.1f), values(F * flat, 3, 0.2f), values(F, 4, 0.1f), c, s);
        }

        Path write(Path file, int batch) throws Exception {
            TinyOnnx.write(file, batch, c, s, convW, convB, K, gemmW, gemmB, F);
            return file;
        }

        float[] jgan(Backend b, float[] x, int n) {
            Sequential net = new Sequential("f", List.of(new Conv2d(c, K, 3, 1, 1, true), new ReLU(), new MaxPool2d(), new Flatten(),
                    new Dense(K * (s / 2) * (s / 2), F))).build(b, Shape.of(n, c, s, s), Init.GLOROT_UNIFORM, new RngStream(1, 0));
            List<Parameter> ps = net.parameters();
            b.copyFromHost(convW, ps.get(0).value());
            b.copyFromHost(convB, ps.get(1).value());
            b.copyFromHost(gemmW, ps.get(2).value());
            b.copyFromHost(gemmB, ps.get(3).value());
            return net.forward(b.fromHost(x, Shape.of(n, c, s, s)), false).toHost();
        }
    }

    private static float[] values(int n, long seed, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = scale * Philox.normalAt(seed, 0, i);
        return v;
    }

    private static float[] images(int n, int c, int h, int w, long seed) {
        float[] x = new float[n * c * h * w];
        for (int i = 0; i < x.length; i++) x[i] = 2f * Philox.uniformAt(seed, 0, i) - 1f;
        return x;
    }

    @Test
    void theFeaturesAreJgansOwnComputationOfTheSameNetwork(@TempDir Path tmp) throws Exception {
        Net net = Net.random(3, 8);
        Path model = net.write(tmp.resolve("tiny.onnx"), 0);
        int n = OnnxFeatures.CHUNK + 10;   // two runs, the second partial
        float[] x = images(n, 3, 8, 8, 5);
        OnnxFeatures.Options identity = new OnnxFeatures.Options(OnnxFeatures.Range.SIGNED, "bilinear", new float[] {0f}, new float[] {1f}, null, 0);
        try (OnnxFeatures f = OnnxFeatures.open(model, identity, 2)) {
            assertEquals(F, f.dims());
            Approx.assertClose("features", net.jgan(TestBackends.cpu(), x, n), f.features(x, n, 3, 8, 8), ATOL, RTOL);
            OnnxFeatures.Protocol p = f.protocol();
            assertEquals("images", p.input());
            assertEquals("features", p.output());
            assertEquals(OnnxFeatures.sha256(model), p.sha256());
            assertEquals(64, p.sha256().length());
        }
    }

    /** Gray 10x10 images into a 3-channel 12x12 network of fixed batch 4: [0, 1], repeated, resized, normalised per channel, padded. */
    @Test
    void grayImagesArePreparedAsTheFlagsSay(@TempDir Path tmp) throws Exception {
        Net net = Net.random(3, 12);
        Path model = net.write(tmp.resolve("fixed.onnx"), 4);
        int n = 5, h = 10;
        float[] gray = images(n, 1, h, h, 7);
        float[] mean = {0.5f, 0.4f, 0.3f}, std = {0.2f, 0.25f, 0.3f};
        OnnxFeatures.Options o = new OnnxFeatures.Options(OnnxFeatures.Range.UNIT, "bilinear", mean, std, "features", 0);

        float[] unit = new float[gray.length];
        for (int i = 0; i < gray.length; i++) unit[i] = gray[i] * 0.5f + 0.5f;
        float[] rgb = new float[n * 3 * h * h];
        for (int i = 0; i < n; i++) for (int c = 0; c < 3; c++) System.arraycopy(unit, i * h * h, rgb, (i * 3 + c) * h * h, h * h);
        float[] big = Resize.bilinear(new Dataset("t", rgb, null, n, 3, h, h), 12, 12).images();
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < 144; p++) big[(i * 3 + c) * 144 + p] = (big[(i * 3 + c) * 144 + p] - mean[c]) / std[c];

        try (OnnxFeatures f = OnnxFeatures.open(model, o, 1)) {
            Approx.assertClose("prepared gray features", net.jgan(TestBackends.cpu(), big, n), f.features(gray, n, 1, h, h), ATOL, RTOL);
            String line = f.protocol().line(1, h, h);
            assertTrue(line.contains("fixed.onnx (sha256 " + f.protocol().sha256().substring(0, 16) + ")") && line.contains("input 'images' 3x12x12")
                    && line.contains("output 'features' (6 values an image)") && line.contains("pixels [-1, 1] to [0, 1], gray repeated to 3 channels")
                    && line.contains("resized 10x10 -> 12x12 bilinear") && line.contains("mean [0.5, 0.4, 0.3] std [0.2, 0.25, 0.3]"), line);
        }
    }

    @Test
    void nearestReadsThePixelUnderEachOutputCentre() {
        float[] x = {1, 2, 3, 4};   // one 2x2 plane
        assertArrayEquals(new float[] {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, OnnxFeatures.nearest(x, 1, 2, 2, 4), 0f);
        assertArrayEquals(new float[] {4}, OnnxFeatures.nearest(x, 1, 2, 2, 1), 0f, "one output pixel: its centre (0.5 of 1) is 1.0 of 2, pixel (1, 1)");
    }

    @Test
    void badModelsAndFlagsAreOneLine(@TempDir Path tmp) throws Exception {
        OnnxFeatures.Options d = OnnxFeatures.Options.defaults();
        assertEquals("--features " + tmp.resolve("none.onnx") + " not found",
                assertThrows(UserError.class, () -> OnnxFeatures.open(tmp.resolve("none.onnx"), d, 1)).getMessage());
        Path junk = Files.writeString(tmp.resolve("junk.onnx"), "not a model");
        assertTrue(assertThrows(UserError.class, () -> OnnxFeatures.open(junk, d, 1)).getMessage()
                .startsWith("--features " + junk + " is not a model ONNX Runtime can run: "));
        Path free = Net.random(3, 8).write(tmp.resolve("free.onnx"), 0);
        Path fixed = Net.random(3, 8).write(tmp.resolve("eight.onnx"), 0);
        OnnxFeatures.Options freeSize = new OnnxFeatures.Options(OnnxFeatures.Range.UNIT, "bilinear", new float[] {0f}, new float[] {1f}, "nope", 0);
        assertTrue(assertThrows(UserError.class, () -> OnnxFeatures.open(free, freeSize, 1)).getMessage().contains("has no output 'nope'"));
        OnnxFeatures.Options wrongSize = new OnnxFeatures.Options(OnnxFeatures.Range.UNIT, "bilinear", new float[] {0f}, new float[] {1f}, null, 9);
        assertEquals("--features-size 9 does not fit " + fixed + ", whose input is 8x8",
                assertThrows(UserError.class, () -> OnnxFeatures.open(fixed, wrongSize, 1)).getMessage());
        OnnxFeatures.Options twoMeans = new OnnxFeatures.Options(OnnxFeatures.Range.UNIT, "bilinear", new float[] {0f, 0f}, new float[] {1f}, null, 0);
        assertTrue(assertThrows(UserError.class, () -> OnnxFeatures.open(fixed, twoMeans, 1)).getMessage().contains("need 1 or 3 values"));
        assertThrows(UserError.class, () -> new OnnxFeatures.Options(OnnxFeatures.Range.UNIT, "bicubic", new float[] {0f}, new float[] {1f}, null, 0));
        assertThrows(UserError.class, () -> OnnxFeatures.Range.of("0-1"));
    }
}
