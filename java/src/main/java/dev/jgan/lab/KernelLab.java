package dev.jgan.lab;

import dev.jgan.backend.Backend;
import dev.jgan.lab.Variant.Device;
import dev.jgan.lab.Variant.Status;
import dev.jgan.lab.cpu.DropoutMul32Pairs;
import dev.jgan.lab.cpu.WelfordBatchNorm;
import dev.jgan.lab.cuda.BatchNormSmallSpatial;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The kernel lab's registry (docs/kernel-lab.md): every variant of every op, on the CPU and on
 * CUDA, and which one production runs. Each op has a {@code baseline} per device: the production
 * kernels as the backends have them (kernels/*.cu, the CPU classes named by {@link LabOp#cpuSource}).
 * A lab variant is one line in {@link #LAB}; its code lives in kernels/lab/&lt;op&gt;/ (CUDA) or
 * dev.jgan.lab.cpu (CPU, the Java tree's mirror of kernels/lab/).
 *
 * <p>The production choice per op and device is one line in {@code PRODUCTION_CPU} or
 * {@code PRODUCTION_CUDA}: a name other than baseline puts that variant in every backend
 * {@code Backends} opens.
 */
public final class KernelLab {
    /** The baseline's name: the production kernels as the backends have them. */
    public static final String BASELINE = "baseline";

    /**
     * What production runs, per op: the CPU's choice and CUDA's. An op not listed runs its
     * baseline. Promoted on 2026-12-03 (docs/kernel-lab.md has the measurements): on the CPU,
     * mul32-pairs (2.3x the dropout forward, the same bits). batch_norm stays on its baseline:
     * welford-rows is faster, but in the whole suite's JIT history C2 left its vector loops to the
     * allocating fallback (40 KB a call), which production must not do.
     */
    private static final Map<LabOp, String> PRODUCTION_CPU = new EnumMap<>(Map.of(
            LabOp.BATCH_NORM, BASELINE,
            LabOp.DROPOUT, "mul32-pairs"));
    private static final Map<LabOp, String> PRODUCTION_CUDA = new EnumMap<>(Map.of(
            LabOp.BATCH_NORM, BASELINE));

    /**
     * Bytes and FLOPs per element of the baselines the lab has variants of, both devices alike:
     * batch norm's training forward reads x three times (sum, centred squares, normalise) and writes
     * y, 16 B, with an add, a subtract and a multiply-add for the statistics and a subtract and a
     * multiply-add to normalise, 7 FLOPs (a multiply-add counts two); dropout's forward reads x and writes the mask and y, 12 B,
     * and one multiply (its Philox draws are integer work).
     */
    private static final Map<LabOp, double[]> BASELINE_TRAFFIC = Map.of(
            LabOp.BATCH_NORM, new double[] {16, 7},
            LabOp.DROPOUT, new double[] {12, 1});

    /**
     * The lab's variants, one line each. A CPU variant's install is a lambda, not a method
     * reference: a reference links its class (and so the Vector API) when this list is made, and
     * the bundle, which has no CPU backend and no jdk.incubator.vector, reads this list too.
     */
    private static final List<Variant> LAB = List.of(
            new Variant(LabOp.BATCH_NORM, "small-spatial", Device.CUDA, Status.EXPERIMENT, "kernels/lab/batch_norm/small_spatial.cu",
                    "planes of 2..32 floats: a block per tile of whole channels, a warp reads 32 consecutive floats of an item's"
                            + " run, per-lane sums then a segmented reduction per channel; x (and dy) stay in registers when a thread has"
                            + " at most 8 items (8 B/elem forward, 12 backward; else 16 and 20 as production)",
                    8, 7, BatchNormSmallSpatial.kernels(), CudaRoute.of(BatchNormSmallSpatial.rules())),
            new Variant(LabOp.DROPOUT, "mul32-pairs", Device.CPU, Status.PROMOTED, "java/src/main/java/dev/jgan/lab/cpu/DropoutMul32Pairs.java",
                    "Philox's 32x32 products as one vpmuludq, two words per long lane (x0:x1, x2:x3: no masks, a shorter chain), "
                    + "one int rearrange to element order, compare on ints; FLOPs as the baseline's (y = x * mask), besides"
                    + " Philox's 25 integer ops per element: 10 rounds x (2 mul + 4 shift + 4 xor) / 4 elements",
                    12, 1, List.of(), b -> new DropoutMul32Pairs(b)),
            new Variant(LabOp.BATCH_NORM, "welford", Device.CPU, Status.REJECTED, "java/src/main/java/dev/jgan/lab/cpu/WelfordBatchNorm.java",
                    "one-pass training statistics (Welford per lane, Chan's merge), then production's normalise (rejected for"
                            + " welford-rows: the same, with (N, C) inputs along the rows, where it is 1.9-6x faster)", 12, 9, List.of(),
                    b -> WelfordBatchNorm.lanes(b)),
            new Variant(LabOp.BATCH_NORM, "welford-rows", Device.CPU, Status.EXPERIMENT, "java/src/main/java/dev/jgan/lab/cpu/WelfordBatchNorm.java",
                    "welford, with (N, C) inputs along the rows (statistics and normalise) instead of down the columns", 12, 9, List.of(),
                    b -> WelfordBatchNorm.rows(b)));

    private static final List<Variant> ALL = all();

    private KernelLab() {}

    private static List<Variant> all() {
        List<Variant> out = new ArrayList<>();
        for (LabOp op : LabOp.values()) {
            double[] t = BASELINE_TRAFFIC.getOrDefault(op, new double[2]);
            out.add(new Variant(op, BASELINE, Device.CPU, Status.BASELINE, "java/src/main/java/dev/jgan/" + op.cpuSource(),
                    "the CPU backend's kernels", t[0], t[1], List.of(), UnaryOperator.identity()));
            out.add(new Variant(op, BASELINE, Device.CUDA, Status.BASELINE, cudaSource(op), "the CUDA backend's kernels", t[0], t[1],
                    productionKernels(op), UnaryOperator.identity()));
        }
        out.addAll(LAB);
        return List.copyOf(out);
    }

    private static String cudaSource(LabOp op) {
        return switch (op) {
            case GEMM -> "cuBLAS (java/src/main/java/dev/jgan/cuda/Blas.java)";
            case CONV -> "cuDNN (java/src/main/java/dev/jgan/cuda/Dnn.java)";
            case ACTIVATIONS -> "kernels/activations.cu";
            case RANDOM -> "kernels/philox.cu";
            case DROPOUT -> "kernels/philox.cu";
            default -> "kernels/" + op.id() + ".cu";
        };
    }

    private static List<String> productionKernels(LabOp op) {
        List<String> out = new ArrayList<>();
        for (String k : dev.jgan.cuda.Kernels.NAMES) if (op.ownsKernel(k)) out.add(k);
        return out;
    }

    /** Every variant, baselines first, in op order. */
    public static List<Variant> variants() { return ALL; }

    /** The variants {@code spec} names: {@code op} (all of the op's) or {@code op:variant}, on {@code device} (null: both). */
    public static List<Variant> find(String spec, Device device) {
        int colon = spec.indexOf(':');
        LabOp op = LabOp.of(colon < 0 ? spec : spec.substring(0, colon));
        String name = colon < 0 ? null : spec.substring(colon + 1);
        List<Variant> out = new ArrayList<>();
        for (Variant v : ALL)
            if (v.op() == op && (name == null || v.name().equals(name)) && (device == null || v.device() == device)) out.add(v);
        if (out.isEmpty()) {
            Set<String> names = new LinkedHashSet<>();
            for (Variant v : ALL) if (v.op() == op && (device == null || v.device() == device)) names.add(v.name());
            throw new IllegalArgumentException("no variant '" + spec + "'" + (device == null ? "" : " on " + device.id())
                    + "; " + op.id() + " has " + String.join(", ", names));
        }
        return out;
    }

    /** The variant production runs for {@code op} on {@code device}. */
    public static Variant production(LabOp op, Device device) {
        String name = (device == Device.CPU ? PRODUCTION_CPU : PRODUCTION_CUDA).getOrDefault(op, BASELINE);
        return find(op.id() + ":" + name, device).getFirst();
    }

    /**
     * {@code backend} with the production choice of every op in place: itself while every op runs
     * its baseline, else a {@link ProductionChoice} that remembers the backend underneath.
     */
    public static Backend withProduction(Backend backend) {
        Backend raw = raw(backend), out = with(raw, Set.of());
        return out == raw ? raw : new ProductionChoice(raw, out);
    }

    /**
     * {@code variants} (one per op at most) in place on {@code backend} (with or without the
     * production choices in place), every other op running production's choice: what a check, a bench or {@code --variant}
     * measures. The baseline is the production kernels themselves even after another variant was
     * promoted.
     */
    public static Backend install(List<Variant> variants, Backend backend) {
        Set<LabOp> ops = EnumSet.noneOf(LabOp.class);
        for (Variant v : variants)
            if (!ops.add(v.op())) throw new IllegalArgumentException("two variants of " + v.op() + ": " + variants);
        Backend out = with(raw(backend), ops);
        for (Variant v : variants) out = v.install().apply(out);
        return out;
    }

    /** The production choices of every op not in {@code except} on {@code raw}. */
    private static Backend with(Backend raw, Set<LabOp> except) {
        Device device = deviceOf(raw);
        Backend out = raw;
        for (LabOp op : LabOp.values()) {
            if (except.contains(op)) continue;
            Variant v = production(op, device);
            if (!v.name().equals(BASELINE)) out = v.install().apply(out);
        }
        return out;
    }

    private static Backend raw(Backend b) {
        return b instanceof ProductionChoice p ? p.raw : b;
    }

    /** A backend with some op's production choice a lab variant: the calls go to it, {@link #raw} is the backend underneath. */
    static final class ProductionChoice extends ForwardingBackend {
        private final Backend raw;

        ProductionChoice(Backend raw, Backend withChoices) {
            super(withChoices);
            this.raw = raw;
        }

        /** The backend's own line, and which ops run a lab variant. */
        @Override public String describe() {
            Device device = deviceOf(raw);
            StringBuilder lab = new StringBuilder();
            for (LabOp op : LabOp.values()) {
                Variant v = production(op, device);
                if (!v.name().equals(BASELINE)) lab.append(lab.isEmpty() ? "" : ", ").append(v.id());
            }
            return base.describe() + "; kernel lab: " + lab;
        }
    }

    /** The lab device a backend is: CUDA for the CUDA backend (GPU, virtual GPU or emulated), else the CPU. */
    public static Device deviceOf(Backend backend) {
        return raw(backend).name().equals("cuda") ? Device.CUDA : Device.CPU;
    }
}
