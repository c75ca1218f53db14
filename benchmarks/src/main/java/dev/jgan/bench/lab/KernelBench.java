package dev.jgan.bench.lab;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.cuda.gpu.CudaProbe;
import dev.jgan.gan.Machine;
import dev.jgan.gan.Roofline;
import dev.jgan.cuda.gpu.VirtualGpu;
import dev.jgan.lab.KernelLab;
import dev.jgan.lab.LabOp;
import dev.jgan.lab.Variant;
import dev.jgan.lab.Variant.Device;
import dev.jgan.selection.Backends;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code gan kernels bench OP[:VARIANT] [--vs VARIANT] [--device cpu|cuda]}: times kernel-lab
 * variants against this machine's roofline, measured at the start of the run.
 *
 * <ul>
 *   <li>CPU: the op's JMH benchmark of benchmarks/ ({@link BenchOp}), one JMH run (its own fork)
 *       per variant, shape and round, with {@code -p variant=NAME}. The roofline is
 *       {@link Roofline}'s STREAM triad and FMA loop on every core.</li>
 *   <li>CUDA: the op's calls on the CUDA backend with the variant installed, timed by CUDA events
 *       with the L2 flushed between repetitions ({@link CudaTiming}); the roofline is a
 *       device-to-device copy and a large GEMM. Only on a real GPU: the virtual GPU and the
 *       emulation compute on the host, so their times say nothing about a GPU, and the run is
 *       refused in one line ({@code gan kernels check} still runs there). {@code JGAN_LAB_TIME_EMULATED=1}
 *       lets the virtual GPU through for testing the plumbing, with every line saying its numbers mean nothing.</li>
 * </ul>
 *
 * <p>With {@code --vs W}, per shape the variants run A B A B (rounds interleaved, one invocation)
 * and each line gives W's median over the variant's: the speed-up. Results are appended to a JSON
 * lines file ({@link ResultLog}). The launcher runs it as
 * {@code java -cp benchmarks/target/benchmarks.jar dev.jgan.bench.lab.KernelBench ARGS}.
 */
public final class KernelBench {
    static final String USAGE = "usage: gan kernels bench OP[:VARIANT] [--vs VARIANT] [--device cpu|cuda] [--shape S[,S..]] "
            + "[--call C[,C..]|all] [--rounds N] [--warmup N] [--warmup-ms MS] [--iterations N] [--time-ms MS] [--forks N] "
            + "[--threads N] [--results FILE]";
    /** Lets the virtual GPU be timed (plumbing tests only): the environment variable, or the system property for a test JVM. */
    static final String TIME_EMULATED_ENV = "JGAN_LAB_TIME_EMULATED", TIME_EMULATED_PROPERTY = "jgan.lab.timeEmulated";
    static final String MEANINGLESS = "(virtual GPU: numbers meaningless)";

    private KernelBench() {}

    /** The parsed command line; defaults in one place. */
    static final class Args {
        String spec, vs;
        Device device = Device.CPU;
        List<String> shapes = List.of(), calls = List.of();
        boolean allCalls, debug;
        int rounds = 2, warmup = 2, warmupMs = 200, iterations = 3, timeMs = 200, forks = 1;
        int threads = Runtime.getRuntime().availableProcessors();
        Path results = Path.of("kernel-lab.jsonl");
        // CUDA roofline and flush sizes: hidden, so a plumbing test on the virtual GPU stays small
        long flushMiB = 256, copyMiB = 1024;
        int gemm = 8192;

        static Args parse(String[] argv) {
            Args a = new Args();
            for (int i = 0; i < argv.length; i++) {
                String arg = argv[i];
                switch (arg) {
                    case "--vs" -> a.vs = value(argv, ++i, arg);
                    case "--device" -> a.device = switch (value(argv, ++i, arg)) {
                        case "cpu" -> Device.CPU;
                        case "cuda" -> Device.CUDA;
                        default -> throw new UserError("--device: cpu or cuda, got '" + argv[i] + "'");
                    };
                    case "--shape" -> a.shapes = list(value(argv, ++i, arg));
                    case "--call" -> {
                        String c = value(argv, ++i, arg);
                        a.allCalls = c.equals("all");
                        a.calls = a.allCalls ? List.of() : list(c);
                    }
                    case "--rounds" -> a.rounds = positive(argv, ++i, arg);
                    case "--warmup" -> a.warmup = nonNegative(argv, ++i, arg);
                    case "--warmup-ms" -> a.warmupMs = positive(argv, ++i, arg);
                    case "--iterations" -> a.iterations = positive(argv, ++i, arg);
                    case "--time-ms" -> a.timeMs = positive(argv, ++i, arg);
                    case "--forks" -> a.forks = positive(argv, ++i, arg);
                    case "--threads" -> a.threads = positive(argv, ++i, arg);
                    case "--results" -> a.results = Path.of(value(argv, ++i, arg));
                    case "--l2-flush-mib" -> a.flushMiB = positive(argv, ++i, arg);
                    case "--roofline-copy-mib" -> a.copyMiB = positive(argv, ++i, arg);
                    case "--roofline-gemm" -> a.gemm = positive(argv, ++i, arg);
                    case "--debug" -> a.debug = true;
                    default -> {
                        if (arg.startsWith("-")) throw new UserError("unknown option '" + arg + "'; " + USAGE);
                        if (a.spec != null) throw new UserError("one OP[:VARIANT], got '" + a.spec + "' and '" + arg + "'; " + USAGE);
                        a.spec = arg;
                    }
                }
            }
            if (a.spec == null) throw new UserError("name an op (batch_norm, dropout, ...); " + USAGE);
            return a;
        }

        private static String value(String[] argv, int i, String option) {
            if (i >= argv.length) throw new UserError(option + " needs a value; " + USAGE);
            return argv[i];
        }

        private static int positive(String[] argv, int i, String option) {
            int v = nonNegative(argv, i, option);
            if (v == 0) throw new UserError(option + " must be positive, got 0");
            return v;
        }

        private static int nonNegative(String[] argv, int i, String option) {
            String v = value(argv, i, option);
            try {
                int n = Integer.parseInt(v);
                if (n < 0) throw new NumberFormatException();
                return n;
            } catch (NumberFormatException e) {
                throw new UserError(option + " takes a whole number, got '" + v + "'");
            }
        }

        private static List<String> list(String v) {
            return Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        }
    }

    public static void main(String[] argv) {
        System.exit(run(argv, System.out, System.err, CudaProbe.SYSTEM));
    }

    /** Runs the command; the exit status (2: a usage error or a refusal, one line on {@code err}). */
    static int run(String[] argv, PrintStream out, PrintStream err, CudaProbe.Environment cuda) {
        boolean debug = Arrays.asList(argv).contains("--debug");
        if (Arrays.asList(argv).contains("--help") || Arrays.asList(argv).contains("-h")) {
            out.println(USAGE);
            out.println("  OP: " + String.join(", ", BenchOp.ALL.stream().map(b -> b.op().id()).toList())
                    + "; without :VARIANT every variant of the op; --call defaults to the op's first call, all for every one");
            return 0;
        }
        try {
            Args a = Args.parse(argv);
            BenchOp op = BenchOp.of(LabOp.of(a.spec.contains(":") ? a.spec.substring(0, a.spec.indexOf(':')) : a.spec));
            List<String> named = new ArrayList<>();
            for (Variant v : KernelLab.find(a.spec, a.device)) named.add(v.name());
            if (a.vs != null) KernelLab.find(op.op().id() + ":" + a.vs, a.device);   // a --vs that does not exist is one line
            List<String> slots = Plan.slots(named, a.vs);
            List<String> calls = a.allCalls ? op.benchmarkCalls() : a.calls.isEmpty() ? List.of(op.benchmarkCalls().getFirst()) : a.calls;
            for (String c : calls) op.traffic(c);
            List<String> shapes = a.shapes.isEmpty() ? op.shapes() : a.shapes;
            for (String s : shapes) BenchOp.elements(s);
            if (a.device == Device.CUDA) {
                String refusal = cudaRefusal(cuda, timeEmulatedAllowed());
                if (refusal != null) {
                    err.println(refusal);
                    return 2;
                }
            }
            Path root = Path.of(System.getProperty("jgan.root", ".")).toAbsolutePath().normalize();
            Map<String, Object> machine = Machine.cpu();
            String command = command(argv);
            out.println(command);
            return a.device == Device.CPU
                    ? new Session(a, op, slots, calls, shapes, out, new ResultLog(a.results, machine, Machine.commit(root), command, "cpu", root)).cpu()
                    : Session.cuda(a, op, slots, calls, shapes, out, machine, root, command);
        } catch (UserError | IllegalArgumentException e) {
            err.println("gan kernels bench: " + e.getMessage());
            if (debug) e.printStackTrace(err);
            return 2;
        } catch (RuntimeException e) {
            err.println("gan kernels bench: failed: " + e.getMessage() + (debug ? "" : " (--debug shows the stack trace)"));
            if (debug) e.printStackTrace(err);
            return 1;
        }
    }

    /** Whether JGAN_LAB_TIME_EMULATED=1 (or the test JVM's property) lets the virtual GPU be timed. */
    static boolean timeEmulatedAllowed() {
        return "1".equals(System.getenv(TIME_EMULATED_ENV)) || Boolean.getBoolean(TIME_EMULATED_PROPERTY);
    }

    /**
     * Why CUDA timing is refused here (one line), or null on a real GPU, or on the virtual GPU
     * when {@code timeEmulated} lets it through.
     */
    static String cudaRefusal(CudaProbe.Environment env, boolean timeEmulated) {
        String why = "emulation time says nothing about GPU speed; `gan kernels check --device cuda` still runs";
        if (VirtualGpu.requested())
            return timeEmulated ? null : "gan kernels bench: --device cuda is the virtual GPU of JGAN_VIRTUAL_GPU here, which computes on the host: "
                    + "CUDA variants are timed only on a real GPU (" + why + ")";
        CudaProbe.Status s = CudaProbe.probe(env);
        // the first thing missing is enough (no driver, usually); `gan info` lists the rest
        return s.usable() ? null : "gan kernels bench: no GPU here (" + s.missing().getFirst()
                + (s.missing().size() > 1 ? "; `gan info` lists what else is missing" : "") + "): CUDA variants are timed only on a real GPU (" + why + ")";
    }

    /** The command as typed, for the results file: {@code gan kernels bench} and the arguments, quoted where needed. */
    static String command(String[] argv) {
        StringBuilder b = new StringBuilder("gan kernels bench");
        for (String a : argv) b.append(' ').append(a.matches("[A-Za-z0-9_./:=,+-]+") ? a : "'" + a.replace("'", "'\\''") + "'");
        return b.toString();
    }

    /** One run: the steps of the plan, the rows as each shape completes, a JSON line per variant and shape. */
    private record Session(Args a, BenchOp op, List<String> slots, List<String> calls, List<String> shapes, PrintStream out, ResultLog log) {

        int cpu() {
            out.println("roofline (this machine, measured now) ...");
            Roofline r = Roofline.measure(Runtime.getRuntime().availableProcessors());
            out.println("roofline: " + r.describe());
            Measurement.Peaks peaks = Measurement.Peaks.of(r);
            if (peaks.cacheGbPerS() > 0)
                out.println("%bw: of the memory triad; marked c: of the last-level cache's triad, for a call whose bytes fit in half that cache "
                        + "(JMH calls back to back, so its inputs are read from there)");
            out.println("JMH: " + a.warmup + " x " + a.warmupMs + " ms warm-up, " + a.iterations + " x " + a.timeMs + " ms measured, "
                    + a.forks + " fork(s) per measurement, backend cpu with " + a.threads + " threads; " + a.rounds
                    + " round(s), variants interleaved per shape; time = median of the measured iterations of all rounds");
            return measure(peaks, step -> jmh(step));
        }

        static int cuda(Args a, BenchOp op, List<String> slots, List<String> calls, List<String> shapes, PrintStream out,
                        Map<String, Object> machine, Path root, String command) {
            boolean virtual = VirtualGpu.requested();
            String note = virtual ? " " + MEANINGLESS : "";
            CudaTiming timing = new CudaTiming(a.warmup * a.warmupMs / 1e3, a.iterations * a.timeMs / 1e3, a.flushMiB << 20, a.copyMiB << 20, a.gemm);
            try (Backend production = Backends.select("cuda", a.threads, line -> {})) {
                Map<String, Object> m = new LinkedHashMap<>(machine);
                m.put("gpu", production.describe());
                if (virtual) m.put("virtual_gpu", true);
                out.println("device: " + production.describe() + note);
                out.println("roofline (this GPU, measured now) ...");
                Measurement.Peaks peaks = timing.roofline(production);
                out.println(String.format("roofline: copy %.1f GB/s (%s); FMA %.1f GFLOP/s (%s)%s", peaks.gbPerS(), peaks.bandwidthMethod(),
                        peaks.gflopPerS(), peaks.flopsMethod(), note));
                out.println("CUDA events: warm-up " + a.warmup * a.warmupMs + " ms, measured " + a.iterations * a.timeMs + " ms (at least "
                        + CudaTiming.MIN_REPETITIONS + " repetitions), L2 flushed before each by a " + a.flushMiB + " MiB fill; " + a.rounds
                        + " round(s), variants interleaved per shape; time = median of all repetitions" + note);
                Session s = new Session(a, op, slots, calls, shapes, out, new ResultLog(a.results, m, Machine.commit(root), command, "cuda", root));
                Map<String, Backend> installed = new HashMap<>();
                Map<String, dev.jgan.tensor.Tensor> flush = new HashMap<>();
                for (String v : slots)
                    if (!installed.containsKey(v)) {
                        Backend b = KernelLab.find(op.op().id() + ":" + v, Device.CUDA).getFirst().on(production);
                        installed.put(v, b);
                        flush.put(v, timing.flushBuffer(b));
                    }
                return s.measure(peaks, step -> {
                    Backend b = installed.get(step.variant());
                    return timing.time(b, CudaTiming.call(op, step.call(), step.shape(), b), flush.get(step.variant()));
                });
            }
        }

        /** Runs the plan's steps with {@code sampler}; prints each shape's rows and appends its lines when its last step has run. */
        private int measure(Measurement.Peaks peaks, java.util.function.Function<Plan.Step, List<Double>> sampler) {
            out.println("model (compulsory traffic per element of the main tensor; per-channel vectors not counted):");
            for (String c : calls) {
                BenchOp.Traffic t = op.traffic(c);
                out.println(String.format("  %s %s: %.0f B/element%s (%s)", op.op().id(), c, t.bytes(),
                        t.flops() == 0 ? ", flops not modelled" : String.format(", %.0f flops/element", t.flops()), t.model()));
            }
            out.println(Measurement.header() + (a.vs == null ? "" : "   vs " + a.vs));
            List<Plan.Step> steps = Plan.interleaved(calls, shapes, slots, a.rounds);
            Map<Integer, List<Double>> samples = new HashMap<>();
            int lines = 0, bugs = 0;
            for (int i = 0; i < steps.size(); i++) {
                Plan.Step step = steps.get(i);
                samples.computeIfAbsent(step.slot(), k -> new ArrayList<>()).addAll(sampler.apply(step));
                boolean shapeDone = i + 1 == steps.size() || !steps.get(i + 1).shape().equals(step.shape()) || !steps.get(i + 1).call().equals(step.call());
                if (!shapeDone) continue;
                List<Measurement> ms = new ArrayList<>();
                for (int s = 0; s < slots.size(); s++) {
                    List<Double> xs = samples.get(s);
                    ms.add(new Measurement(slots.get(s), step.call(), step.shape(), Plan.median(xs), xs.size(),
                            op.bytesPerCall(step.call(), step.shape()), op.flopsPerCall(step.call(), step.shape()), peaks));
                }
                Measurement vs = a.vs == null ? null : ms.getLast();
                for (int s = 0; s < ms.size(); s++) {
                    Measurement m = ms.get(s);
                    boolean isVs = vs != null && s == ms.size() - 1;
                    Map<String, Object> extra = new LinkedHashMap<>();
                    List<Double> xs = samples.get(s);   // the spread, to judge a ratio by
                    extra.put("min_us", xs.stream().mapToDouble(Double::doubleValue).min().orElseThrow() * 1e6);
                    extra.put("max_us", xs.stream().mapToDouble(Double::doubleValue).max().orElseThrow() * 1e6);
                    String ratio = "";
                    if (vs != null && !isVs) {
                        double speedup = Plan.speedup(m.seconds(), vs.seconds());
                        extra.put("vs", op.op().id() + ":" + a.vs);
                        extra.put("vs_time_us", vs.seconds() * 1e6);
                        extra.put("speedup_vs", speedup);
                        ratio = String.format("   %.3fx", speedup);
                    }
                    out.println(m.row(isVs ? m.variant() + " (vs)" : m.variant()) + ratio);
                    if (m.aboveRoofline()) bugs++;
                    Variant v = KernelLab.find(op.op().id() + ":" + m.variant(), a.device).getFirst();
                    log.append(v, m, extra);
                    lines++;
                }
                samples.clear();
            }
            if (a.vs != null) out.println("vs: " + a.vs + "'s median time over the variant's, measured in this run, interleaved (above 1: the variant is faster)");
            if (bugs > 0) out.println(bugs + " result(s) above the roofline: a measurement bug (bytes model, cached inputs, a call that did not run), not a fast kernel");
            out.println("results: " + lines + " line(s) appended to " + log.file());
            return 0;
        }

        /** One JMH run of the op's benchmark at the step's variant, call and shape; the measured iterations' times in seconds per call. */
        private List<Double> jmh(Plan.Step step) {
            Path output;
            try {
                output = Files.createTempFile("jgan-kernel-bench", ".txt");
            } catch (IOException e) {
                throw new IllegalStateException("cannot create a temporary file for JMH's output: " + e.getMessage(), e);
            }
            Options opt = new OptionsBuilder()
                    .include(op.includePattern())
                    .param("backend", "cpu")
                    .param("threads", Integer.toString(a.threads))
                    .param("variant", step.variant())
                    .param("op", step.call())
                    .param("shape", step.shape())
                    .warmupIterations(a.warmup).warmupTime(TimeValue.milliseconds(a.warmupMs))
                    .measurementIterations(a.iterations).measurementTime(TimeValue.milliseconds(a.timeMs))
                    .forks(a.forks)
                    .timeUnit(TimeUnit.NANOSECONDS)
                    .shouldFailOnError(true)
                    .verbosity(VerboseMode.NORMAL)
                    .output(output.toString())
                    .build();
            try {
                List<Double> out = new ArrayList<>();
                for (RunResult rr : new Runner(opt).run())
                    for (BenchmarkResult br : rr.getBenchmarkResults())
                        for (IterationResult ir : br.getIterationResults()) out.add(ir.getPrimaryResult().getScore() * 1e-9);
                if (out.isEmpty()) throw new IllegalStateException("JMH measured nothing" + firstError(output));
                Files.deleteIfExists(output);
                return out;
            } catch (RunnerException e) {
                String why = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
                if (why.contains("JMH lock"))   // another JMH run on this machine: timing beside it would measure both
                    throw new UserError("another JMH run holds its lock (/tmp/jmh.lock): wait for it to end, or run beside it with "
                            + "JGAN_JAVA_OPTS=-Djmh.ignoreLock=true (both timings then share the cores)", e);
                throw new IllegalStateException(op.benchmark().getSimpleName() + " " + step.variant() + " " + step.call() + " " + step.shape()
                        + " failed" + firstError(output) + (why.isEmpty() ? "" : ": " + why) + " (JMH's output: " + output + ")", e);
            } catch (IOException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }

        /** The first exception line of a JMH output file, as ": LINE", or "". */
        private static String firstError(Path output) {
            try {
                return Files.readAllLines(output).stream().filter(l -> l.contains("Exception") || l.contains("Error:")).findFirst()
                        .map(l -> ": " + l.trim()).orElse("");
            } catch (IOException e) {
                return "";
            }
        }
    }
}
