package dev.jgan.cli;

import dev.jgan.api.Generator;
import dev.jgan.gan.TinyData;
import dev.jgan.testing.TinyRuns;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.jgan.cli.CliTest.failsWith;
import static dev.jgan.cli.CliTest.gan;
import static dev.jgan.cli.CliTest.train;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code gan export --format torch}: Debian's PyTorch imports the written generator.py, loads
 * generator.safetensors and makes, from the same noise and classes, the images jgan's Generator
 * makes, within {@link #TORCH_ATOL}. Skipped where python3-torch is absent; under CI=true that fails.
 */
class ExportTorchTest {
    /**
     * Both compute in float32 from the same weights, with other summation orders (oneDNN's
     * convolutions against PyTorch's): about 1e-7 relative an operation over a few thousand terms a
     * layer, and tanh's outputs are within [-1, 1]: 1e-5 absolute is the bound and leaves
     * room above the ~1e-6 seen.
     */
    static final double TORCH_ATOL = 1e-5;
    static final Path PYTHON = Path.of("/usr/bin/python3");

    static final String SCRIPT = """
            import struct, sys
            sys.path.insert(0, sys.argv[1])
            import torch
            import generator
            g = generator.load()
            z = torch.frombuffer(bytearray(open(sys.argv[2], 'rb').read()), dtype=torch.float32).reshape(-1, generator.Z_DIM)
            y = torch.frombuffer(bytearray(open(sys.argv[3], 'rb').read()), dtype=torch.int32).long() if generator.CLASSES else None
            with torch.no_grad():
                x = g(z, y) if generator.CLASSES else g(z)
            assert tuple(x.shape[1:]) == generator.ITEM, x.shape
            open(sys.argv[4], 'wb').write(struct.pack('<%df' % x.numel(), *x.flatten().tolist()))
            """;

    @ParameterizedTest
    @ValueSource(strings = {"fast-fmnist", "mlp-gan-small", "dcgan-28"})
    void pyTorchMakesTheSameImages(String preset, @TempDir Path tmp) throws Exception {
        requireTorch();
        Path out = tmp.resolve("export");
        Path ck = TinyRuns.checkpoint(preset);
        CliTest.Run r = gan("export", "--checkpoint", ck.toString(), "--format", "torch", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("generator at step 4"), r.out());

        try (Generator g = Generator.load(ck, new Generator.Options("cpu", 2, 256, true))) {   // gan sample's batch, the export's statistics
            int n = 16;
            float[] z = g.noise(n, 5);
            int[] classes = new int[n];
            for (int i = 0; i < n; i++) classes[i] = i % Math.max(1, g.classes());
            float[] jgan = g.sample(z, g.classes() > 0 ? classes : null).values();
            Path zf = write(tmp.resolve("z.f32"), z), yf = tmp.resolve("y.i32"), xf = tmp.resolve("x.f32"), py = tmp.resolve("check.py");
            ByteBuffer yb = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
            for (int c : classes) yb.putInt(c);
            Files.write(yf, yb.array());
            Files.writeString(py, SCRIPT);
            String log = run(PYTHON.toString(), py.toString(), out.toString(), zf.toString(), yf.toString(), xf.toString());
            ByteBuffer xb = ByteBuffer.wrap(Files.readAllBytes(xf)).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(jgan.length, xb.remaining() / 4, "as many floats from PyTorch: " + log);
            double worst = 0;
            int at = 0;
            for (int i = 0; i < jgan.length; i++) {
                double d = Math.abs(jgan[i] - xb.getFloat(4 * i));
                if (d > worst) { worst = d; at = i; }
            }
            assertTrue(worst <= TORCH_ATOL, preset + ": PyTorch's image differs from jgan's by " + worst + " at float " + at + " (of " + jgan.length + ")");
        }
    }

    @Test
    void whatTheExportCannotWriteIsOneLine(@TempDir Path tmp) throws Exception {
        Path data = TinyData.writeSplits(Files.createDirectories(tmp.resolve("data")), 40, 20);
        Path run = tmp.resolve("run");
        assertEquals(0, gan(train(data, run, "--preset", "mlp-gan-small", "--steps", "2", "--batch", "4", "--checkpoint-every", "2",
                "--spectral-norm", "g")).code());
        String ck = run.resolve("checkpoints/step-0000002.safetensors").toString();
        failsWith(2, "spectrally normalised", "export", "--checkpoint", ck, "--format", "torch", "--out", tmp.resolve("x").toString());
        failsWith(2, "unknown export format 'tf'; use torch or onnx", "export", "--checkpoint", ck, "--format", "tf", "--out", tmp.resolve("y").toString());
        failsWith(2, "not found", "export", "--checkpoint", tmp.resolve("none.safetensors").toString(), "--format", "torch",
                "--out", tmp.resolve("z").toString());
    }

    static Path write(Path file, float[] v) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        return Files.write(file, b.array());
    }

    static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) p.destroyForcibly();
        assertEquals(0, p.exitValue(), String.join(" ", List.of(cmd)) + ":\n" + out);
        return out;
    }

    static void requireTorch() throws Exception {
        if (Files.isExecutable(PYTHON)) {
            Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import torch").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) return;
        }
        String reason = "no PyTorch for " + PYTHON + " (apt-get install python3-torch)";
        if ("true".equals(System.getenv("CI"))) fail(reason + "; CI=true requires it");
        Assumptions.abort(reason);
    }
}
