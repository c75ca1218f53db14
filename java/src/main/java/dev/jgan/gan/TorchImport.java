package dev.jgan.gan;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.io.Safetensors;
import dev.jgan.io.Safetensors.TensorData;
import dev.jgan.nn.Layer;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A preset's generator trained in PyTorch, into a jgan checkpoint ({@code gan import --format
 * torch}): the weights are a safetensors file of the {@code state_dict} of the module
 * {@code gan export --format torch} writes ({@link TorchExport#module(Preset)} for a preset never
 * trained here): g.0.weight, g.1.running_mean, and so on; names without the {@code g.} prefix (a
 * bare {@code nn.Sequential}'s) are taken too. A spectrally normalised layer's weight_orig,
 * weight_u and weight_v (torch.nn.utils.spectral_norm's) make G spectrally normalised; BatchNorm's
 * num_batches_tracked is read past (jgan's batch norm has a momentum, so it never counts).
 * The image channels (1 or 3) and a conditional preset's classes are read off the tensors' shapes.
 *
 * <p>The checkpoint holds G with these weights at step 0, D as the preset initialises it, no EMA
 * and no optimizer state: {@code gan sample}, {@code eval}, {@code export}, {@code serve} and
 * {@link dev.jgan.api.Generator} read it; training does not resume from it.
 */
public final class TorchImport {
    private TorchImport() {}

    /** A weights file read and named as jgan's G, not yet fitted to a model: {@link #read}, then {@link #write}. */
    public record Weights(Path file, Preset preset, Map<String, TensorData> tensors, boolean spectral) {}

    /**
     * Reads {@code file} as preset {@code presetName}'s G (null: the preset the file's metadata
     * names); a one-line UserError for a missing or corrupt file, an unknown preset or a tensor
     * that is no layer's. Needs no backend.
     */
    public static Weights read(Path file, String presetName) {
        Safetensors.Contents contents = Safetensors.read(file);
        String name = presetName != null ? presetName : contents.metadata().get("preset");
        if (name == null) throw new UserError(file + " names no preset in its metadata: give --preset (" + String.join(", ", Presets.all().keySet()) + ")");
        Map<String, TensorData> given = generatorNames(file, contents.tensors());
        return new Weights(file, Presets.get(name), given, given.keySet().stream().anyMatch(k -> k.endsWith(".weight_u")));
    }

    /** {@link #read} and {@link #write(Backend, Weights, Path)}. */
    public static String write(Backend b, Path file, String presetName, Path out) {
        return write(b, read(file, presetName), out);
    }

    /**
     * Fits the weights to their preset's G on {@code b} (the channels and classes their shapes
     * say) and writes checkpoint {@code out} atomically; returns what it wrote, in words. A
     * one-line UserError naming the first tensor that does not fit.
     */
    public static String write(Backend b, Weights w, Path out) {
        Preset base = w.preset();
        Map<String, TensorData> given = w.tensors();
        boolean onD = base.spectralNorm().discriminator();
        TrainConfig.Builder recipe = TrainConfig.builder(base).gEma(0)
                .spectralNorm((w.spectral() ? (onD ? SpectralNormOn.BOTH : SpectralNormOn.G) : (onD ? SpectralNormOn.D : SpectralNormOn.NONE)).flag());
        if (base.conditional()) recipe.classes(classes(w.file(), base, given));
        List<String> problems = new ArrayList<>();
        for (int channels : base.kind().images() ? new int[] {base.channels(), 4 - base.channels()} : new int[] {0}) {
            if (channels > 0) recipe.channels(channels);
            TrainConfig config = recipe.build().validate();
            GanModel model = new GanModel(b, config.model(), 2, config.seed());
            String problem = mismatch(w.file(), model, given, channels);
            if (problem == null) {
                for (var e : generatorState(model).entrySet()) b.copyFromHost(given.get(e.getKey()).data(), e.getValue());
                Map<String, String> extra = new LinkedHashMap<>();
                extra.put("imported_from", w.file().getFileName().toString());
                Checkpoints.saveModel(out, model, config, extra);
                return given.size() + " tensors as " + base.name() + "'s G" + (channels > 0 ? " (" + channels + " channel" + (channels == 1 ? "" : "s") : " (")
                        + (base.conditional() ? ", " + model.classes() + " classes" : "") + (w.spectral() ? ", spectrally normalised" : "") + ")";
            }
            problems.add(problem);
        }
        throw new UserError(problems.getFirst());
    }

    /** G's tensors of {@code model} by name (g.0.weight, ...). */
    private static Map<String, Tensor> generatorState(GanModel model) {
        Map<String, Tensor> g = new LinkedHashMap<>();
        for (var e : model.state().entrySet()) if (e.getKey().startsWith("g.")) g.put(e.getKey(), e.getValue());
        return g;
    }

    /** The file's tensors under jgan's names: the g. prefix added where missing, weight_orig as weight, num_batches_tracked left out (it is int64). */
    private static Map<String, TensorData> generatorNames(Path file, Map<String, TensorData> tensors) {
        Map<String, TensorData> g = new LinkedHashMap<>();
        for (var e : tensors.entrySet()) {
            String k = e.getKey();
            if (!k.startsWith("g.")) {
                if (k.isEmpty() || !Character.isDigit(k.charAt(0)))
                    throw new UserError(file + ": tensor '" + k + "' is not a layer's (expected names as generator.py's state_dict: g.0.weight, g.1.running_mean, ...)");
                k = "g." + k;
            }
            if (k.endsWith(".weight_orig")) k = k.substring(0, k.length() - "_orig".length());
            g.put(k, e.getValue());
        }
        if (g.isEmpty()) throw new UserError(file + " holds no float tensors");
        return g;
    }

    /** A conditional preset's classes: the rows of its class embedding's table. */
    private static int classes(Path file, Preset p, Map<String, TensorData> given) {
        List<Layer> layers = p.generator().get();
        for (int i = 0; i < layers.size(); i++)
            if ("ClassEmbedding".equals(layers.get(i).spec().get("type"))) {
                TensorData e = given.get("g." + i + ".weight");
                if (e == null || e.shape().length != 2)
                    throw new UserError(file + ": " + p.name() + " is class-conditional, and the file has no class table g." + i + ".weight (classes x features)");
                return e.shape()[0];
            }
        throw new IllegalStateException(p.name() + " is conditional with no ClassEmbedding in G");
    }

    /** Why the file's tensors do not fit {@code model}'s G, in one line; null when they fit. */
    private static String mismatch(Path file, GanModel model, Map<String, TensorData> given, int channels) {
        Map<String, Tensor> want = generatorState(model);
        String as = model.preset().name() + "'s G" + (channels > 0 ? " (" + channels + " channel" + (channels == 1 ? "" : "s") + ")" : "");
        for (var e : want.entrySet()) {
            TensorData d = given.get(e.getKey());
            if (d == null) return file + " lacks tensor " + e.getKey() + " of " + as;
            if (!Arrays.equals(d.shape(), e.getValue().shape().dims()))
                return file + ": tensor " + e.getKey() + " has shape " + Shape.of(d.shape()) + ", " + as + " needs " + e.getValue().shape();
        }
        for (String k : given.keySet())
            if (!want.containsKey(k)) return file + ": tensor " + k + " has no place in " + as;
        return null;
    }
}
