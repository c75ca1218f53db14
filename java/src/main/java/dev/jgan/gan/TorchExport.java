package dev.jgan.gan;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.io.AtomicFiles;
import dev.jgan.io.Safetensors;
import dev.jgan.io.Safetensors.LongData;
import dev.jgan.io.Safetensors.TensorData;
import dev.jgan.nn.Layer;
import dev.jgan.tensor.Shape;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A checkpoint's generator for PyTorch ({@code gan export --format torch}): a folder with
 * {@code generator.safetensors} (G's tensors, the EMA copy's when the checkpoint has one, under
 * the names of {@code generator.py}'s module) and {@code generator.py}, the same network written
 * as PyTorch modules from the model's layer specs, with a safetensors reader of its own (no
 * package beyond torch). {@code import generator; g = generator.load()} gives the network in eval
 * mode; {@code g(z)}, or {@code g(z, labels)} for a conditional model, makes images in [-1, 1].
 * The names and layouts are PyTorch's {@code state_dict}'s: Linear (out, in), ConvTranspose2d
 * (in, out, kH, kW), BatchNorm's running_mean, running_var and num_batches_tracked, and a
 * spectrally normalised layer's weight_orig, weight_u and weight_v (torch.nn.utils.spectral_norm's).
 */
public final class TorchExport {
    /** The two files of an export. */
    public static final String WEIGHTS = "generator.safetensors", MODULE = "generator.py";

    private TorchExport() {}

    /**
     * Writes the export of {@code ck} into folder {@code out} (made if missing), each file
     * atomically; returns what it wrote, in words. The EMA generator's batch-norm statistics are
     * those {@code gan sample} and {@code gan eval} compute with, re-estimated on {@code b} for
     * batches of {@link Generation#CHUNK} (the estimate depends on the batch: {@link GanModel#refreshEmaStatistics}).
     */
    public static String write(Backend b, Checkpoints.Loaded ck, Path out, boolean ema) {
        Preset p = ck.config().model();
        List<Layer> layers = p.generator().get();
        boolean fromEma = ema && ck.hasEma();
        LinkedHashMap<String, TensorData> tensors = generatorTensors(b, ck, fromEma);
        String module = module(p, layers, ck.step(), fromEma);
        LinkedHashMap<String, TensorData> named = new LinkedHashMap<>();
        LinkedHashMap<String, LongData> counts = new LinkedHashMap<>();
        for (var e : tensors.entrySet()) {
            String name = e.getKey();
            // a spectrally normalised layer's weight is torch.nn.utils.spectral_norm's weight_orig (w before / sigma)
            named.put(name.endsWith(".weight") && tensors.containsKey(name + "_u") ? name + "_orig" : name, e.getValue());
            // jgan's batch norm always has a momentum, so PyTorch never reads the count: the checkpoint's step stands for it
            if (name.endsWith(".running_var"))
                counts.put(name.substring(0, name.length() - "running_var".length()) + "num_batches_tracked", LongData.scalar(ck.step()));
        }
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new UserError("cannot write to " + out + ": " + e.getMessage());
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("preset", p.name());
        meta.put("step", Long.toString(ck.step()));
        meta.put("ema", Boolean.toString(fromEma));
        Safetensors.write(out.resolve(WEIGHTS), named, counts, meta);
        AtomicFiles.write(out.resolve(MODULE), os -> os.write(module.getBytes(StandardCharsets.UTF_8)));
        return named.size() + counts.size() + " tensors of " + p.name() + "'s " + (fromEma ? "EMA " : "") + "generator at step " + ck.step();
    }

    /** The metadata format of an export's weights file. */
    public static final String FORMAT = "jgan-torch-generator-1";

    /**
     * G's tensors (the EMA copy's when {@code ema}) under G's names (g.0.weight), with the batch-norm
     * statistics gan sample and gan eval compute with: re-estimated on {@code b} for batches of
     * {@link Generation#CHUNK}.
     */
    static LinkedHashMap<String, TensorData> generatorTensors(Backend b, Checkpoints.Loaded ck, boolean ema) {
        String prefix = ema ? "g_ema." : "g.";
        GanModel model = Generation.open(b, ck, Generation.CHUNK);
        model.refreshEmaStatistics();
        LinkedHashMap<String, TensorData> tensors = new LinkedHashMap<>();
        for (var e : model.state().entrySet())
            if (e.getKey().startsWith(prefix))
                tensors.put("g." + e.getKey().substring(prefix.length()), new TensorData(e.getValue().shape().dims(), e.getValue().toHost()));
        return tensors;
    }

    /** Refuses, in one line, a checkpoint whose generator the export cannot write (before a backend is opened for it). */
    public static void check(Checkpoints.Loaded ck) {
        Preset p = ck.config().model();
        Shape shape = Shape.of(1, p.zDim());
        for (Layer l : p.generator().get()) {
            torch(l.spec(), shape);
            shape = l.outputShape(shape);
        }
    }

    /**
     * generator.py of preset {@code p}'s G (with its channels and classes: {@link TrainConfig#model}),
     * untrained: the module whose state_dict {@link TorchImport} reads back, for a G trained in PyTorch.
     */
    public static String module(Preset p) { return module(p, p.generator().get(), 0, false); }

    /** generator.py for {@code layers}, G of preset {@code p}. */
    static String module(Preset p, List<Layer> layers, long step, boolean ema) {
        StringBuilder net = new StringBuilder();
        Shape shape = Shape.of(1, p.zDim());
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            Map<String, Object> s = l.spec();
            String m = torch(s, shape);
            if (Boolean.TRUE.equals(s.get("spectral"))) m = "spectral_norm(" + m + ")";   // dim 1 for a transposed convolution, as jgan's
            net.append("            ").append(m).append(",   # ").append(i).append(": ").append(l).append('\n');
            shape = l.outputShape(shape);
        }
        int k = p.conditional() ? p.classes() : 0;
        String dims = String.join(", ", java.util.Arrays.stream(p.item().dims()).mapToObj(Integer::toString).toList());
        String item = "(" + dims + (p.item().rank() == 1 ? ",)" : ")");
        return TEMPLATE.replace("@PRESET@", p.name()).replace("@STEP@", Long.toString(step)).replace("@EMA@", ema ? "its EMA " : "")
                .replace("@Z@", Integer.toString(p.zDim())).replace("@K@", Integer.toString(k)).replace("@ITEM@", item)
                .replace("@LAYERS@", net.toString());
    }

    /** One layer as a PyTorch module expression, for input shape {@code in}. */
    private static String torch(Map<String, Object> s, Shape in) {
        return switch ((String) s.get("type")) {
            case "Dense" -> String.format(Locale.ROOT, "nn.Linear(%s, %s, bias=%s)", s.get("in"), s.get("out"), py(s.get("bias")));
            case "Conv2d" -> String.format(Locale.ROOT, "nn.Conv2d(%s, %s, %s, stride=%s, padding=%s, bias=%s)", s.get("in"), s.get("out"),
                    s.get("kernel"), s.get("stride"), s.get("pad"), py(s.get("bias")));
            case "ConvTranspose2d" -> String.format(Locale.ROOT, "nn.ConvTranspose2d(%s, %s, %s, stride=%s, padding=%s, output_padding=%s, bias=%s)",
                    s.get("in"), s.get("out"), s.get("kernel"), s.get("stride"), s.get("pad"), s.get("outputPadding"), py(s.get("bias")));
            // jgan's momentum is PyTorch's (the weight of the new batch's statistic)
            case "BatchNorm" -> String.format(Locale.ROOT, "nn.BatchNorm%dd(%s, eps=%s, momentum=%s)", in.rank() == 2 ? 1 : 2, s.get("channels"),
                    s.get("eps"), s.get("momentum"));
            case "ClassEmbedding" -> String.format(Locale.ROOT, "ClassEmbedding(%s, %s)", s.get("classes"), s.get("features"));
            case "Dropout" -> String.format(Locale.ROOT, "nn.Dropout(%s)", s.get("p"));
            case "Reshape" -> "nn.Unflatten(1, (" + String.join(", ", ((List<?>) s.get("item")).stream().map(String::valueOf).toList())
                    + (((List<?>) s.get("item")).size() == 1 ? ",))" : "))");
            case "Flatten" -> "nn.Flatten()";
            case "MaxPool2d" -> "nn.MaxPool2d(2)";
            case "LeakyReLU" -> String.format(Locale.ROOT, "nn.LeakyReLU(%s)", s.get("slope"));
            case "ReLU" -> "nn.ReLU()";
            case "Tanh" -> "nn.Tanh()";
            case "Sigmoid" -> "nn.Sigmoid()";
            default -> throw new UserError("export: a " + s.get("type") + " layer in G, which the export does not write");
        };
    }

    private static String py(Object bool) { return Boolean.TRUE.equals(bool) ? "True" : "False"; }

    private static final String TEMPLATE = """
            \"""jgan generator: preset @PRESET@, @EMA@G at step @STEP@, written by `gan export --format torch`.

            import generator
            g = generator.load()                       # generator.safetensors beside this file; eval mode
            z = torch.randn(16, generator.Z_DIM)
            x = g(z)                                   # (16, *generator.ITEM), tanh output in [-1, 1]
            x = g(z, torch.arange(16) % generator.CLASSES)   # a conditional model: the class of each image

            The layers are jgan's, in order, with its parameter names (g.0.weight, g.2.running_mean), a
            spectrally normalised layer's as torch.nn.utils.spectral_norm's (weight_orig, weight_u, weight_v).
            Needs torch only: the weights are read by read_safetensors below.
            \"""
            import json
            import os
            import struct

            import torch
            import torch.nn as nn
            from torch.nn.utils import spectral_norm

            Z_DIM = @Z@
            CLASSES = @K@   # 0: unconditional
            ITEM = @ITEM@


            class ClassEmbedding(nn.Module):
                \"""y = x + E[label]: a learned vector per class added to each item's features (broadcast over a map).\"""

                def __init__(self, classes, features):
                    super().__init__()
                    self.weight = nn.Parameter(torch.zeros(classes, features))
                    self.labels = None

                def forward(self, x):
                    if self.labels is None:
                        raise ValueError("this generator is class-conditional: call it as g(z, labels)")
                    e = self.weight[self.labels]
                    return x + (e if x.dim() == 2 else e[:, :, None, None])


            class Generator(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.g = nn.Sequential(
            @LAYERS@        )

                def forward(self, z, labels=None):
                    if (labels is None) != (CLASSES == 0):
                        raise ValueError("labels are needed by a conditional generator and refused by another (CLASSES = %d)" % CLASSES)
                    for m in self.g:
                        if isinstance(m, ClassEmbedding):
                            m.labels = None if labels is None else labels.long()
                    return self.g(z)


            def read_safetensors(path):
                \"""The float32 tensors of a safetensors file, by name.\"""
                with open(path, 'rb') as f:
                    (n,) = struct.unpack('<Q', f.read(8))
                    header = json.loads(f.read(n))
                    data = f.read()
                out = {}
                for name, t in header.items():
                    if name == '__metadata__':
                        continue
                    dtype = {'F32': torch.float32, 'I64': torch.int64}.get(t['dtype'])
                    if dtype is None:
                        raise ValueError('%s: dtype %s, expected F32 or I64' % (name, t['dtype']))
                    a, b = t['data_offsets']
                    out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=dtype).reshape(t['shape']).clone()
                return out


            def load(path=None):
                \"""The generator with the exported weights, in eval mode (batch norm's running statistics).\"""
                g = Generator()
                g.load_state_dict(read_safetensors(path or os.path.join(os.path.dirname(os.path.abspath(__file__)), 'generator.safetensors')))
                return g.eval()
            """;
}
