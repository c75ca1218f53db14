package dev.jgan.gan;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.jgan.UserError;
import dev.jgan.backend.AlgorithmChoice;
import dev.jgan.backend.Backend;
import dev.jgan.data.Datasets;
import dev.jgan.eval.Evaluator;
import dev.jgan.io.AtomicFiles;
import dev.jgan.io.Json;
import dev.jgan.io.MetricsLog;
import dev.jgan.io.RunReport;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A whole training run and its directory: {@code config.json}, {@code metrics.jsonl} (one line per
 * log interval), {@code samples/step-N.png} (a 5x5 grid from fixed noise, as the tutorials save)
 * and {@code checkpoints/step-N.safetensors}. Losses are checked before every checkpoint, so a run
 * that diverges stops with its last good checkpoint intact. {@code report.html} ({@link RunReport})
 * is rebuilt at every sample interval and at the end. With {@code evalEvery > 0}, FID and class
 * coverage of {@code evalN} generated images join metrics.jsonl; the log warns of mode collapse.
 * {@code algorithms.json} holds the backend's algorithm choices (cuDNN's convolution algorithms on
 * CUDA; none on the CPU, which writes no such file), written before each checkpoint whenever they
 * changed and handed back to the backend by {@link #resume} before the first step, so a resumed
 * run computes with the same algorithms as the uninterrupted one.
 */
public final class TrainingRun {
    /** Exit code of a run that stopped because a loss became NaN or infinite. */
    public static final int DIVERGED = 3;
    /** The run's algorithm choices ({@link Backend#algorithmChoices}), beside config.json and checkpoints/. */
    public static final String ALGORITHMS = "algorithms.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * Receives progress: the step just done and the stats of the last log point, on the training
     * thread after every step; and is asked after every step whether to stop there.
     */
    public interface Progress {
        void update(long step, long total, StepStats last);

        /**
         * Whether the run should end after the step just done, as if its length were reached (its
         * log line, samples and checkpoint written); asked after each step, before them and
         * {@link #update}. Never, unless overridden.
         */
        default boolean stopRequested() { return false; }

        /** A sample grid was written (samples/step-N.png). */
        default void sampled(long step, Path grid) {}

        /** A checkpoint was written. */
        default void checkpointed(long step, Path checkpoint) {}

        /** FID and coverage were measured ({@code --eval-every}): the metrics line's quality fields. */
        default void evaluated(long step, Map<String, Object> quality) {}

        Progress NONE = (s, t, l) -> {};
    }

    /** A run's end: its directory, the last stats, checkpoint and sample grid, and whether {@link Progress#stopRequested} ended it. */
    public record Result(Path runDir, StepStats last, Path checkpoint, Path lastSample, boolean stopped) {}

    private final Backend backend;
    private final Path out;
    private final Consumer<String> log;
    /** What algorithms.json holds now (written by this run or read on resume). */
    private List<AlgorithmChoice> savedChoices = List.of();

    public TrainingRun(Backend backend, Path out, Consumer<String> log) {
        this.backend = backend;
        this.out = out;
        this.log = log;
    }

    /** Starts a new run with {@code config}; with {@code epochs > 0}, as many steps as that many passes over the data take. */
    public Result start(TrainConfig config, int epochs, Progress progress) {
        config.validate();
        Preset preset = Presets.get(config.preset());
        if (preset.kind().images())   // "folder" when --data holds pictures, not IDX files
            config = config.toBuilder().dataset(Datasets.resolve(config.dataset(), config.dataDir() == null ? null : Path.of(config.dataDir())))
                    .build();
        RealBatches data = DataSources.open(config, preset);
        if (preset.kind().images() && config.channels() == 0) config = config.toBuilder().channels(data.item().dim(0)).build();
        if (preset.conditional() && config.classes() == 0) config = config.toBuilder().classes(data.classes()).build();
        preset = config.model();   // the channels (and a conditional preset's classes) the data has, or the flags asked for
        if (preset.conditional() && data.classes() != preset.classes()) {
            data.close();
            throw new UserError("--classes " + preset.classes() + " does not fit the data, which has " + data.classes() + " classes");
        }
        if (epochs > 0) {
            if (data.batchesPerEpoch() == 0) throw new UserError("--epochs does not apply to " + preset.name() + ", which has no fixed dataset; use --steps");
            config = config.withSteps(Math.max(1, epochs * data.batchesPerEpoch() / config.dSteps())).validate();
        }
        GanTrainer trainer;
        try {
            prepareDirectory();
            trainer = new GanTrainer(new GanModel(backend, preset, config.batch(), config.seed(), config.gEma() > 0), config, data);
            writeConfig(config, trainer);
        } catch (RuntimeException e) {
            data.close();   // the loop closes it from here on
            throw e;
        }
        MetricsLog metrics = MetricsLog.open(out.resolve("metrics.jsonl"));
        return loop(trainer, metrics, progress);
    }

    /**
     * Continues the run in this directory from its newest checkpoint, up to {@code steps} total
     * steps (the checkpoint's own target when 0). {@code preset}, when not null, must be the run's.
     */
    public Result resume(String preset, long steps, Progress progress) {
        return resume(preset, steps, 0, progress);
    }

    /**
     * {@link #resume(String, long, Progress)} with a training-time budget of {@code minutes} in
     * all (the checkpoint's own when 0), its earlier training time included.
     */
    public Result resume(String preset, long steps, double minutes, Progress progress) {
        Path latest = Checkpoints.latest(out);
        if (latest == null) throw new UserError("nothing to resume: " + out.resolve("checkpoints") + " holds no checkpoint");
        Checkpoints.Loaded ck = Checkpoints.read(latest);
        if (preset != null && !preset.equals(ck.preset()))
            throw new UserError("checkpoint " + latest + " is from preset " + ck.preset() + ", not " + preset);
        TrainConfig config = ck.config();
        if (steps > 0) config = config.withSteps(steps);
        if (minutes > 0) config = config.toBuilder().minutes(minutes).build();
        config.validate();
        loadAlgorithms();
        Preset p = config.model();
        RealBatches data = DataSources.open(config, p);
        GanTrainer trainer;
        try {
            trainer = new GanTrainer(new GanModel(backend, p, config.batch(), config.seed(), config.gEma() > 0), config, data);
            Checkpoints.loadTrainer(ck, trainer);
            if (trainer.steps() >= config.steps())
                throw new UserError("the run in " + out + " is already at step " + trainer.steps() + "; pass --steps N with N > " + trainer.steps());
            double trained = trainer.trainNanos() / 60e9;
            if (config.minutes() > 0 && trained >= config.minutes())
                throw new UserError(String.format(java.util.Locale.ROOT, "the run in %s has trained %.2f minutes, its --minutes %s; pass "
                        + "--minutes M with M > %.2f", out, trained, config.minutes(), trained));
            writeConfig(config, trainer);
        } catch (RuntimeException e) {
            data.close();
            throw e;
        }
        MetricsLog metrics = MetricsLog.resume(out.resolve("metrics.jsonl"), trainer.steps());
        log.accept("resuming " + out + " from step " + trainer.steps() + " (" + latest.getFileName() + ")");
        return loop(trainer, metrics, progress);
    }

    private Result loop(GanTrainer t, MetricsLog metrics, Progress progress) {
        TrainConfig c = t.config();
        Samples samples = new Samples(t.model(), c.seed());
        Shape item = t.model().preset().item();
        Quality quality = c.evalEvery() > 0 ? new Quality(t, Evaluator.open(backend, c.dataset(),
                c.dataDir() == null ? null : Path.of(c.dataDir()), item.dim(1), item.dim(0), c.background(), log), log) : null;
        CollapseWatch watch = new CollapseWatch(log);
        StepStats last = null;
        Path checkpoint = null, sample = null;
        boolean stopped = false;
        long intervalStart = System.nanoTime(), intervalSteps = 0;
        long intervalDataNanos = 0;
        try (metrics; RealBatches data = t.data()) {
            long budget = c.minutes() > 0 ? Math.round(c.minutes() * 60e9) : Long.MAX_VALUE;
            long clock = System.nanoTime();
            while (!stopped && t.steps() < c.steps() && t.trainNanos() < budget) {
                t.step();
                if (budget != Long.MAX_VALUE) backend.synchronize();   // a GPU's queued work is this step's time
                t.addTrainNanos(System.nanoTime() - clock);
                intervalSteps++;
                long s = t.steps();
                stopped = progress.stopRequested();
                boolean end = s == c.steps() || t.trainNanos() >= budget || stopped;
                boolean logged = s % c.logEvery() == 0 || end;
                boolean evaluated = quality != null && (s % c.evalEvery() == 0 || end);
                if (logged) {
                    last = checked(t, checkpoint);
                    double seconds = (System.nanoTime() - intervalStart) / 1e9;
                    double imagesPerSecond = intervalSteps * (double) c.batch() * c.dSteps() / Math.max(seconds, 1e-9);
                    double dataMs = (t.dataNanos() - intervalDataNanos) / 1e6 / intervalSteps;
                    Map<String, Object> line = metricsLine(t, last, imagesPerSecond, dataMs, samples);
                    if (evaluated) {
                        Map<String, Object> q = quality.measure(s);
                        line.putAll(q);
                        progress.evaluated(s, q);
                    }
                    line.put("train_s", Math.round(t.trainNanos() / 1e7) / 100.0);
                    metrics.append(line);
                    watch.stats(last);
                    intervalStart = System.nanoTime();
                    intervalSteps = 0;
                    intervalDataNanos = t.dataNanos();
                } else if (evaluated) {
                    Map<String, Object> line = new LinkedHashMap<>();
                    line.put("step", s);
                    Map<String, Object> q = quality.measure(s);
                    line.putAll(q);
                    progress.evaluated(s, q);
                    line.put("train_s", Math.round(t.trainNanos() / 1e7) / 100.0);
                    metrics.append(line);
                }
                if (s % c.sampleEvery() == 0 || end) {
                    sample = samples.write(out.resolve("samples"), s);
                    RunReport.write(out);
                    progress.sampled(s, sample);
                }
                if (s % c.checkpointEvery() == 0 || end) {
                    if (!logged) last = checked(t, checkpoint);   // losses of this step were just checked if logged
                    saveAlgorithms();   // first, so that every checkpoint's algorithms are on disk
                    checkpoint = Checkpoints.save(out, t);
                    progress.checkpointed(s, checkpoint);
                }
                progress.update(s, c.steps(), last);
                clock = System.nanoTime();   // logs, evaluations, pictures and checkpoints are not training time
            }
        }
        return new Result(out, last, checkpoint, sample, stopped);
    }

    /** The latest stats, or a UserError naming the last good checkpoint if a loss is no longer finite. */
    private StepStats checked(GanTrainer t, Path lastCheckpoint) {
        StepStats s = t.readStats();
        if (!s.finite()) {
            Path good = lastCheckpoint != null ? lastCheckpoint : Checkpoints.latest(out);
            throw new UserError("training diverged at step " + t.steps() + ": " + s.firstNonFinite()
                    + (good != null ? "; the last good checkpoint is " + good : "; no checkpoint was written yet")
                    + " (try a lower learning rate)", DIVERGED, null);
        }
        return s;
    }

    private static Map<String, Object> metricsLine(GanTrainer t, StepStats s, double imagesPerSecond, double dataMs, Samples samples) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", s.step());
        long perEpoch = t.data().batchesPerEpoch();
        if (perEpoch > 0) m.put("epoch", Math.round(1000.0 * t.batchesDrawn() / perEpoch) / 1000.0);
        m.put("d_loss", s.dLoss());
        if (s.loss().hasBoundary()) {
            m.put("d_acc_real", s.dAccReal());
            m.put("d_acc_fake", s.dAccFake());
        }
        m.put("g_loss", s.gLoss());
        if (s.loss().sigmoid()) {
            m.put("d_x", s.dReal());
            m.put("d_g_z", s.dFake());
        } else {   // hinge, lsgan, wgan: mean raw outputs, no probability
            m.put("critic_real", s.dReal());
            m.put("critic_fake", s.dFake());
            m.put("critic_gap", s.gap());
        }
        m.put("img_per_s", Math.round(imagesPerSecond));
        m.put("data_ms", Math.round(dataMs * 1000) / 1000.0);   // per step: waiting for and copying the real batches
        float[] aux = t.readAuxStats();
        if (aux != null) {   // AC-GAN's classifier: how often D names the class of a real image, and the class G was asked for
            m.put("aux_acc_real", aux[1]);
            m.put("aux_acc_fake", aux[3]);
            m.put("aux_loss_g", aux[4]);
        }
        t.model().preset().kind().addQuality(m, samples::generate);
        return m;
    }

    private void prepareDirectory() {
        try {
            Files.createDirectories(out);
            if (Checkpoints.latest(out) != null)
                throw new UserError(out + " already holds a run; pass --resume to continue it, or another --out");
            Files.createDirectories(out.resolve("samples"));
            Files.createDirectories(out.resolve("checkpoints"));
        } catch (IOException e) {
            throw new UserError("cannot write to " + out + ": " + e.getMessage());
        }
    }

    /** Writes algorithms.json (atomically) when the backend's choices differ from what it holds. */
    private void saveAlgorithms() {
        List<AlgorithmChoice> now = backend.algorithmChoices();
        if (now.isEmpty() || now.equals(savedChoices)) return;
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("backend", backend.name());
        doc.put("algorithms", now);
        Json.writePretty(out.resolve(ALGORITHMS), doc);
        savedChoices = now;
    }

    /** Hands algorithms.json's choices, when the run has the file, to the backend. */
    private void loadAlgorithms() {
        Path file = out.resolve(ALGORITHMS);
        if (!Files.exists(file)) return;
        JsonNode list = Json.readTree(file).get("algorithms");
        AlgorithmChoice[] choices;
        try {
            choices = list == null ? null : Json.MAPPER.treeToValue(list, AlgorithmChoice[].class);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new UserError(file + " is not a list of algorithm choices: " + e.getMessage().lines().findFirst().orElse(""), e);
        }
        if (choices == null) throw new UserError(file + " has no \"algorithms\" list");
        for (AlgorithmChoice c : choices)
            if (c == null || c.problem() == null || c.name() == null)
                throw new UserError(file + ": an algorithm choice without its problem or name: " + c);
        savedChoices = List.of(choices);
        backend.useAlgorithmChoices(savedChoices);
    }

    private void writeConfig(TrainConfig config, GanTrainer t) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("config", config);
        doc.put("model", t.model().toString());
        doc.put("backend", backend.describe());
        doc.put("machine", Machine.describe());
        AtomicFiles.write(out.resolve("config.json"), os -> JSON.writeValue(os, doc));
    }

    /**
     * FID and class coverage of G during training: {@code evalN} images from the same noise every
     * time (the EVAL stream), from the EMA generator when there is one, so the curve shows G and
     * not the noise. Warns when the images cover fewer than {@value #MIN_CLASSES} classes.
     */
    static final class Quality {
        static final int MIN_CLASSES = 5;
        private final GanTrainer t;
        private final Evaluator evaluator;
        private final Consumer<String> log;

        Quality(GanTrainer t, Evaluator evaluator, Consumer<String> log) {
            this.t = t;
            this.evaluator = evaluator;
            this.log = log;
        }

        Map<String, Object> measure(long step) {
            GanModel model = t.model();
            int n = t.config().evalN();
            int[] asked = model.classes() > 0 ? GanModel.balanced(n, model.classes(), 0) : null;
            float[] images = Generation.generate(model, n, new RngStream(GanModel.key(t.config().seed(), GanModel.Stream.EVAL), 0), true, asked);
            var item = model.preset().item();
            Evaluator.ConditionalResult cr = asked == null ? null
                    : evaluator.evaluateClasses(images, n, item.dim(0), item.dim(1), item.dim(2), asked);
            Evaluator.Result r = cr != null ? cr.all() : evaluator.evaluate(images, n, item.dim(0), item.dim(1), item.dim(2));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("fid", Math.round(r.fid() * 1000) / 1000.0);
            m.put("classes_covered", r.coverage().classesCovered());
            m.put("kl_uniform", Math.round(r.coverage().klFromUniform() * 1000) / 1000.0);
            m.put("kl_data", Math.round(r.coverage().klFromData() * 1000) / 1000.0);
            m.put("classes", r.coverage().histogram().length);
            m.put("mean_confidence", Math.round(r.coverage().meanConfidence() * 1000) / 1000.0);
            m.put("eval_n", n);
            m.put("floor_fid", Math.round(evaluator.floor() * 1000) / 1000.0);
            if (cr != null) {   // a conditional G: how often each class asked for is what the classifier sees, and its FID
                m.put("class_accuracy_min", Math.round(cr.minAccuracy() * 1000) / 1000.0);
                m.put("class_accuracy", cr.classes().stream().map(c -> Math.round(c.accuracy() * 1000) / 1000.0).toList());
                m.put("class_fid", cr.classes().stream().map(c -> Double.isNaN(c.fid()) ? null : Math.round(c.fid() * 1000) / 1000.0).toList());
            }
            int classes = r.coverage().histogram().length;
            if (r.coverage().classesCovered() < Math.min(MIN_CLASSES, classes - 2))
                log.accept(String.format(Locale.ROOT, "warning: step %d: possible mode collapse: G's images cover only %d of %d classes "
                        + "(FID %.1f, KL from the data's classes %.2f)", step, r.coverage().classesCovered(), classes, r.fid(), r.coverage().klFromData()));
            return m;
        }
    }

    /**
     * Warns once per stretch when D rejects nearly every fake for {@value #STRETCH} steps or more: a
     * collapsed or stalled G is the usual cause. "Nearly every" in each loss's terms: D(G(z)) under
     * {@value #LOW} (a sigmoid loss, where G's gradient then carries little; lsgan, whose fake target
     * is 0), the mean fake score beyond hinge's margin (under -1: D's fake loss is 0). WGAN's scores
     * have no scale to judge by: no watch.
     */
    static final class CollapseWatch {
        static final float LOW = 0.05f, HINGE_MARGIN = -1f;
        static final long STRETCH = 500;
        private final Consumer<String> log;
        private long since = -1;
        private boolean warned;

        CollapseWatch(Consumer<String> log) { this.log = log; }

        void stats(StepStats s) {
            Loss loss = s.loss();
            float bound = switch (loss) {   // NaN: no fake score counts as rejected
                case HINGE -> HINGE_MARGIN;
                case WASSERSTEIN -> Float.NaN;
                default -> LOW;
            };
            if (!(s.dFake() < bound)) {
                since = -1;
                warned = false;
                return;
            }
            if (since < 0) since = s.step();
            if (!warned && s.step() - since >= STRETCH) {
                warned = true;
                String what = String.format(Locale.ROOT, loss.sigmoid() ? "D(G(z)) has stayed below %.2f"
                        : "D's mean score on fakes has stayed below %.2f", bound);
                log.accept(String.format(Locale.ROOT, "warning: step %d: %s since step %d: D rejects "
                        + "nearly every fake; G may have collapsed or stopped learning (look at samples/)", s.step(), what, since));
            }
        }
    }

    /**
     * Writes the fixed-noise sample picture of step {@code s}: a 5x5 grid, or for a conditional
     * image preset one row of {@value #PER_CLASS} per class (the same noise in every row, so each
     * column shows one z as every class); a conditional toy asks for every class in turn.
     */
    static final class Samples {
        /** Images in a sample grid (5x5), drawn in as many batches as that takes. */
        static final int GRID = 25;
        /** Images of each class in a conditional preset's grid. */
        static final int PER_CLASS = 10;

        private final GanModel model;
        private final Tensor[] zs;
        private final int images, columns;
        /** The class of each grid image, batch-padded; null for an unconditional model. */
        private final int[] classes;

        Samples(GanModel model, long seed) {
            this.model = model;
            int k = model.classes();
            boolean rows = k > 0 && model.preset().kind().images();
            this.images = rows ? k * PER_CLASS : GRID;
            this.columns = rows ? PER_CLASS : (int) Math.ceil(Math.sqrt(GRID));
            int batches = model.preset().kind().sampleBatches(images, model.batch());
            this.zs = new Tensor[batches];
            long key = GanModel.key(seed, GanModel.Stream.FIXED_NOISE);
            int zDim = model.preset().zDim();
            float[][] columnNoise = new float[rows ? PER_CLASS : 0][];
            for (int col = 0; col < columnNoise.length; col++) columnNoise[col] = fixedNoise(model.backend(), key, col, zDim);
            for (int i = 0; i < batches; i++) {
                zs[i] = model.backend().allocate(model.noiseShape());
                // the same noise at every interval, so that grids show how G's output for it evolves; in a
                // conditional grid, the same PER_CLASS noise vectors in each class's row
                if (rows) {
                    float[] z = new float[zs[i].shape().intSize()];
                    for (int j = 0; j < model.batch(); j++)
                        System.arraycopy(columnNoise[(i * model.batch() + j) % PER_CLASS], 0, z, j * zDim, zDim);
                    model.backend().copyFromHost(z, zs[i]);
                } else {
                    model.backend().fillNormal(zs[i], 0f, 1f, key, i * zs[i].size());
                }
            }
            if (k > 0) {
                classes = new int[batches * model.batch()];
                for (int j = 0; j < classes.length; j++) classes[j] = rows ? Math.min(j / PER_CLASS, k - 1) : j % k;
            } else {
                classes = null;
            }
        }

        /** Noise vector {@code index} (of {@code zDim} values) of the fixed noise, drawn on the backend as every other fill. */
        private static float[] fixedNoise(Backend b, long key, int index, int zDim) {
            Tensor t = b.allocate(dev.jgan.tensor.Shape.of(zDim));
            b.fillNormal(t, 0f, 1f, key, (long) index * zDim);
            return t.toHost();
        }

        /** G's output for the first batch of fixed noise, in inference mode. */
        Tensor generate() { return generate(0); }

        private Tensor generate(int batch) {
            if (classes != null)
                model.useClasses(java.util.Arrays.copyOfRange(classes, batch * model.batch(), (batch + 1) * model.batch()));
            return model.generate(zs[batch]);
        }

        Path write(Path dir, long step) {
            Path file = dir.resolve(String.format("step-%07d.png", step));
            if (!model.preset().kind().images()) return SamplePictures.write(model, generate(), file, images);
            Shape item = model.preset().item();
            int per = Math.toIntExact(item.size()), batch = model.batch();
            float[] all = new float[zs.length * batch * per], chunk = new float[batch * per];
            for (int i = 0; i < zs.length; i++) {
                model.backend().toHost(generate(i), chunk);
                System.arraycopy(chunk, 0, all, i * batch * per, batch * per);
            }
            return SamplePictures.writeImages(all, item.batched(zs.length * batch), file, images, columns);
        }
    }
}
