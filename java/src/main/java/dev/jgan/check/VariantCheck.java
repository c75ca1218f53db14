package dev.jgan.check;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.cpu.CpuBackend;
import dev.jgan.cuda.emulated.EmulatedDevice;
import dev.jgan.cuda.emulated.EmulatedLauncher;
import dev.jgan.cuda.gpu.VirtualGpu;
import dev.jgan.gan.Preset;
import dev.jgan.gan.Presets;
import dev.jgan.lab.ForwardingBackend;
import dev.jgan.lab.LabOp;
import dev.jgan.lab.Variant;
import dev.jgan.lab.Variant.Device;
import dev.jgan.selection.Backends;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * {@code gan kernels check}: the op checks of {@code gan check} ({@link OpSuite}, {@link PresetOps})
 * run on a kernel-lab variant, harder. Each case of the variant's op (the quick set's awkward
 * shapes, the lab's own extra shapes below, and every call the three presets make) runs at
 * {@link #SEEDS} and with every output pre-filled with each of {@link #SENTINELS} (tinygrad's
 * BEAM validation: a kernel that skips a write, a tail or a whole output keeps the sentinel
 * there and cannot pass, whatever the op's zero would have hidden). A case passes when every run
 * passes; its row shows the worst run, the count of NaNs and infinities in the outputs (over all
 * runs), and the first failing run's seed and sentinel.
 */
public final class VariantCheck {
    /** Outputs are pre-filled with each: NaN (propagates through any arithmetic), and a finite value no case produces. */
    public static final float[] SENTINELS = {Float.NaN, -7777.25f};
    /** Input seeds of every case: the suite's own draw (0) and two more. */
    public static final long[] SEEDS = {0, 1, 2};

    private VariantCheck() {}

    /** One case's outcome over all its runs. */
    public record Row(Variant variant, String device, String name, String shape, int runs, double error, double tolerance,
                      long nonFinite, boolean passed, double millis, String detail) {}

    /**
     * The cases of {@code op}: the quick set's, the lab's extra shapes, and (unless {@code quick})
     * the presets' calls, recorded on {@code recorder} (any backend: the shapes do not depend on it).
     */
    public static List<OpSuite.Case> cases(LabOp op, boolean quick, Backend recorder) {
        List<OpSuite.Case> all = new ArrayList<>(OpSuite.quick());
        all.addAll(extras(op));
        if (!quick) {
            List<Preset> presets = SelfCheck.PRESETS.stream().map(Presets::get).toList();
            all.addAll(SelfCheck.presetCases(recorder, presets));
        }
        List<OpSuite.Case> out = new ArrayList<>();
        for (OpSuite.Case c : all) if (!Collections.disjoint(c.ops(), op.calls())) out.add(c);
        return out;
    }

    /**
     * The lab's extra shapes, past the quick set's: sizes a vector loop or a block tiles badly (a
     * prime past 4096, one past 2^16), batch norm's small planes (2x2, 3x3, 4x4, where a block per
     * channel has little to do) and a (N, C, 1, 1) tensor, and its statistics on data of mean 1e4.
     */
    static List<OpSuite.Case> extras(LabOp op) {
        return switch (op) {
            case DROPOUT -> List.of(OpSuite.dropout(4099, 0.5f), OpSuite.dropout(65537, 0.3f), OpSuite.dropout(31, 0.9f));
            case BATCH_NORM -> List.of(
                    OpSuite.batchNorm(Shape.of(7, 11, 4, 4), 0.1f, 1e-5f),
                    OpSuite.batchNorm(Shape.of(5, 33, 2, 2), 0.1f, 1e-5f),
                    OpSuite.batchNorm(Shape.of(3, 7, 3, 3), 0.1f, 1e-5f),
                    OpSuite.batchNorm(Shape.of(3, 17, 1, 1), 0.1f, 1e-5f),
                    OpSuite.batchNormLeakyRelu(Shape.of(7, 11, 4, 4), 0.1f, 1e-5f, 0.2f),
                    OpSuite.batchNormLeakyRelu(Shape.of(5, 33, 2, 2), 0.1f, 1e-5f, 0f),
                    OpSuite.batchNormShifted(Shape.of(16, 128, 7, 7), 1e4f),
                    OpSuite.batchNormShifted(Shape.of(64, 1024), 1e4f),
                    OpSuite.batchNormShifted(Shape.of(7, 11, 4, 4), 1e4f));
            case ACTIVATIONS -> List.of(OpSuite.leakyRelu(4099, 0.2f), OpSuite.tanh(4099), OpSuite.sigmoid(65537));
            case RANDOM -> List.of(OpSuite.fillUniform(4099, -1f, 3f), OpSuite.fillNormal(4099, 0.5f, 2f),
                    OpSuite.fillBernoulli(65537, 0.25f));
            default -> List.of();
        };
    }

    /**
     * Runs {@code cases} on {@code variant} installed over {@code production} (a backend of the
     * variant's device), labelled {@code device} in the rows, each row handed to {@code onRow}.
     */
    public static List<Row> run(Variant variant, Backend production, String device, List<OpSuite.Case> cases, Consumer<Row> onRow) {
        Backend installed = variant.on(production);
        List<Row> rows = new ArrayList<>();
        for (OpSuite.Case c : cases) {
            long t0 = System.nanoTime();
            double worstRatio = -1, error = 0, tolerance = 0;
            long nonFinite = 0;
            String failure = null, worst = "";
            int runs = 0;
            for (float sentinel : SENTINELS) {
                Backend b = new Sentinel(installed, sentinel);
                for (long seed : SEEDS) {
                    runs++;
                    String run = "seed " + seed + ", sentinel " + sentinel;
                    try {
                        Comparison cmp = c.compare(b, seed);
                        nonFinite += cmp.nonFinite();
                        double ratio = cmp.passed() ? cmp.ratio() : Double.POSITIVE_INFINITY;
                        if (ratio > worstRatio) {
                            worstRatio = ratio;
                            error = cmp.error();
                            tolerance = cmp.tolerance();
                            worst = cmp.detail();
                        }
                        if (!cmp.passed() && failure == null) failure = cmp.detail() + " (" + run + ")";
                    } catch (RuntimeException e) {
                        String m = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
                        if (failure == null) failure = m + " (" + run + ")";
                        worstRatio = Double.POSITIVE_INFINITY;
                    }
                }
            }
            Row r = new Row(variant, device, c.name(), c.shape(), runs, error, tolerance, nonFinite, failure == null,
                    (System.nanoTime() - t0) / 1e6, failure != null ? failure : worst);
            rows.add(r);
            onRow.accept(r);
        }
        return rows;
    }

    /** A backend the variants of one device run on, and its label in the table. */
    public record Target(String label, Backend backend) {}

    /**
     * Where the variants of {@code device} run: the CPU backend; for CUDA the emulated device
     * always, and the GPU (or the virtual GPU of JGAN_VIRTUAL_GPU) where one opens, else
     * {@code note} gets one line on why not.
     */
    public static List<Target> targets(Device device, int threads, Consumer<String> note) {
        List<Target> out = new ArrayList<>();
        if (device == Device.CPU) {
            if (!CpuBackend.available()) throw new UserError("the CPU backend is " + CpuBackend.ABSENT + ": CPU variants cannot be checked here");
            out.add(new Target("cpu", new CpuBackend(threads)));
            return out;
        }
        if (EmulatedLauncher.bundledLibrary().isEmpty())
            throw new UserError("this build has no host emulation library (native/ needs g++ and CMake): CUDA variants cannot be checked");
        out.add(new Target("emulated", EmulatedDevice.open(SelfCheck.EMULATED_WORKSPACE)));
        try {
            Backend gpu = Backends.select("cuda", threads, s -> {});
            out.add(new Target(VirtualGpu.installed() ? "vgpu" : "gpu", gpu));
        } catch (UserError e) {
            // the first thing missing is enough here; `gan info` lists the rest
            String why = e.getMessage().replaceFirst("^--device cuda is not usable here: ", "").split("; ")[0];
            note.accept("CUDA variants on the emulated device only (no GPU: " + why + ")");
        }
        return out;
    }

    /** The backend the presets' steps are recorded on (their shapes do not depend on it): the CPU, or the emulated device. */
    public static Backend recorder(int threads) {
        return CpuBackend.available() ? new CpuBackend(threads) : EmulatedDevice.open(SelfCheck.EMULATED_WORKSPACE);
    }

    /** The table's column headings, in the widths {@link #printRow} uses. */
    public static void printHeading(PrintWriter out) {
        out.println(String.format(Locale.ROOT, "%-30s  %-8s  %-46s  %-26s  %4s  %9s  %9s  %6s  %-6s  %8s  %s", "variant", "device",
                "case", "shape", "runs", "error", "tolerance", "nan/inf", "result", "ms", "note"));
    }

    public static void printRow(PrintWriter out, Row r) {
        out.println(String.format(Locale.ROOT, "%-30s  %-8s  %-46s  %-26s  %4d  %9s  %9s  %6d  %-6s  %8.1f  %s", r.variant().id(), r.device(),
                r.name(), r.shape(), r.runs(), CheckResult.number(r.error()), CheckResult.number(r.tolerance()), r.nonFinite(),
                r.passed() ? "PASS" : "FAIL", r.millis(), r.detail()));
        out.flush();
    }

    /** Every tensor it allocates pre-filled with {@code value} before the op writes it. */
    static final class Sentinel extends ForwardingBackend {
        private final float value;

        Sentinel(Backend base, float value) {
            super(base);
            this.value = value;
        }

        @Override public Tensor allocate(Shape shape) {
            Tensor t = base.allocate(shape);
            base.fill(t, value);
            return t;
        }
    }
}
