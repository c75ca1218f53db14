package dev.jgan.check;

import dev.jgan.backend.Backend;
import dev.jgan.cuda.emulated.EmulatedDevice;
import dev.jgan.cuda.emulated.EmulatedLauncher;
import dev.jgan.gan.Bench;
import dev.jgan.gan.Checkpoints;
import dev.jgan.gan.GanTrainer;
import dev.jgan.gan.Preset;
import dev.jgan.gan.Presets;
import dev.jgan.gan.StepStats;
import dev.jgan.tensor.Tensor;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * {@code gan check}: what a person runs first on a new machine. Four sections, each a list of
 * pass/fail rows ({@link CheckResult}):
 * <ol>
 *   <li>ops: every Backend op against {@link Reference} ({@link OpSuite#quick()}, and for the full
 *       check also the calls the three presets make, {@link PresetOps}, at batch at most
 *       {@link #OP_BATCH});</li>
 *   <li>step: one whole training step of each preset against the emulated CUDA device
 *       ({@link StepEquivalence}); the emulated device, not the CPU backend, is the reference
 *       because it needs no oneDNN natives, so a bundle without them can run it;</li>
 *   <li>resume: train, checkpoint, resume on a fresh trainer, and the result equals the
 *       uninterrupted run's bit for bit;</li>
 *   <li>bench (full check only): {@code gan bench}'s timing of each preset at its own batch.</li>
 * </ol>
 */
public final class SelfCheck {
    /** The three presets the check covers: the MLP, and the two DCGANs (transposed convolutions, dropout, both BN forms). */
    public static final List<String> PRESETS = List.of("mlp-gan", "dcgan-28", "dcgan-64");

    /**
     * The largest batch of the presets' op cases: the reference is plain single-threaded loops, and
     * dcgan-64's convolutions at its batch of 64 would take it minutes; the batch only scales N
     * (and the filter gradient's and batch norm's sums, whose tolerances grow with their terms).
     */
    public static final int OP_BATCH = 16;

    /** Resume: this many steps straight, against half of them, a checkpoint, a fresh trainer and the other half. */
    static final int RESUME_STEPS = 4;

    /** cuDNN workspace of the emulated reference device: more than any preset's im2col columns at these batches. */
    static final long EMULATED_WORKSPACE = 256L << 20;

    /** Warm-up of each bench, as `gan bench`'s default. */
    static final double BENCH_WARMUP_SECONDS = 3;

    private SelfCheck() {}

    /** Runs the check on {@code device}, handing each row to {@code onRow} as it is done; returns all rows. */
    public static List<CheckResult> run(Backend device, boolean quick, Consumer<CheckResult> onRow) {
        List<CheckResult> rows = new ArrayList<>();
        Consumer<CheckResult> add = r -> {
            rows.add(r);
            onRow.accept(r);
        };
        List<Preset> presets = PRESETS.stream().map(Presets::get).toList();

        List<OpSuite.Case> cases = new ArrayList<>(OpSuite.quick());
        if (!quick) cases.addAll(presetCases(device, presets));
        for (OpSuite.Case c : cases) add.accept(c.run(device));

        Backend emulated = emulatedDevice(add);
        if (emulated != null) {
            try (emulated) {
                for (Preset p : presets) add.accept(timed("step", p.name() + " one step vs emulated device", "batch " + StepEquivalence.BATCH,
                        () -> StepEquivalence.compare(emulated, device, p, StepEquivalence.BATCH)));
            }
        }

        List<Preset> resumed = quick ? List.of(Presets.get("dcgan-28")) : presets;
        for (Preset p : resumed) {
            int batch = quick ? 4 : Math.min(p.batch(), OP_BATCH);
            add.accept(timed("resume", p.name() + " " + RESUME_STEPS / 2 + " + " + RESUME_STEPS / 2 + " steps = " + RESUME_STEPS,
                    "batch " + batch, () -> resume(device, p, batch)));
        }

        if (!quick) for (Preset p : presets) add.accept(bench(device, p));
        return rows;
    }

    /** The presets' op cases, each distinct call once (the first preset that makes it names it). */
    public static List<OpSuite.Case> presetCases(Backend device, List<Preset> presets) {
        Map<String, OpSuite.Case> all = new LinkedHashMap<>();
        for (Preset p : presets)
            for (OpSuite.Case c : PresetOps.cases(device, p, Math.min(p.batch(), OP_BATCH)))
                all.putIfAbsent(c.name().substring(p.name().length() + 1) + " " + c.shape(), c);
        return List.copyOf(all.values());
    }

    private static Backend emulatedDevice(Consumer<CheckResult> add) {
        if (EmulatedLauncher.bundledLibrary().isEmpty()) {
            add.accept(new CheckResult("step", "emulated reference device", "-", Double.NaN, Double.NaN, false, 0,
                    "this build has no host emulation library (native/ was not built), so there is nothing to compare steps with"));
            return null;
        }
        return EmulatedDevice.open(EMULATED_WORKSPACE);
    }

    /**
     * Trains {@code RESUME_STEPS} steps straight; then half of them, a checkpoint, a fresh trainer
     * that loads it and the other half. Every model and optimizer tensor and the last losses must
     * be the same bits: the same kernels and algorithms on the same inputs.
     */
    static Comparison resume(Backend b, Preset p, int batch) {
        Path dir;
        try {
            dir = Files.createTempDirectory("jgan-check-resume");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            GanTrainer straight = Bench.trainer(b, p, batch);
            for (int i = 0; i < RESUME_STEPS; i++) straight.step();
            GanTrainer first = Bench.trainer(b, p, batch);
            for (int i = 0; i < RESUME_STEPS / 2; i++) first.step();
            Path file = Checkpoints.save(dir, first);
            GanTrainer second = Bench.trainer(b, p, batch);
            Checkpoints.loadTrainer(Checkpoints.read(file), second);
            while (second.steps() < RESUME_STEPS) second.step();

            Comparison c = new Comparison();
            StepStats a = straight.readStats(), r = second.readStats();
            c.sameBits("losses", new float[] {a.dLoss(), a.gLoss(), a.dReal(), a.dFake()}, new float[] {r.dLoss(), r.gLoss(), r.dReal(), r.dFake()});
            compareAll(c, straight.model().state(), second.model().state());
            compareAll(c, straight.optimizerState(), second.optimizerState());
            return c;
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException ignored) {
                // a temporary folder left behind is harmless
            }
        }
    }

    private static void compareAll(Comparison c, Map<String, Tensor> a, Map<String, Tensor> b) {
        for (Map.Entry<String, Tensor> e : a.entrySet()) {
            Tensor other = b.get(e.getKey());
            if (other == null) c.fail(e.getKey() + " missing after resume");
            else c.sameBits(e.getKey(), e.getValue().toHost(), other.toHost());
        }
    }

    private static CheckResult bench(Backend b, Preset p) {
        long t0 = System.nanoTime();
        try {
            Bench.Result r = Bench.run(b, p, p.batch(), Bench.defaultSteps(p), BENCH_WARMUP_SECONDS);
            return new CheckResult("bench", p.name() + " " + Bench.defaultSteps(p) + " timed steps (median)", "batch " + p.batch(),
                    Double.NaN, Double.NaN, true, (System.nanoTime() - t0) / 1e6,
                    String.format(Locale.ROOT, "%.2f ms/step, %.0f img/s", r.msPerStep(), r.imagesPerSecond()));
        } catch (RuntimeException e) {
            return CheckResult.thrown("bench", p.name(), "batch " + p.batch(), e, (System.nanoTime() - t0) / 1e6);
        }
    }

    private static CheckResult timed(String section, String name, String shape, java.util.function.Supplier<Comparison> body) {
        long t0 = System.nanoTime();
        try {
            return CheckResult.of(section, name, shape, body.get(), (System.nanoTime() - t0) / 1e6);
        } catch (RuntimeException e) {
            return CheckResult.thrown(section, name, shape, e, (System.nanoTime() - t0) / 1e6);
        }
    }

    // ---- the table --------------------------------------------------------------------------

    /** The table's column headings, in the widths {@link #printRow} uses. */
    public static void printHeading(PrintWriter out) {
        out.println(String.format(Locale.ROOT, "%-7s  %-52s  %-46s  %9s  %9s  %-6s  %9s  %s", "section", "case", "shape", "error",
                "tolerance", "result", "ms", "note"));
    }

    /** One row; the note is the failure (or the bench timing, or the worst output when it passed). */
    public static void printRow(PrintWriter out, CheckResult r) {
        out.println(String.format(Locale.ROOT, "%-7s  %-52s  %-46s  %9s  %9s  %-6s  %9.1f  %s", r.section(), r.name(), r.shape(),
                CheckResult.number(r.error()), CheckResult.number(r.tolerance()), r.result(), r.millis(), r.detail()));
        out.flush();
    }

    /** "N checks: P passed, F failed (X s)". */
    public static String summary(List<CheckResult> rows, double seconds) {
        long failed = rows.stream().filter(r -> !r.passed()).count();
        return String.format(Locale.ROOT, "%d checks: %d passed, %d failed (%.1f s)", rows.size(), rows.size() - failed, failed, seconds);
    }
}
