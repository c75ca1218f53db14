package dev.jgan.cli;

import dev.jgan.api.Generator;
import dev.jgan.backend.Backend;
import dev.jgan.gan.Checkpoints;
import dev.jgan.gan.Preset;
import dev.jgan.gan.Presets;
import dev.jgan.gan.TorchExport;
import dev.jgan.gan.TorchImport;
import dev.jgan.gan.TrainConfig;
import dev.jgan.io.Json;
import dev.jgan.io.Safetensors;
import dev.jgan.io.Safetensors.TensorData;
import dev.jgan.selection.Backends;
import dev.jgan.testing.TinyRuns;
import dev.jgan.testing.Torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static dev.jgan.cli.CliTest.failsWith;
import static dev.jgan.cli.CliTest.gan;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * jgan's generators in PyTorch and back, checked by Debian's PyTorch in one python3 process for
 * all cases (its import of torch alone takes seconds):
 * <ul>
 *   <li>out: {@code gan export --format torch} of trained checkpoints (gray, colour, conditional,
 *       EMA, spectrally normalised G); PyTorch imports the written generator.py, loads
 *       generator.safetensors and makes, from the same noise and classes, the images jgan's
 *       Generator makes;</li>
 *   <li>in: for every image preset in gray and in colour (and two with a spectrally normalised G),
 *       PyTorch builds generator.py's module ({@link TorchExport#module(Preset)}) with weights and
 *       batch-norm statistics of its own drawing, saves its state_dict as safetensors (with
 *       num_batches_tracked as int64, as PyTorch keeps it) and makes images; {@code gan import}
 *       reads the file into a checkpoint, and jgan's Generator makes the same images from it.</li>
 * </ul>
 * Both within {@link #TORCH_ATOL}. Skipped where python3-torch is absent; under CI=true that fails.
 */
class TorchInteropTest {
    /**
     * Both compute in float32 from the same weights, with other summation orders (oneDNN's
     * convolutions against PyTorch's): about 1e-7 relative an operation over a few thousand terms a
     * layer, and tanh's outputs are within [-1, 1]: 1e-5 absolute is the bound and leaves
     * room above the ~1e-6 seen.
     */
    static final double TORCH_ATOL = 1e-5;
    /** Images per case: not a multiple of jgan's batch below, so that a padded last chunk is covered. */
    static final int N = 10;

    /** A trained checkpoint to export, by what it covers. */
    record Out(String name, Supplier<Path> checkpoint) {
        @Override public String toString() { return name; }
    }

    /** A preset's G to build in PyTorch and import; spectralNorm: its --spectral-norm. */
    record In(String preset, int channels, String spectralNorm) {
        @Override public String toString() { return preset + " " + channels + "ch" + ("none".equals(spectralNorm) ? "" : " sn " + spectralNorm); }

        Preset model() {
            Preset p = Presets.get(preset);
            TrainConfig.Builder c = TrainConfig.builder(p).channels(channels).gEma(0).spectralNorm(spectralNorm);
            if (p.conditional()) c.classes(channels == 3 ? 2 : 10);
            return c.build().validate().model();
        }
    }

    static List<Out> exports() {
        return List.of(new Out("fast-fmnist (conditional, EMA, SN on D)", () -> TinyRuns.checkpoint("fast-fmnist")),
                new Out("mlp-gan-small", () -> TinyRuns.checkpoint("mlp-gan-small")),
                new Out("dcgan-28", () -> TinyRuns.checkpoint("dcgan-28")),
                new Out("cdcgan-28 in colour (conditional, 2 classes)", () -> TinyRuns.colour("cdcgan-28")),
                new Out("dcgan-28 with SN on G and an EMA", () -> TinyRuns.checkpoint("dcgan-28", "--spectral-norm", "g", "--g-ema", "0.9")));
    }

    static List<In> imports() {
        List<In> all = new ArrayList<>();
        for (Preset p : Presets.all().values())
            if (p.kind().images())
                for (int c : new int[] {1, 3}) all.add(new In(p.name(), c, p.spectralNorm().flag()));
        all.add(new In("mlp-gan-small", 1, "g"));
        all.add(new In("dcgan-28", 3, "both"));
        return all;
    }

    /** What PyTorch made, per case name: the images, and the case's folder (z.f32, y.i32; an import's torch.safetensors). */
    private record Made(float[] images, Path dir) {
        Path weights() { return dir.resolve("torch.safetensors"); }
    }

    private static Map<String, Made> made;
    private static Path work;
    private static Backend cpu;

    @AfterAll static void cleanUp() throws Exception {
        if (cpu != null) cpu.close();
        if (work != null)
            try (Stream<Path> s = Files.walk(work)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
    }

    /** Prepares every case, runs PyTorch once on all of them, and reads back what it made. */
    private static synchronized Map<String, Made> made() throws Exception {
        if (made != null) return made;
        Torch.require();
        work = Files.createTempDirectory("jgan-torch-interop");
        List<Map<String, Object>> jobs = new ArrayList<>();
        int i = 0;
        for (Out o : exports()) {
            Path dir = work.resolve("out" + i++);
            CliTest.Run r = gan("export", "--checkpoint", o.checkpoint().get().toString(), "--format", "torch", "--out", dir.toString());
            assertEquals(0, r.code(), o + ": " + r.err());
            assertTrue(r.out().contains("generator at step 4"), r.out());
            Preset p = Checkpoints.read(o.checkpoint().get()).config().model();
            jobs.add(job(o.toString(), "export", dir, p.zDim(), p.conditional() ? p.classes() : 0));
        }
        for (In in : imports()) {
            Path dir = Files.createDirectories(work.resolve("in" + i++));
            Preset p = in.model();
            Files.writeString(dir.resolve(TorchExport.MODULE), TorchExport.module(p));
            jobs.add(job(in.toString(), "import", dir, p.zDim(), p.conditional() ? p.classes() : 0));
        }
        Path jobFile = work.resolve("jobs.json"), script = work.resolve("interop.py");
        Json.MAPPER.writeValue(jobFile.toFile(), jobs);
        Files.writeString(script, SCRIPT);
        run(Torch.PYTHON.toString(), script.toString(), jobFile.toString());
        Map<String, Made> m = new LinkedHashMap<>();
        for (Map<String, Object> j : jobs) {
            Path dir = Path.of((String) j.get("dir"));
            m.put((String) j.get("name"), new Made(floats(dir.resolve("x.f32")), dir));
        }
        return made = m;
    }

    /** One case for the script: its folder, with the noise (z.f32) and classes (y.i32) jgan will use too. */
    private static Map<String, Object> job(String name, String mode, Path dir, int zDim, int classes) throws Exception {
        Random r = new Random(name.hashCode());
        float[] z = new float[N * zDim];
        for (int k = 0; k < z.length; k++) z[k] = (float) r.nextGaussian();
        write(dir.resolve("z.f32"), z);
        ByteBuffer yb = ByteBuffer.allocate(4 * N).order(ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k < N; k++) yb.putInt(k % Math.max(1, classes));
        Files.write(dir.resolve("y.i32"), yb.array());
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("name", name);
        j.put("mode", mode);
        j.put("dir", dir.toString());
        j.put("seed", Math.floorMod(name.hashCode(), 1 << 20));
        return j;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("exports")
    void pyTorchMakesTheImagesOfAnExport(Out o) throws Exception {
        Made m = made().get(o.toString());
        Path dir = m.dir();
        try (Generator g = Generator.load(o.checkpoint().get(), new Generator.Options("cpu", 2, 256, true))) {   // gan sample's batch, the export's statistics
            assertClose(o + ", exported", g.sample(floats(dir.resolve("z.f32")), classes(dir, g.classes())).values(), m.images());
        }
        Map<String, Safetensors.LongData> counts = Safetensors.read(dir.resolve(TorchExport.WEIGHTS)).longs();
        assertEquals(counts.isEmpty(), !Files.readString(dir.resolve(TorchExport.MODULE)).contains("BatchNorm"),
                o + ": a num_batches_tracked beside every batch norm's statistics, none without: " + counts.keySet());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("imports")
    void jganMakesTheImagesOfAnImport(In in, @TempDir Path tmp) throws Exception {
        Made m = made().get(in.toString());
        Path dir = m.dir(), ck = tmp.resolve("imported.safetensors");
        String what = TorchImport.write(cpu(), m.weights(), in.preset(), ck);
        assertTrue(what.contains(in.channels() + " channel"), what);
        try (Generator g = Generator.load(ck, new Generator.Options("cpu", 2, 8, true))) {
            assertEquals(in.preset(), g.preset());
            assertEquals(0, g.step(), "an import is at step 0");
            assertClose(in + ", imported", g.sample(floats(dir.resolve("z.f32")), classes(dir, g.classes())).values(), m.images());
        }
    }

    @Test
    void theCliImportsAnExportAndSamplesTheSameImages(@TempDir Path tmp) throws Exception {
        Torch.require();   // not for this test's own sake: it shares the export's CI requirement
        Path ck = TinyRuns.checkpoint("fast-fmnist"), export = tmp.resolve("export"), back = tmp.resolve("back.safetensors");
        assertEquals(0, gan("export", "--checkpoint", ck.toString(), "--format", "torch", "--out", export.toString()).code());
        CliTest.Run r = gan("import", "--format", "torch", export.resolve(TorchExport.WEIGHTS).toString(), "--out", back.toString());   // the preset from the file's metadata
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("as fast-fmnist's G (1 channel, 10 classes)"), r.out());
        try (Generator a = Generator.load(ck, new Generator.Options("cpu", 2, 256, true));
             Generator b = Generator.load(back, new Generator.Options("cpu", 2, 256, true))) {
            // the same weights and statistics through the same arithmetic: the EMA G re-estimated at 256 was exported, the import computes with it as it is
            assertArrayEquals(a.sample(24, 3).values(), b.sample(24, 3).values(), "the import of an export makes the original's images, bit for bit");
        }
        CliTest.Run s = gan("sample", "--device", "cpu", "--checkpoint", back.toString(), "--n", "4", "--out", tmp.resolve("s.png").toString());
        assertEquals(0, s.code(), s.err());
    }

    @Test
    void whatCannotBeExportedOrImportedIsOneLine(@TempDir Path tmp) throws Exception {
        Path ck = TinyRuns.checkpoint("mlp-gan-small");
        failsWith(2, "unknown export format 'tf'; use torch or onnx", "export", "--checkpoint", ck.toString(), "--format", "tf", "--out", tmp.resolve("y").toString());
        failsWith(2, "not found", "export", "--checkpoint", tmp.resolve("none.safetensors").toString(), "--format", "torch",
                "--out", tmp.resolve("z").toString());
        Path export = tmp.resolve("export");
        assertEquals(0, gan("export", "--checkpoint", ck.toString(), "--format", "torch", "--out", export.toString()).code());
        String w = export.resolve(TorchExport.WEIGHTS).toString(), out = tmp.resolve("i.safetensors").toString();
        failsWith(2, "unknown import format 'onnx'; use torch", "import", "--format", "onnx", w, "--out", out);
        failsWith(2, "not found", "import", "--format", "torch", tmp.resolve("none.safetensors").toString(), "--out", out);
        failsWith(2, "tensor g.0.weight has shape (128, 100), dcgan-28's G (1 channel) needs (12544, 100)", "import", "--device", "cpu", "--format", "torch", "--preset", "dcgan-28", w, "--out", out);
        LinkedHashMap<String, TensorData> foreign = new LinkedHashMap<>(Safetensors.read(export.resolve(TorchExport.WEIGHTS)).tensors());
        foreign.put("head.weight", new TensorData(new int[] {1}, new float[1]));
        Safetensors.write(tmp.resolve("foreign.safetensors"), foreign, Map.of());
        failsWith(2, "tensor 'head.weight' is not a layer's", "import", "--format", "torch", tmp.resolve("foreign.safetensors").toString(),
                "--preset", "mlp-gan-small", "--out", out);
        failsWith(2, "names no preset in its metadata: give --preset", "import", "--format", "torch", tmp.resolve("foreign.safetensors").toString(), "--out", out);
        assertTrue(Files.notExists(Path.of(out)), "a refused import writes nothing");
    }

    private static Backend cpu() {
        synchronized (TorchInteropTest.class) {
            if (cpu == null) cpu = Backends.select("cpu", 2, line -> {});
            return cpu;
        }
    }

    private static int[] classes(Path dir, int k) throws Exception {
        if (k == 0) return null;
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(dir.resolve("y.i32"))).order(ByteOrder.LITTLE_ENDIAN);
        int[] c = new int[N];
        for (int i = 0; i < N; i++) c[i] = b.getInt();
        return c;
    }

    private static void assertClose(String what, float[] jgan, float[] torch) {
        assertNotNull(torch, what + ": PyTorch made nothing");
        assertEquals(jgan.length, torch.length, what + ": floats from jgan and from PyTorch");
        double worst = 0;
        int at = 0;
        for (int i = 0; i < jgan.length; i++) {
            double d = Math.abs(jgan[i] - torch[i]);
            if (!(d <= worst)) { worst = d; at = i; }
        }
        assertTrue(worst <= TORCH_ATOL, what + ": PyTorch's images differ from jgan's by " + worst + " at float " + at + " (of " + jgan.length
                + "): jgan " + jgan[at] + ", PyTorch " + torch[at]);
    }

    static Path write(Path file, float[] v) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        return Files.write(file, b.array());
    }

    private static float[] floats(Path file) throws Exception {
        if (!Files.isRegularFile(file)) return null;
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[b.remaining() / 4];
        b.asFloatBuffer().get(v);
        return v;
    }

    static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(300, TimeUnit.SECONDS)) p.destroyForcibly();
        assertEquals(0, p.exitValue(), String.join(" ", List.of(cmd)) + ":\n" + out);
        return out;
    }

    /**
     * Each job's folder holds generator.py, z.f32 and y.i32. An export: load() the written weights.
     * An import: build the module, draw every parameter and statistic (PyTorch's own init leaves
     * biases, batch-norm affines and the class table at constants, which would hide a misplaced
     * one), save the state_dict as safetensors in torch.safetensors. Either way write G(z, y) in eval
     * mode as x.f32.
     */
    static final String SCRIPT = """
            import importlib.util, json, struct, sys
            import torch

            def tensor_bytes(t):
                t = t.detach().contiguous().flatten()
                if t.dtype == torch.int64:
                    return 'I64', struct.pack('<%dq' % t.numel(), *t.tolist())
                return 'F32', struct.pack('<%df' % t.numel(), *t.float().tolist())

            def save_safetensors(path, state):
                header, blobs, off = {'__metadata__': {'format': 'pt'}}, [], 0
                for name, t in state.items():
                    dtype, b = tensor_bytes(t)
                    header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
                    blobs.append(b)
                    off += len(b)
                h = json.dumps(header).encode()
                h += b' ' * (-len(h) % 8)
                with open(path, 'wb') as f:
                    f.write(struct.pack('<Q', len(h)))
                    f.write(h)
                    for b in blobs:
                        f.write(b)

            for i, job in enumerate(json.load(open(sys.argv[1]))):
                d = job['dir']
                spec = importlib.util.spec_from_file_location('generator%d' % i, d + '/generator.py')
                gen = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(gen)
                torch.manual_seed(job['seed'])
                if job['mode'] == 'export':
                    g = gen.load(d + '/generator.safetensors')
                else:
                    g = gen.Generator()
                    with torch.no_grad():
                        if any(n.endswith('weight_u') for n, _ in g.named_buffers()):
                            g.train()   # spectral norm's power iteration, to a sigma near the largest singular value (as in a trained G)
                            for _ in range(15):
                                g(torch.randn(4, gen.Z_DIM), torch.arange(4) % gen.CLASSES if gen.CLASSES else None)
                        modules = dict(g.named_modules())
                        for name, p in g.named_parameters():
                            owner = modules[name.rsplit('.', 1)[0]]
                            if isinstance(owner, gen.ClassEmbedding):
                                p.copy_(torch.randn_like(p) * 0.5)
                            elif p.dim() == 1:   # biases, and batch norm's scale (about 1) and shift
                                one = isinstance(owner, torch.nn.modules.batchnorm._BatchNorm) and name.endswith('weight')
                                p.copy_(torch.randn_like(p) * 0.3 + (1.0 if one else 0.0))
                        for name, b in g.named_buffers():
                            if name.endswith('running_mean'):
                                b.copy_(torch.randn_like(b) * 0.2)
                            elif name.endswith('running_var'):
                                b.copy_(torch.rand_like(b) + 0.5)
                            elif name.endswith('num_batches_tracked'):
                                b.fill_(7)
                    g.eval()
                    save_safetensors(d + '/torch.safetensors', g.state_dict())
                z = torch.frombuffer(bytearray(open(d + '/z.f32', 'rb').read()), dtype=torch.float32).reshape(-1, gen.Z_DIM)
                y = torch.frombuffer(bytearray(open(d + '/y.i32', 'rb').read()), dtype=torch.int32).long() if gen.CLASSES else None
                with torch.no_grad():
                    x = g(z, y) if gen.CLASSES else g(z)
                assert tuple(x.shape[1:]) == gen.ITEM, (job['name'], x.shape)
                open(d + '/x.f32', 'wb').write(struct.pack('<%df' % x.numel(), *x.flatten().tolist()))
            """;
}
