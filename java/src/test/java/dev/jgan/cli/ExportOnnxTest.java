package dev.jgan.cli;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.jgan.api.Generator;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static dev.jgan.cli.CliTest.gan;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code gan export --format onnx}: ONNX Runtime (Java, the dependency gan eval --features uses)
 * loads generator.onnx and makes, from the same noise and classes, the images jgan's Generator
 * makes, within {@link TorchInteropTest#TORCH_ATOL} (the same reasoning: float32 both, other
 * summation orders).
 */
class ExportOnnxTest {
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.cli.TorchInteropTest#exports")
    void onnxRuntimeMakesTheSameImages(TorchInteropTest.Out preset, @TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("export");
        Path ck = preset.checkpoint().get();
        CliTest.Run r = gan("export", "--device", "cpu", "--checkpoint", ck.toString(), "--format", "onnx", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("opset 13"), r.out());

        try (Generator g = Generator.load(ck, new Generator.Options("cpu", 2, 256, true))) {
            int n = 12;   // not the batch jgan computes in: ONNX's batch is free
            float[] z = g.noise(n, 5);
            long[] labels = new long[n];
            int[] classes = new int[n];
            for (int i = 0; i < n; i++) labels[i] = classes[i] = i % Math.max(1, g.classes());
            float[] jgan = g.sample(z, g.classes() > 0 ? classes : null).values();
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession session = env.createSession(out.resolve("generator.onnx").toString(), new OrtSession.SessionOptions())) {
                Map<String, OnnxTensor> in = new HashMap<>();
                in.put("z", OnnxTensor.createTensor(env, FloatBuffer.wrap(z), new long[] {n, g.noiseSize()}));
                if (g.classes() > 0) in.put("labels", OnnxTensor.createTensor(env, LongBuffer.wrap(labels), new long[] {n}));
                try (OrtSession.Result res = session.run(in)) {
                    OnnxTensor images = (OnnxTensor) res.get("images").orElseThrow();
                    long[] expected = new long[g.itemShape().length + 1];
                    expected[0] = n;
                    for (int k = 0; k < g.itemShape().length; k++) expected[k + 1] = g.itemShape()[k];
                    assertArrayEquals(expected, images.getInfo().getShape(), "the output's shape");
                    FloatBuffer fb = images.getFloatBuffer();
                    double worst = 0;
                    for (int i = 0; i < jgan.length; i++) worst = Math.max(worst, Math.abs(jgan[i] - fb.get(i)));
                    assertTrue(worst <= TorchInteropTest.TORCH_ATOL, preset + ": ONNX Runtime's images differ from jgan's by " + worst);
                } finally {
                    for (OnnxTensor t : in.values()) t.close();
                }
            }
        }
    }
}
