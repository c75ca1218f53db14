package dev.jgan.gan;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.io.Safetensors;
import dev.jgan.io.Safetensors.TensorData;
import dev.jgan.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Training checkpoints in the safetensors format: every model tensor (G and D parameters and
 * batch-norm statistics, under their PyTorch names) and the Adam moments, with the counters and the
 * run's config in the metadata. Files are {@code checkpoints/step-NNNNNNN.safetensors}, each
 * written atomically; the newest {@link #KEEP} are kept.
 */
public final class Checkpoints {
    public static final String FORMAT = "jgan-checkpoint-1";
    /** Every version's format begins so: "jgan-checkpoint-" and the version number. */
    static final String FORMAT_FAMILY = "jgan-checkpoint-";
    /** How many checkpoints a run keeps: the newest, and older ones in case it is damaged. */
    static final int KEEP = 3;
    private static final Pattern NAME = Pattern.compile("step-(\\d+)\\.safetensors");
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The counters every checkpoint's metadata holds, as decimal numbers (train_nanos beside them is optional: older checkpoints lack it). */
    private static final List<String> COUNTERS = List.of("step", "batches_drawn", "noise_offset", "adam_steps_g", "adam_steps_d");

    private Checkpoints() {}

    /** A checkpoint read from disk, not yet applied to a model. */
    public record Loaded(Path file, Map<String, TensorData> tensors, Map<String, String> metadata) {
        public String preset() { return metadata.get("preset"); }

        public long step() { return Long.parseLong(metadata.getOrDefault("step", "0")); }

        /** Whether the checkpoint holds an EMA of G ({@code g_ema.*} tensors, written under --g-ema). */
        public boolean hasEma() { return tensors.keySet().stream().anyMatch(k -> k.startsWith("g_ema.")); }

        public TrainConfig config() {
            try {
                return JSON.readValue(metadata.get("config"), TrainConfig.class);
            } catch (IOException | IllegalArgumentException e) {
                throw new UserError("checkpoint " + file + " has no readable config in its metadata");
            }
        }
    }

    /** Writes the trainer's whole state and prunes old checkpoints; returns the new file. */
    public static Path save(Path runDir, GanTrainer t) {
        Path dir = runDir.resolve("checkpoints");
        Path file = dir.resolve(String.format("step-%07d.safetensors", t.steps()));
        Map<String, String> counters = new LinkedHashMap<>();
        counters.put("step", Long.toString(t.steps()));
        counters.put("batches_drawn", Long.toString(t.batchesDrawn()));
        counters.put("noise_offset", Long.toString(t.noise().offset()));
        // the optimizers' step counts (Adam's bias correction, SGD's first step), under their first names
        counters.put("adam_steps_g", Integer.toString(t.optimizerG().steps()));
        counters.put("adam_steps_d", Integer.toString(t.optimizerD().steps()));
        counters.put("train_nanos", Long.toString(t.trainNanos()));
        write(file, t.model(), t.config(), t.optimizerState(), counters);
        prune(dir);
        return file;
    }

    /**
     * A checkpoint of a model alone at step 0, without optimizer state ({@code gan import}'s):
     * {@code gan sample}, {@code eval}, {@code export}, {@code serve} and {@link dev.jgan.api.Generator}
     * read it; {@code gan train --resume} does not continue from it. {@code extra}: metadata beside the
     * format's own (where the weights came from, say).
     */
    public static void saveModel(Path file, GanModel model, TrainConfig config, Map<String, String> extra) {
        Map<String, String> counters = new LinkedHashMap<>();
        for (String k : COUNTERS) counters.put(k, "0");
        counters.put("train_nanos", "0");
        counters.putAll(extra);
        write(file, model, config, Map.of(), counters);
    }

    private static void write(Path file, GanModel model, TrainConfig config, Map<String, Tensor> optimizerState, Map<String, String> counters) {
        Backend b = model.backend();
        model.refreshEmaStatistics();   // saved statistics belong to the saved EMA weights
        LinkedHashMap<String, TensorData> tensors = new LinkedHashMap<>();
        for (var e : model.state().entrySet()) tensors.put(e.getKey(), toData(e.getValue()));
        for (var e : optimizerState.entrySet()) tensors.put(e.getKey(), toData(e.getValue()));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("preset", model.preset().name());
        meta.putAll(counters);
        meta.put("backend", b.name());
        meta.put("model_spec", PresetSpecs.of(model));   // so that a model built in code reads back without its code
        try {
            meta.put("config", JSON.writeValueAsString(config));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        Safetensors.write(file, tensors, meta);
    }

    private static TensorData toData(Tensor t) {
        return new TensorData(t.shape().dims(), t.toHost());
    }

    /** The newest checkpoint of a run directory, or null when it has none. */
    public static Path latest(Path runDir) {
        List<Path> all = list(runDir.resolve("checkpoints"));
        return all.isEmpty() ? null : all.get(all.size() - 1);
    }

    /** Checkpoints of a directory, oldest first. */
    static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> files = new ArrayList<>(s.filter(p -> NAME.matcher(p.getFileName().toString()).matches()).toList());
            files.sort((a, c) -> Long.compare(stepOf(a), stepOf(c)));
            return files;
        } catch (IOException e) {
            throw new UserError("cannot list checkpoints in " + dir + ": " + e.getMessage());
        }
    }

    private static long stepOf(Path p) {
        Matcher m = NAME.matcher(p.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    private static void prune(Path dir) {
        List<Path> all = list(dir);
        for (int i = 0; i < all.size() - KEEP; i++) {
            try {
                Files.deleteIfExists(all.get(i));
            } catch (IOException ignored) {
                // an old checkpoint that cannot be removed costs disk space, nothing else
            }
        }
    }

    /** Whether {@code format} (of FORMAT_FAMILY) is a later version than this jgan's. */
    private static boolean newer(String format) {
        try {
            return Integer.parseInt(format.substring(FORMAT_FAMILY.length())) > Integer.parseInt(FORMAT.substring(FORMAT_FAMILY.length()));
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** Reads and checks a checkpoint file (format and counters); tensors are checked when applied. */
    public static Loaded read(Path file) {
        if (!Files.isRegularFile(file)) throw new UserError("checkpoint " + file + " not found");
        Safetensors.Contents c = Safetensors.read(file);
        Map<String, String> meta = c.metadata();
        String format = meta.get("format");
        if (format != null && format.startsWith(FORMAT_FAMILY) && !format.equals(FORMAT))
            throw new UserError("checkpoint " + file + " is in format " + format + ", which this jgan does not read (it reads "
                    + FORMAT + ")" + (newer(format) ? ": it was written by a newer jgan; upgrade to read it" : ""));
        if (!FORMAT.equals(format))
            throw new UserError("checkpoint " + file + " is not a jgan checkpoint (metadata format is "
                    + format + ", expected " + FORMAT + ")");
        for (String k : Stream.of(Stream.of("preset"), COUNTERS.stream(), Stream.of("config")).flatMap(x -> x).toList())
            if (meta.get(k) == null) throw new UserError("checkpoint " + file + " is corrupt: metadata lacks '" + k + "'");
        try {
            for (String k : COUNTERS)
                Long.parseLong(meta.get(k));
        } catch (NumberFormatException e) {
            throw new UserError("checkpoint " + file + " is corrupt: a counter in its metadata is not a number");
        }
        // a model built in code: known by its spec where its code has not registered it (another process)
        if (!Presets.known(meta.get("preset")) && meta.get("model_spec") != null)
            Presets.register(PresetSpecs.preset(meta.get("model_spec"), "checkpoint " + file));
        return new Loaded(file, c.tensors(), meta);
    }

    /** Loads the model tensors of {@code ck} into {@code model}; a UserError if they do not fit its preset. */
    public static void loadModel(Loaded ck, GanModel model) {
        String preset = model.preset().name();
        if (!preset.equals(ck.preset()))
            throw new UserError("checkpoint " + ck.file() + " is from preset " + ck.preset() + ", not " + preset);
        load(ck, model.state(), model.backend());
        model.emaWeightsChanged();
    }

    /** Loads model, optimizer state and counters: the trainer continues exactly where the checkpoint was written. */
    public static void loadTrainer(Loaded ck, GanTrainer t) {
        loadModel(ck, t.model());
        load(ck, t.optimizerState(), t.model().backend());
        Map<String, String> m = ck.metadata();
        t.restoreCounters(Long.parseLong(m.get("step")), Long.parseLong(m.get("batches_drawn")),
                Long.parseLong(m.get("noise_offset")), Integer.parseInt(m.get("adam_steps_g")),
                Integer.parseInt(m.get("adam_steps_d")));
        t.addTrainNanos(Long.parseLong(m.getOrDefault("train_nanos", "0")));   // 0 in a checkpoint written before --minutes
    }

    private static void load(Loaded ck, Map<String, Tensor> into, Backend b) {
        Map<String, float[]> checked = new HashMap<>();
        for (var e : into.entrySet()) {
            TensorData d = ck.tensors().get(e.getKey());
            if (d == null) throw new UserError("checkpoint " + ck.file() + " lacks tensor " + e.getKey());
            if (!Arrays.equals(d.shape(), e.getValue().shape().dims()))
                throw new UserError("checkpoint " + ck.file() + ": tensor " + e.getKey() + " has shape "
                        + Arrays.toString(d.shape()) + ", the model needs " + e.getValue().shape());
            checked.put(e.getKey(), d.data());
        }
        // only touch the model once every tensor has been found and checked
        for (var e : into.entrySet()) b.copyFromHost(checked.get(e.getKey()), e.getValue());
    }
}
