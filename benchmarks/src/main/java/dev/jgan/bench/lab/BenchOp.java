package dev.jgan.bench.lab;

import dev.jgan.bench.ops.ActivationBenchmark;
import dev.jgan.bench.ops.BatchNormBenchmark;
import dev.jgan.bench.ops.BiasBenchmark;
import dev.jgan.bench.ops.DropoutBenchmark;
import dev.jgan.lab.LabOp;
import org.openjdk.jmh.annotations.Param;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A kernel-lab op as {@code gan kernels bench} times it: the JMH benchmark of benchmarks/ that
 * runs it (its {@code variant} @Param installs the variant), the benchmark's shapes and calls
 * (read from its {@code shape} and {@code op} @Params, so the two cannot drift), and per call
 * the op's compulsory traffic and arithmetic per element of the main tensor: what any kernel
 * must move (each input read once, each output written once; per-channel vectors ignored), not
 * what a particular variant moves, so that the percent of roofline says how far it is from ideal.
 */
public record BenchOp(LabOp op, Class<?> benchmark, Map<String, Traffic> calls) {

    /**
     * Per element of the op's main tensor.
     *
     * @param bytes   compulsory bytes moved
     * @param flops   floating-point operations (FMA = 2); 0: not modelled (the op is a select or a transcendental)
     * @param model   the model in words, for the output header
     */
    public record Traffic(double bytes, double flops, String model) {}

    /** The ops with a benchmark wired, in LabOp order. */
    public static final List<BenchOp> ALL = List.of(
            new BenchOp(LabOp.BIAS, BiasBenchmark.class, ordered(
                    "addBias", new Traffic(8, 1, "read y, write y; 1 add"),
                    "biasGrad", new Traffic(4, 1, "read dy; 1 add"))),
            new BenchOp(LabOp.DROPOUT, DropoutBenchmark.class, ordered(
                    "forward", new Traffic(12, 1, "read x, write mask, write y; 1 mul (Philox's integer work not counted)"),
                    "backward", new Traffic(12, 1, "read dy, read mask, write dx; 1 mul"))),
            new BenchOp(LabOp.ACTIVATIONS, ActivationBenchmark.class, activations()),
            new BenchOp(LabOp.BATCH_NORM, BatchNormBenchmark.class, ordered(
                    "train", new Traffic(8, 7, "read x, write y; mean 1 add, variance 1 sub + 1 FMA, y 1 sub + 1 FMA"),
                    "backward", new Traffic(12, 11, "read x, read dy, write dx; x-hat 2, two sums 3, dx 2 FMAs + 2"),
                    "infer", new Traffic(8, 2, "read x, write y; 1 FMA"))));

    private static Map<String, Traffic> activations() {
        Map<String, Traffic> out = new LinkedHashMap<>();
        for (String f : List.of("leakyRelu", "relu", "tanh", "sigmoid")) {
            out.put(f, new Traffic(8, 0, "read x, write y"));
            out.put(f + "Backward", new Traffic(12, 0, "read y, read dy, write dx"));
        }
        return out;
    }

    private static Map<String, Traffic> ordered(Object... callsAndTraffic) {
        Map<String, Traffic> out = new LinkedHashMap<>();
        for (int i = 0; i < callsAndTraffic.length; i += 2) out.put((String) callsAndTraffic[i], (Traffic) callsAndTraffic[i + 1]);
        return out;
    }

    public BenchOp {
        calls = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(calls));
    }

    /** The op's entry; one line naming the wired ops when it has none. */
    public static BenchOp of(LabOp op) {
        for (BenchOp b : ALL) if (b.op == op) return b;
        List<String> wired = new ArrayList<>();
        for (BenchOp b : ALL) wired.add(b.op.id());
        throw new IllegalArgumentException("no benchmark is wired for " + op.id() + " yet; the ops with one are " + String.join(", ", wired));
    }

    /** The shapes the benchmark sweeps by default (its {@code shape} @Param). */
    public List<String> shapes() { return paramValues("shape"); }

    /** The calls the benchmark's {@code op} @Param offers, in its order. */
    public List<String> benchmarkCalls() { return paramValues("op"); }

    /** The JMH benchmark method's name, as Runner's include pattern takes it. */
    public String includePattern() { return "^" + benchmark.getName().replace(".", "\\.") + "\\.run$"; }

    /** Elements of the op's main tensor at {@code shape} ("64x128x7x7": (N, C, ...), two sizes at least). */
    public static long elements(String shape) {
        long n = 1;
        String[] dims = shape.split("x", -1);
        if (dims.length < 2) throw new IllegalArgumentException("shape '" + shape + "': (N, C, ...) as sizes joined by x, e.g. 64x256 or 64x128x7x7");
        for (String d : dims) {
            try {
                int v = Integer.parseInt(d);
                if (v <= 0) throw new NumberFormatException();
                n *= v;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("shape '" + shape + "': (N, C, ...) as positive sizes joined by x, e.g. 64x256 or 64x128x7x7");
            }
        }
        return n;
    }

    /** Compulsory bytes of one call of {@code call} at {@code shape}. */
    public double bytesPerCall(String call, String shape) { return traffic(call).bytes() * elements(shape); }

    /** Floating-point operations of one call (0: not modelled). */
    public double flopsPerCall(String call, String shape) { return traffic(call).flops() * elements(shape); }

    public Traffic traffic(String call) {
        Traffic t = calls.get(call);
        if (t == null) throw new IllegalArgumentException("no call '" + call + "' of " + op.id() + "; its calls are " + String.join(", ", calls.keySet()));
        return t;
    }

    private List<String> paramValues(String field) {
        try {
            Param p = benchmark.getField(field).getAnnotation(Param.class);
            return Arrays.asList(p.value());
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException(benchmark.getSimpleName() + " has no @Param " + field, e);
        }
    }
}
