package dev.jgan.cli;

import dev.jgan.eval.TinyOnnx;
import dev.jgan.gan.TinyData;
import dev.jgan.random.Philox;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.jgan.cli.CliTest.failsWith;
import static dev.jgan.cli.CliTest.gan;
import static dev.jgan.cli.CliTest.train;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code gan eval --features} end to end on a network the test writes (3 channels, 32x32, so the
 * gray 28x28 images are repeated and resized): a FID on its features, the protocol line printed,
 * the protocol and the number in the JSON; a missing model and a bad flag are one line.
 */
class EvalFeaturesCliTest {
    @Test
    void evalOnAnOnnxNetworksFeaturesPrintsItsProtocol(@TempDir Path tmp) throws Exception {
        Path data = TinyData.writeSplits(Files.createDirectories(tmp.resolve("data")), 300, 100);
        Path run = tmp.resolve("run"), model = tmp.resolve("tiny.onnx");
        int k = 4, f = 6, flat = k * 16 * 16;
        TinyOnnx.write(model, 0, 3, 32, values(k * 27, 1, 0.3f), values(k, 2, 0.1f), k, values(f * flat, 3, 0.05f), values(f, 4, 0.1f), f);
        CliTest.withCache(tmp.resolve("cache"), () -> {
            assertEquals(0, gan(train(data, run, "--preset", "mlp-gan-small", "--steps", "4")).code());
            Path ck = run.resolve("checkpoints/step-0000004.safetensors");
            CliTest.Run e = gan("eval", "--device", "cpu", "--threads", "1", "--checkpoint", ck.toString(), "--n", "64", "--features", model.toString(),
                    "--features-mean", "0.485,0.456,0.406", "--features-std", "0.229,0.224,0.225");
            assertEquals(0, e.code(), e.err());
            assertTrue(e.out().contains("on the features of tiny.onnx (64 generated (live generator, seed 0) vs 100 real"), e.out());
            String protocol = e.out().lines().filter(l -> l.startsWith("protocol: ")).findFirst().orElse("");
            assertTrue(protocol.contains("features tiny.onnx (sha256 ") && protocol.contains("input 'images' 3x32x32")
                    && protocol.contains("output 'features' (6 values an image)") && protocol.contains("gray repeated to 3 channels")
                    && protocol.contains("resized 28x28 -> 32x32 bilinear") && protocol.contains("mean [0.485, 0.456, 0.406]"), e.out());
            String doc = Files.readString(run.resolve("checkpoints/step-0000004.eval.json"));
            assertTrue(doc.contains("\"features_fid\"") && doc.contains("\"features_protocol\"") && doc.contains("\"sha256\"")
                    && doc.contains("\"real_n\" : 100") && doc.contains("\"resize\" : \"bilinear\""), doc);

            failsWith(2, "not found", "eval", "--device", "cpu", "--checkpoint", ck.toString(), "--n", "8", "--features",
                    tmp.resolve("none.onnx").toString());
            failsWith(2, "unknown --features-range '0..1'", "eval", "--device", "cpu", "--checkpoint", ck.toString(), "--n", "8",
                    "--features", model.toString(), "--features-range", "0..1");
        });
    }

    private static float[] values(int n, long seed, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = scale * Philox.normalAt(seed, 0, i);
        return v;
    }
}
