package dev.jgan.gan;

import dev.jgan.backend.Backend;
import dev.jgan.backend.Precision;
import dev.jgan.cpu.CpuBackend;
import dev.jgan.io.Safetensors;
import dev.jgan.io.Safetensors.TensorData;
import dev.jgan.nn.GradMode;
import dev.jgan.nn.Parameter;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.Torch;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * jgan against PyTorch on the same weights and inputs: G's forward and parameter gradients, D's
 * logits, input gradient and parameter gradients, for each image preset, gray and in colour. The PyTorch networks are
 * src/test/resources/torch_presets.py, written by hand from {@link Presets}; torch_parity.py
 * recomputes everything with them. In bf16-emulated, jgan's GEMMs and convolutions round their
 * inputs to bf16 and so do the script's layers (forward and backward), with the tolerance the
 * script derives for it. Skipped, with the reason, where Debian's python3-torch is absent; under
 * CI=true that fails instead (.ci/run installs it).
 */
class TorchParityTest {
    private static final int BATCH = 4;

    /** The cases: preset, precision, channels. */
    static final List<String[]> CASES = List.of(new String[] {"mlp-gan", "fp32", "1"}, new String[] {"dcgan-28", "fp32", "1"},
            new String[] {"dcgan-64", "fp32", "1"}, new String[] {"mlp-gan", "bf16-emulated", "1"}, new String[] {"dcgan-28", "bf16-emulated", "1"},
            new String[] {"dcgan-64", "bf16-emulated", "1"}, new String[] {"dcgan-64", "fp32", "3"}, new String[] {"dcgan-28", "fp32", "3"});

    @TempDir static Path tmp;
    /** Each case's block of the script's output ("== preset precision channels" to "result ..."), by that first line; made once for all cases. */
    private static Map<String, String> blocks;

    static Stream<Arguments> cases() { return CASES.stream().map(c -> Arguments.of(c[0], c[1], Integer.parseInt(c[2]))); }

    @ParameterizedTest
    @MethodSource("cases")
    void matchesPyTorch(String preset, String precision, int channels) throws Exception {
        String block = blocks().get("== " + preset + " " + precision + " " + channels);
        assertNotNull(block, "no output for this case from torch_parity.py: " + blocks);
        assertTrue(block.contains("\nresult ok"), preset + " with " + channels + " channels in " + precision + ": jgan and PyTorch differ:\n" + block);
    }

    /** Exports every case and runs torch_parity.py once on all of them (importing torch takes seconds a process). */
    private static synchronized Map<String, String> blocks() throws Exception {
        if (blocks != null) return blocks;
        Torch.require();
        List<String> cmd = new ArrayList<>(List.of(Torch.PYTHON.toString(), Path.of(TorchParityTest.class.getResource("/torch_parity.py").toURI()).toString()));
        for (int i = 0; i < CASES.size(); i++) {
            String[] c = CASES.get(i);
            Path file = tmp.resolve("parity-" + i + ".safetensors");
            export(c[0], Integer.parseInt(c[2]), Precision.parse(c[1]), file);
            cmd.addAll(List.of(c[0], file.toString(), c[1], c[2]));
        }
        Result r = run(cmd.toArray(String[]::new));
        Map<String, String> m = new LinkedHashMap<>();
        String key = null;
        StringBuilder b = new StringBuilder();
        for (String line : r.out.split("\n")) {
            if (line.startsWith("== ")) {
                if (key != null) m.put(key, b.toString());
                key = line;
                b.setLength(0);
            }
            b.append(line).append('\n');
        }
        if (key != null) m.put(key, b.toString());
        if (m.isEmpty()) fail("torch_parity.py printed no case (exit " + r.exit + "):\n" + r.out);
        return blocks = m;
    }

    /** Writes the model state and every tensor the script recomputes. */
    private static void export(String preset, int channels, Precision precision, Path file) {
        try (Backend b = new CpuBackend(2, precision)) {
            GanModel m = new GanModel(b, Presets.get(preset).withChannels(channels), BATCH, 3);
            LinkedHashMap<String, TensorData> t = new LinkedHashMap<>();
            m.state().forEach((k, v) -> put(t, k, v));
            Tensor z = b.allocate(m.noiseShape());
            b.fillNormal(z, 0f, 1f, 11, 0);
            put(t, "z", z);
            Tensor fake = m.generator().forward(z, true);
            put(t, "fake", fake);
            Tensor r = b.allocate(fake.shape());
            b.fillNormal(r, 0f, 1f, 12, 0);
            put(t, "r", r);
            m.generator().backward(r, GradMode.WRITE, false);
            for (Parameter p : m.generator().parameters()) put(t, "grad." + p.name(), p.grad());
            Tensor real = b.allocate(m.discriminator().inShape());
            b.fillUniform(real, -1f, 1f, 13, 0);
            put(t, "real", real);
            // D in training mode (batch statistics, as dcgan-64's BN trains) except for dcgan-28,
            // whose dropout masks PyTorch cannot reproduce: there D runs in inference mode.
            Tensor logits = m.discriminator().forward(real, !preset.equals("dcgan-28"));
            put(t, "logits", logits);
            Tensor stats = b.allocate(Shape.of(3)), dLogits = b.allocate(logits.shape());
            b.bceWithLogits(logits, null, 1f, 1f, dLogits, stats, 0);
            put(t, "dreal", m.discriminator().backward(dLogits, GradMode.WRITE, true));
            for (Parameter p : m.discriminator().parameters()) put(t, "grad." + p.name(), p.grad());
            Safetensors.write(file, t, Map.of());
        }
    }

    private static void put(Map<String, TensorData> t, String name, Tensor x) {
        t.put(name, new TensorData(x.shape().dims(), x.toHost()));
    }

    private record Result(int exit, String out) {}

    private static Result run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, "timed out");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
