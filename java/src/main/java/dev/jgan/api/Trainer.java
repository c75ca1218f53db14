package dev.jgan.api;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.gan.Preset;
import dev.jgan.gan.Presets;
import dev.jgan.gan.StepStats;
import dev.jgan.gan.TrainConfig;
import dev.jgan.gan.TrainingRun;
import dev.jgan.selection.Backends;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Trains a preset, as {@code gan train} does, from Java: the same run directory (config.json,
 * metrics.jsonl, samples/, checkpoints/), the same recipe defaults, the same results for the same
 * seed and machine.
 *
 * <pre>{@code
 * Trainer t = Trainer.builder("fast-fmnist").out(Path.of("runs/ff")).minutes(3).seed(1)
 *         .listener(s -> System.out.println(s.step() + " " + s.gLoss())).build();
 * Trainer.Result r = t.run();                    // blocks; t.cancel() from another thread ends it early
 * try (Generator g = Generator.load(r.checkpoint())) { g.sample(100, 0).writePng(Path.of("grid.png")); }
 * }</pre>
 *
 * <p>{@link #run} trains on the calling thread and owns its backend: made when the run starts,
 * closed when it ends, however it ends. {@link #cancel} may be called from any thread: the run
 * ends after the step in progress (after the next one when called between steps, from the
 * listener say), writing its checkpoint and samples as at a normal end, and
 * {@code run} returns with {@link Result#cancelled()} true. A Trainer runs once. The listener runs
 * on the training thread after every step; an exception it throws ends the run and comes out of
 * {@code run}, the checkpoints written until then kept. Bad input (an unknown preset, a missing
 * dataset, a run directory that holds a run already) is a one-line {@link dev.jgan.UserError}.
 */
public final class Trainer {
    /** The new run's config; null for a resumed run, which takes its checkpoint's. */
    private final TrainConfig config;
    /** The preset a resumed run must be of; null: whatever the checkpoint's. */
    private final String preset;
    private final int epochs;
    private final Path out;
    private final boolean resume;
    private final long resumeSteps;
    private final double resumeMinutes;
    private final Supplier<? extends Backend> backend;
    private final Listener listener;
    private final Consumer<String> log;
    private final AtomicBoolean ran = new AtomicBoolean();
    private volatile boolean cancelled;

    /**
     * One step done: its number, the run's length in steps (Long.MAX_VALUE when a time budget
     * alone ends it), and the losses of the last log point (every {@code logEvery} steps; NaN
     * before the first).
     */
    public record Step(long step, long totalSteps, float dLoss, float gLoss) {}

    /** Receives every step, and each sample grid, checkpoint and evaluation, on the training thread. */
    @FunctionalInterface
    public interface Listener {
        void onStep(Step step);

        /** A sample grid was written (the run's samples/step-N.png). */
        default void onSamples(long step, Path grid) {}

        /** A checkpoint was written. */
        default void onCheckpoint(long step, Path checkpoint) {}

        /** FID and class coverage were measured ({@code recipe(c -> c.evalEvery(k))}): fid, classes_covered, ... */
        default void onEvaluation(long step, java.util.Map<String, Object> quality) {}
    }

    /**
     * How a run ended: its directory, last checkpoint and sample grid, the steps done, whether
     * {@link #cancel} ended it, and the stats of its last step (losses and D's outputs;
     * {@link StepStats#summary} is the line {@code gan train} ends with).
     */
    public record Result(Path runDir, Path checkpoint, Path lastSample, long steps, boolean cancelled, StepStats last) {}

    private Trainer(Builder b, TrainConfig config, Path out) {
        this.config = config;
        this.preset = b.preset;
        this.epochs = b.epochs == null ? 0 : b.epochs;
        this.out = out;
        this.resume = b.resume;
        this.resumeSteps = b.steps == null ? 0 : b.steps;     // 0: the checkpoint's own
        this.resumeMinutes = b.minutes == null ? 0 : b.minutes;
        this.listener = b.listener != null ? b.listener : step -> {};
        this.log = b.log;
        String device = b.device;
        int threads = b.threads;
        this.backend = b.backend != null ? b.backend : () -> Backends.select(device, threads, log);
    }

    /** A Trainer of preset {@code preset} with its recipe's defaults. */
    public static Builder builder(String preset) {
        return new Builder(Objects.requireNonNull(preset, "preset"), TrainConfig.builder(Presets.get(preset)));
    }

    /**
     * A Trainer that continues the run in {@code dir} from its newest checkpoint, with the
     * checkpoint's preset and recipe; {@link Builder#steps} and {@link Builder#minutes} set its new
     * length in all (default: the checkpoint's own). {@code builder(preset).out(dir).resume()} is
     * the same, refusing a run of another preset.
     */
    public static Builder resume(Path dir) {
        Builder b = new Builder(null, null);
        b.out = Objects.requireNonNull(dir, "dir");
        b.resume = true;
        return b;
    }

    /**
     * A Trainer of a model built in code ({@link Preset#builder}), with its recipe's defaults; it is
     * {@link Presets#register registered} under its name first. Its checkpoints carry its spec, so
     * {@link Generator#load} reads them in a process that never built it.
     */
    public static Builder builder(Preset preset) {
        Presets.register(preset);
        return builder(preset.name());
    }

    /** The config a new run starts with, validated; null for a resumed run, which takes its checkpoint's (with the steps and minutes given). */
    public TrainConfig config() { return config; }

    /** Trains until the run's length or budget is reached, or {@link #cancel} is called; blocks. */
    public Result run() {
        if (!ran.compareAndSet(false, true)) throw new IllegalStateException("this Trainer has run already: build another");
        TrainingRun.Progress progress = new TrainingRun.Progress() {
            @Override public void update(long step, long total, StepStats last) {
                listener.onStep(new Step(step, total, last == null ? Float.NaN : last.dLoss(), last == null ? Float.NaN : last.gLoss()));
            }

            @Override public boolean stopRequested() { return cancelled; }

            @Override public void sampled(long step, Path grid) { listener.onSamples(step, grid); }

            @Override public void checkpointed(long step, Path checkpoint) { listener.onCheckpoint(step, checkpoint); }

            @Override public void evaluated(long step, java.util.Map<String, Object> quality) { listener.onEvaluation(step, quality); }
        };
        try (Backend backend = this.backend.get()) {
            TrainingRun run = new TrainingRun(backend, out, log);
            TrainingRun.Result r = resume
                    ? run.resume(preset, resumeSteps, resumeMinutes, progress)
                    : run.start(config, epochs, progress);
            return new Result(r.runDir(), r.checkpoint(), r.lastSample(), r.last() == null ? 0 : r.last().step(), r.stopped(), r.last());
        }
    }

    /** Ends the run after the step in progress, or the next when called between steps (with its checkpoint); any thread, any time, idempotent. */
    public void cancel() { cancelled = true; }

    /**
     * Builds a Trainer: a preset's recipe with the changes asked for. {@link #build} checks that the
     * recipe holds together and says what does not as a one-line {@link dev.jgan.UserError} worded
     * as {@code gan train}'s flags (a batch of 0, steps and epochs both, a budget of 0 minutes), so
     * a bad recipe fails before any backend is made.
     */
    public static final class Builder {
        /** Null for {@link Trainer#resume(Path)}: the checkpoint's recipe, which nothing here changes. */
        private final TrainConfig.Builder config;
        private final String preset;
        /** Null: not given. */
        private Long steps;
        private Integer epochs;
        private Double minutes;
        private Path out;
        private boolean resume;
        private String device = "auto";
        private int threads = Backends.defaultThreads();
        private Supplier<? extends Backend> backend;
        private Listener listener;
        private Consumer<String> log = line -> {};

        private Builder(String preset, TrainConfig.Builder config) {
            this.preset = preset;
            this.config = config;
        }

        /** The recipe to change; a run resumed by {@link Trainer#resume(Path)} has none but its checkpoint's. */
        private TrainConfig.Builder recipe() {
            if (config == null)
                throw new IllegalStateException("Trainer.resume(dir) continues its checkpoint's recipe: only the steps, minutes, backend, listener and log apply");
            return config;
        }

        /**
         * The run directory (default runs/PRESET-yyyyMMdd-HHmmss, the time of {@link #build}): it must
         * not hold a run, unless {@link #resume}.
         */
        public Builder out(Path dir) { out = Objects.requireNonNull(dir, "out"); return this; }

        /**
         * Continues the run in {@link #out} from its newest checkpoint, to the steps or minutes given
         * (in all); the run must be of this builder's preset, and its checkpoint's recipe is the one
         * that goes on (the changes asked for here do not apply).
         */
        public Builder resume() { resume = true; return this; }

        /** A dataset by name (fashion-mnist, mnist, cifar10, emoji, folder) instead of the preset's. */
        public Builder dataset(String name) { recipe().dataset(name); return this; }

        /** Where the dataset's files are (IDX files, or a folder of images). */
        public Builder data(Path dir) { recipe().dataDir(dir.toString()); return this; }

        /** The run's length in steps; it replaces a preset's time budget unless {@link #minutes} is given too. */
        public Builder steps(long n) { steps = n; return this; }

        /** The run's length in passes over the data, instead of {@link #steps}; it replaces a preset's time budget unless {@link #minutes} is given too. */
        public Builder epochs(int n) { epochs = n; return this; }

        /**
         * A training-time budget in minutes (training alone: samples, checkpoints and evaluations not
         * counted); without {@link #steps} or {@link #epochs} it alone ends the run.
         */
        public Builder minutes(double m) { minutes = m; return this; }

        public Builder seed(long s) { recipe().seed(s); return this; }

        public Builder batch(int n) { recipe().batch(n); return this; }

        /** "auto" (default: CUDA where it works, else the CPU), "cpu" or "cuda"; a {@link #backend} replaces it. */
        public Builder device(String d) { device = Objects.requireNonNull(d, "device"); return this; }

        /** CPU threads (default: every core); a {@link #backend} replaces it. */
        public Builder threads(int n) {
            if (n < 1) throw new IllegalArgumentException("threads must be at least 1, got " + n);
            threads = n;
            return this;
        }

        /**
         * Where the run computes, when {@link #device} and {@link #threads} do not say enough (a CPU
         * precision, cuDNN's non-deterministic algorithms, a kernel-lab variant: {@code gan train}'s
         * --precision, --cudnn-nondeterministic, --variant): called once when {@link Trainer#run}
         * starts, in place of {@code Backends.select(device, threads, log)}; the Trainer owns what it
         * returns and closes it when the run ends, however it ends.
         */
        public Builder backend(Supplier<? extends Backend> open) { backend = Objects.requireNonNull(open, "backend"); return this; }

        /** Receives every step on the training thread. */
        public Builder listener(Listener l) { listener = l; return this; }

        /** Receives the run's one-line messages (the backend chosen, a resume, a collapse warning); dropped by default. */
        public Builder log(Consumer<String> l) { log = Objects.requireNonNull(l, "log"); return this; }

        /**
         * Any other part of the recipe, by {@link TrainConfig.Builder}'s names: {@code
         * .recipe(c -> c.loss("hinge").lr(1e-4f).gEma(0.999f))}.
         */
        public Builder recipe(Consumer<TrainConfig.Builder> change) { change.accept(recipe()); return this; }

        /** The Trainer; a new run's recipe is validated here (see {@link Builder}). */
        public Trainer build() {
            if (resume) {   // the checkpoint's recipe, with the length given; TrainingRun.resume checks it
                if (epochs != null) throw new IllegalArgumentException("a resumed run takes steps or minutes, not epochs");
                if (out == null) throw new IllegalStateException("resume() continues the run in out(dir): give its directory");
                return new Trainer(this, null, out);
            }
            if (steps != null && epochs != null) throw new UserError("give --steps or --epochs, not both");
            if (epochs != null && epochs <= 0) throw new UserError("--epochs must be positive, got " + epochs);
            if (minutes != null && (!(minutes > 0) || minutes.isInfinite())) throw new UserError("--minutes must be > 0, got " + minutes);
            TrainConfig.Builder c = config.build().toBuilder();   // a copy: this builder's recipe stays as given
            if (steps != null) c.steps(steps);
            if (minutes != null) c.minutes(minutes);
            else if (steps != null || epochs != null) c.minutes(0);   // the length asked for replaces the preset's budget
            if (minutes != null && steps == null && epochs == null) c.steps(Long.MAX_VALUE);   // the budget alone ends the run
            TrainConfig run = c.build().validate();
            Path dir = out != null ? out
                    : Path.of("runs", run.preset() + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
            return new Trainer(this, run, dir);
        }
    }
}
