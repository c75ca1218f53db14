package dev.jgan.api;

import dev.jgan.backend.Backend;
import dev.jgan.gan.Preset;
import dev.jgan.gan.Presets;
import dev.jgan.gan.StepStats;
import dev.jgan.gan.TrainConfig;
import dev.jgan.gan.TrainingRun;
import dev.jgan.selection.Backends;

import java.nio.file.Path;
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
    private final TrainConfig config;
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

    private Trainer(Builder b) {
        this.config = b.config.build();
        this.epochs = b.epochs;
        this.out = b.out;
        this.resume = b.resume;
        this.resumeSteps = b.lengthGiven ? config.steps() : 0;     // 0: the checkpoint's own
        this.resumeMinutes = b.minutesGiven ? config.minutes() : 0;
        this.listener = b.listener != null ? b.listener : step -> {};
        this.log = b.log;
        String device = b.device;
        int threads = b.threads;
        this.backend = b.backend != null ? b.backend : () -> Backends.select(device, threads, log);
    }

    /** A Trainer of preset {@code preset} with its recipe's defaults. */
    public static Builder builder(String preset) { return new Builder(preset); }

    /**
     * A Trainer of a model built in code ({@link Preset#builder}), with its recipe's defaults; it is
     * {@link Presets#register registered} under its name first. Its checkpoints carry its spec, so
     * {@link Generator#load} reads them in a process that never built it.
     */
    public static Builder builder(Preset preset) {
        Presets.register(preset);
        return new Builder(preset.name());
    }

    /** The config the run starts with (a resumed run takes its checkpoint's, with the steps and minutes given). */
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
                    ? run.resume(config.preset(), resumeSteps, resumeMinutes, progress)
                    : run.start(config, epochs, progress);
            return new Result(r.runDir(), r.checkpoint(), r.lastSample(), r.last() == null ? 0 : r.last().step(), r.stopped(), r.last());
        }
    }

    /** Ends the run after the step in progress, or the next when called between steps (with its checkpoint); any thread, any time, idempotent. */
    public void cancel() { cancelled = true; }

    /** Builds a Trainer: a preset's recipe with the changes asked for. */
    public static final class Builder {
        private final TrainConfig.Builder config;
        private int epochs;
        private boolean lengthGiven, minutesGiven;
        private Path out = Path.of("runs", "jgan");
        private boolean resume;
        private String device = "auto";
        private int threads = Backends.defaultThreads();
        private Supplier<? extends Backend> backend;
        private Listener listener;
        private Consumer<String> log = line -> {};

        private Builder(String preset) {
            config = TrainConfig.builder(Presets.get(Objects.requireNonNull(preset, "preset")));
        }

        /** The run directory (default runs/jgan): it must not hold a run, unless {@link #resume}. */
        public Builder out(Path dir) { out = Objects.requireNonNull(dir, "out"); return this; }

        /** Continues the run in {@link #out} from its newest checkpoint, to the steps or minutes given (in all). */
        public Builder resume() { resume = true; return this; }

        /** A dataset by name (fashion-mnist, mnist, cifar10, emoji, folder) instead of the preset's. */
        public Builder dataset(String name) { config.dataset(name); return this; }

        /** Where the dataset's files are (IDX files, or a folder of images). */
        public Builder data(Path dir) { config.dataDir(dir.toString()); return this; }

        /** The run's length in steps; it replaces a preset's time budget unless {@link #minutes} is given too. */
        public Builder steps(long n) { config.steps(n); lengthGiven = true; return this; }

        /** The run's length in passes over the data; it replaces a preset's time budget unless {@link #minutes} is given too. */
        public Builder epochs(int n) { epochs = n; lengthGiven = true; return this; }

        /** A training-time budget in minutes (training alone: samples, checkpoints and evaluations not counted). */
        public Builder minutes(double m) { config.minutes(m); minutesGiven = true; return this; }

        public Builder seed(long s) { config.seed(s); return this; }

        public Builder batch(int n) { config.batch(n); return this; }

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
        public Builder recipe(Consumer<TrainConfig.Builder> change) { change.accept(config); return this; }

        public Trainer build() {
            if (lengthGiven && !minutesGiven) config.minutes(0);   // the length asked for replaces the preset's budget
            if (!lengthGiven && minutesGiven && !resume) config.steps(Long.MAX_VALUE);   // the budget alone ends the run
            if (epochs < 0) throw new IllegalArgumentException("epochs must be positive, got " + epochs);
            if (resume && epochs > 0) throw new IllegalArgumentException("a resumed run takes steps or minutes, not epochs");
            return new Trainer(this);
        }
    }
}
