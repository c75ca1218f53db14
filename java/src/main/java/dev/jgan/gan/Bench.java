package dev.jgan.gan;

import dev.jgan.backend.Backend;
import dev.jgan.backend.OpProfile;
import dev.jgan.data.Datasets;
import dev.jgan.random.Philox;
import dev.jgan.tensor.Shape;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Times whole training steps exactly as shared/peers/torch_gan_bench.py does: one fixed real batch
 * of uniform noise in [-1, 1], real label 0.9, fresh z each step; untimed warm-up first (the JIT
 * needs it), then the median of individually timed steps. With a {@link Data} that names a
 * dataset, the steps draw their real batches as a run does instead (shuffled, through the
 * background thread), and the time they spent on them is the line's data time.
 */
public final class Bench {
    private Bench() {}

    /**
     * @param dataMsPerStep the mean time a timed step spent getting its real batch (waiting and copying), ms
     */
    public record Result(String preset, int batch, double msPerStep, double dataMsPerStep) {
        public double imagesPerSecond() { return batch / msPerStep * 1e3; }

        /** Data time as a percent of the step. */
        public double dataPercent() { return 100 * dataMsPerStep / msPerStep; }

        /** {@code PRESET<TAB>batch=B<TAB>X.XX ms/step<TAB>N img/s}, the peer script's format. */
        public String line() {
            return String.format(Locale.ROOT, "%s\tbatch=%d\t%.2f ms/step\t%.0f img/s", preset, batch, msPerStep, imagesPerSecond());
        }
    }

    /**
     * One configuration's result as {@code gan bench} reports it: the step's time, the threads it
     * ran on, its arithmetic and the peak resident memory of the process that ran it.
     *
     * @param gflopPerStep the GFLOP of the step's GEMM and convolution calls ({@link StepFlops})
     * @param peakRssBytes the peak resident memory (VmHWM) of the process that ran the steps, bytes; -1: unknown
     */
    public record Line(Result result, int threads, double gflopPerStep, long peakRssBytes) {
        public double gflopPerS() { return gflopPerStep / result.msPerStep() * 1e3; }

        /** Percent of {@code peakGflopPerS} (the FMA peak on as many threads); NaN where that is NaN. */
        public double percentOf(double peakGflopPerS) { return 100 * gflopPerS() / peakGflopPerS; }

        /**
         * {@link Result#line()}'s four fields (the peer script's), then
         * {@code G GFLOP/s (F GFLOP a step)<TAB>T threads<TAB>P% of peak<TAB>peak RSS M MB}; the
         * percent is "-" where there is no peak (not a CPU), the memory "unknown" where it is (not Linux).
         * MB are 10^6 bytes.
         */
        public String text(double peakGflopPerS) {
            double pct = percentOf(peakGflopPerS);
            return result.line() + String.format(Locale.ROOT, "\t%.0f GFLOP/s (%.2f GFLOP a step)\t%d thread%s\t%s of peak\tpeak RSS %s"
                            + "\tdata %.3f ms/step (%.2f%%)",
                    gflopPerS(), gflopPerStep, threads, threads == 1 ? "" : "s", Double.isNaN(pct) ? "-" : String.format(Locale.ROOT, "%.1f%%", pct),
                    peakRssBytes < 0 ? "unknown" : String.format(Locale.ROOT, "%.0f MB", peakRssBytes / 1e6),
                    result.dataMsPerStep(), result.dataPercent());
        }
    }

    /** The peer script's step counts: fewer timed steps for the slower presets. */
    public static int defaultSteps(Preset p) {
        return switch (p.name()) {
            case "dcgan-28" -> 15;
            case "dcgan-64" -> 5;
            default -> 60;
        };
    }

    /**
     * Where a bench's real batches come from: the peer's fixed batch ({@code dataset} null), or a
     * dataset (with --data, may be null) as a run reads it. {@code channels} 0: the data's (1 for
     * the fixed batch).
     */
    public record Data(String dataset, String dataDir, int channels) {
        public static final Data FIXED = new Data(null, null, 0);

        /** The preset as the steps train it: with the data's channels. Opens the data to see them. */
        public Preset preset(Preset p) {
            if (channels != 0) return p.withChannels(channels);
            if (dataset == null || !p.kind().images()) return p;
            try (RealBatches real = DataSources.open(config(p, 2), p)) {
                return p.withChannels(real.item().dim(0));
            }
        }

        TrainConfig config(Preset p, int batch) {
            TrainConfig.Builder c = TrainConfig.builder(p).seed(0).batch(batch).steps(Long.MAX_VALUE).sampleEvery(100).channels(channels);
            if (Loss.of(p.loss()).sigmoid()) c.realLabel(0.9f);   // BCE's one-sided smoothing; the hinge loss (fast-fmnist) has no targets
            if (dataset != null)
                c.dataset(Datasets.resolve(dataset, dataDir == null ? null : Path.of(dataDir))).dataDir(dataDir);
            return c.build().validate();
        }
    }

    /** A trainer set up as the benchmark runs it, on the fixed batch (also used by the JMH step benchmarks). */
    public static GanTrainer trainer(Backend b, Preset p, int batch) {
        return trainer(b, p, batch, Data.FIXED);
    }

    /** A trainer set up as the benchmark runs it, its real batches from {@code data}; close its data() after. */
    public static GanTrainer trainer(Backend b, Preset p, int batch, Data data) {
        if (data.dataset() == null || !p.kind().images()) {
            Preset model = data.channels() == 0 || !p.kind().images() ? p : p.withChannels(data.channels());
            return new GanTrainer(new GanModel(b, model, batch, 0), data.config(model, batch), fixedBatch(model.item(), batch, model.classes()));
        }
        TrainConfig c = data.config(p, batch);
        RealBatches real = DataSources.open(c, p);
        Preset model = p.withChannels(real.item().dim(0));
        if (model.conditional()) model = model.withClasses(real.classes());   // the data's labels decide
        return new GanTrainer(new GanModel(b, model, batch, 0), c.toBuilder().channels(model.channels()).classes(model.classes()).build(), real);
    }

    public static Result run(Backend b, Preset p, int batch, int steps, double warmupSeconds) {
        return run(b, p, batch, steps, warmupSeconds, Data.FIXED);
    }

    public static Result run(Backend b, Preset p, int batch, int steps, double warmupSeconds, Data data) {
        GanTrainer t = trainer(b, p, batch, data);
        try (RealBatches real = t.data()) {
            long warmEnd = System.nanoTime() + (long) (warmupSeconds * 1e9);
            for (int i = 0; i < 3 || System.nanoTime() < warmEnd; i++) t.step();
            b.synchronize();
            double[] ms = new double[steps];
            long dataBefore = t.dataNanos();
            try (Backend.Timer timer = b.timer()) { // CUDA events on a GPU, the wall clock on the CPU
                for (int i = 0; i < steps; i++) {
                    timer.start();
                    t.step();
                    ms[i] = timer.stopMillis();
                }
            }
            double dataMs = (t.dataNanos() - dataBefore) / 1e6 / steps;
            if (!t.readStats().finite()) throw new IllegalStateException("bench of " + p.name() + " produced non-finite losses");
            Arrays.sort(ms);
            double median = steps % 2 == 1 ? ms[steps / 2] : (ms[steps / 2 - 1] + ms[steps / 2]) / 2;
            return new Result(p.name(), batch, median, dataMs);
        }
    }

    /**
     * Runs {@code steps} steps after the warm-up with every op timed separately (see {@link OpProfile}),
     * and returns the per-step table. The per-op synchronisation makes these steps slower than
     * {@link #run}'s, so the two are never mixed.
     */
    public static String profile(Backend b, Preset p, int batch, int steps, double warmupSeconds) {
        OpProfile prof = new OpProfile();
        Backend timed = prof.wrap(b);
        prof.recording(false);
        GanTrainer t = trainer(timed, p, batch);
        long warmEnd = System.nanoTime() + (long) (warmupSeconds * 1e9);
        for (int i = 0; i < 3 || System.nanoTime() < warmEnd; i++) t.step();
        prof.recording(true);
        for (int i = 0; i < steps; i++) t.step();
        prof.recording(false);
        if (!t.readStats().finite()) throw new IllegalStateException("profile of " + p.name() + " produced non-finite losses");
        return prof.table(steps);
    }

    /** The same batch every time, as the peer's fixed {@code torch.rand * 2 - 1}. */
    public static RealBatches fixedBatch(Shape item, int batch) { return fixedBatch(item, batch, 0); }

    /** {@link #fixedBatch(Shape, int)}, labelled for a conditional preset of {@code classes} classes (item i of class i % K); 0: none. */
    public static RealBatches fixedBatch(Shape item, int batch, int classes) {
        int images = Math.toIntExact(item.size() * batch);
        float[] data = new float[images + (classes > 0 ? batch : 0)];
        for (int i = 0; i < images; i++) data[i] = 2f * Philox.uniformAt(12345, 0, i) - 1f;
        for (int i = 0; classes > 0 && i < batch; i++) data[images + i] = i % classes;
        return new RealBatches() {
            @Override public Shape item() { return item; }

            @Override public int classes() { return classes; }

            @Override public void fill(long index, float[] dst) { System.arraycopy(data, 0, dst, 0, data.length); }

            @Override public long batchesPerEpoch() { return 0; }
        };
    }
}
