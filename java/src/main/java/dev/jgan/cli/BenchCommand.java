package dev.jgan.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.backend.Precision;
import dev.jgan.gan.Bench;
import dev.jgan.gan.Machine;
import dev.jgan.gan.Preset;
import dev.jgan.gan.Presets;
import dev.jgan.gan.Roofline;
import dev.jgan.gan.StepFlops;
import dev.jgan.io.Json;
import dev.jgan.lab.KernelLab;
import dev.jgan.lab.Variant;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code gan bench}: each configuration's steps, and the machine's FMA peak and memory bandwidth
 * measured in the same run ({@link Roofline}), printed first as a header. One configuration runs
 * in this JVM after the probe (the kernel's peak-memory mark reset between them, so that the
 * line's peak is the steps'; {@link #measure}); a sweep (a list in --preset, --batch or --threads) runs the probe here first and then each
 * configuration in a JVM of its own ({@link ChildJvm}), so that each line's peak resident memory
 * is its own. A child gets this command's own arguments
 * with the swept options replaced by its configuration's and {@code --one-configuration}, and
 * prints its result as one JSON line after {@link #RESULT_MARKER}; this JVM prints the lines.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Time whole training steps (G forward, D update on real + fake, G update) after warm-up.",
                "Prints a header line (CPU, cores, vector width, the FMA peak on 1 and N threads and the memory bandwidth, measured now), "
                        + "then per configuration PRESET<TAB>batch=B<TAB>X.XX ms/step<TAB>N img/s (median; the format of shared/peers/torch_gan_bench.py), "
                        + "GFLOP/s, threads, percent of the FMA peak on as many threads, the peak resident memory (MB: 10^6 bytes), "
                        + "and the data time: what a step spent getting its real batch (with --dataset/--data, as a run reads it).",
                "Lists in --preset, --batch, --threads and --precision sweep every combination, each in its own JVM; a line not in fp32 ends in its precision."})
final class BenchCommand implements Callable<Integer> {
    /** What starts a child's result line on its stdout; the rest of its stdout (a --profile table) is passed through. */
    static final String RESULT_MARKER = "jgan-bench-result ";
    /** The options a configuration replaces in a child's arguments. */
    private static final Set<String> SWEPT = Set.of("--preset", "--batch", "--threads", "--precision", "--results");

    @Spec CommandSpec spec;
    @Mixin CommonOptions common;

    @Option(names = "--preset", split = ",", paramLabel = "NAME", defaultValue = "mlp-gan",
            description = "preset(s) to time, e.g. mlp-gan,dcgan-28 (default: ${DEFAULT-VALUE})")
    List<String> presets;

    @Option(names = "--batch", split = ",", paramLabel = "B", defaultValue = "64", description = "batch size(s), e.g. 16,64,256 (default: ${DEFAULT-VALUE})")
    List<Integer> batches;

    @Option(names = "--steps", description = "timed steps (default: 60 for MLPs, as the peer script)")
    Integer steps;

    @Option(names = "--warmup", defaultValue = "3", description = "seconds of untimed steps first, for the JIT (default: ${DEFAULT-VALUE})")
    double warmup;

    @Option(names = "--profile", description = "also time every op separately (synchronising after each) and print where a step's time goes")
    boolean profile;

    @Option(names = "--dataset", description = "draw the real batches from this dataset as a run does (shuffled, on the background "
            + "thread), not the peer's fixed batch; its data time is the line's (default: the fixed batch)")
    String dataset;

    @Option(names = "--data", description = "as gan train's --data (a folder of images, IDX files, CIFAR-10's files); implies --dataset")
    Path data;

    @Option(names = "--channels", description = "1 or 3 (default: the data's; 1 for the fixed batch)")
    Integer channels;

    @Option(names = "--results", paramLabel = "FILE",
            description = "append one JSON line per result to FILE: machine, commit, command, configuration, numbers, the measured peaks")
    Path results;

    /** A child of a sweep: run the one configuration given, without the probe, and print it as one JSON line. */
    @Option(names = "--one-configuration", hidden = true)
    boolean oneConfiguration;

    /**
     * One configuration of a sweep: what one line measures. A new swept dimension is one more
     * field here, in {@link #every} and {@link #options}, and its option in {@link #SWEPT}.
     */
    record Config(String preset, int batch, int threads, Precision precision) {
        /** Every combination, in the order given: preset, then batch, then threads, then precision. */
        static List<Config> every(List<String> presets, List<Integer> batches, List<Integer> threads, List<Precision> precisions) {
            List<Config> all = new ArrayList<>();
            for (String p : presets) for (int b : batches) for (int t : threads) for (Precision x : precisions) all.add(new Config(p, b, t, x));
            return all;
        }

        /** The options that ask a child for exactly this configuration. */
        List<String> options() {
            return List.of("--preset", preset, "--batch", Integer.toString(batch), "--threads", Integer.toString(threads),
                    "--precision", precision.id());
        }

        @Override public String toString() {
            return preset + " batch=" + batch + " on " + threads + " thread" + (threads == 1 ? "" : "s") + (precision == Precision.FP32 ? "" : " in " + precision);
        }
    }

    @Override public Integer call() {
        if (steps != null && steps <= 0) throw new UserError("--steps must be positive, got " + steps);
        if (warmup < 0) throw new UserError("--warmup must be >= 0, got " + warmup);
        for (int b : batches) if (b <= 0) throw new UserError("--batch must be positive, got " + b);
        for (String p : presets) Presets.get(p);   // an unknown name is one line before anything runs
        List<Config> configs = Config.every(distinct(presets), distinct(batches), distinct(common.threadCounts()), distinct(common.precisions()));
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        if (oneConfiguration) {
            if (configs.size() != 1) throw new UserError("--one-configuration takes one preset, batch and thread count");
            try (Backend b = common.backend(err, configs.getFirst().threads(), configs.getFirst().precision())) {
                out.println(RESULT_MARKER + json(result(measure(b, configs.getFirst()))));
                printProfile(b, configs.getFirst(), out);
            }
            return 0;
        }

        List<String> argv = benchArgs();
        boolean cpu;
        // the device and the variants are checked once here, before anything is timed; a single configuration runs on this backend
        Backend b = common.backend(err, configs.getFirst().threads(), configs.getFirst().precision());
        try {
            cpu = KernelLab.deviceOf(b) == Variant.Device.CPU;
            if (configs.size() == 1) {
                Roofline peaks = cpu ? Roofline.forSteps(List.of(configs.getFirst().threads())) : null;
                out.println(header(peaks, "in this JVM, before the steps"));
                out.flush();
                report(measure(b, configs.getFirst()), configs.getFirst().precision(), peaks, argv, true, out);
                printProfile(b, configs.getFirst(), out);
                return 0;
            }
        } finally {
            b.close();
        }
        Roofline peaks = cpu ? Roofline.forSteps(configs.stream().map(Config::threads).toList()) : null;
        out.println(header(peaks, "in this JVM, before the steps; each configuration runs in a JVM of its own"));
        for (Config c : configs) {
            Child child = inChild(argv, c, err);
            report(child.line(), c.precision(), peaks, argv, false, out);
            for (String l : child.output()) out.println(l);
            out.flush();
        }
        return 0;
    }

    /** Where the steps' real batches come from. */
    private Bench.Data data() {
        if (channels != null && channels != 1 && channels != 3) throw new UserError("--channels must be 1 or 3, got " + channels);
        String ds = dataset != null ? dataset : data != null ? "fashion-mnist" : null;   // resolved to a folder when --data holds pictures
        return new Bench.Data(ds, data == null ? null : data.toString(), channels == null ? 0 : channels);
    }

    /** Times {@code c} on {@code b}. */
    private Bench.Line measure(Backend b, Config c) {
        Preset p = data().preset(Presets.get(c.preset()));
        long flops = StepFlops.count(b, p, c.batch());
        // the counting steps' trainers are garbage now, their tensors off the heap until a collection frees them: free them
        // here, and start the kernel's peak-memory mark from what is resident now (not the probe's or the count's peak)
        System.gc();
        Machine.resetPeakResident();
        Bench.Result r = Bench.run(b, p, c.batch(), steps(p), warmup, data());
        // the steps' peak, read before the profile builds a trainer of its own
        long rss = Machine.peakResidentBytes();
        return new Bench.Line(r, c.threads(), flops / 1e9, rss);
    }

    /** With --profile, the per-op table of {@code c}'s steps. */
    private void printProfile(Backend b, Config c, PrintWriter out) {
        if (!profile) return;
        Preset p = data().preset(Presets.get(c.preset()));
        out.print(Bench.profile(b, p, c.batch(), steps(p), warmup));
        out.flush();
    }

    private int steps(Preset p) { return steps != null ? steps : Bench.defaultSteps(p); }

    /** Prints the line, with its precision after it where that is not fp32 (and appends it to --results). */
    private void report(Bench.Line line, Precision precision, Roofline peaks, List<String> argv, boolean here, PrintWriter out) {
        double peak = peaks == null ? Double.NaN : peaks.fmaGflopPerS(line.threads());
        out.println(line.text(peak) + (precision == Precision.FP32 ? "" : "\t" + precision));
        out.flush();
        if (results == null) return;
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("time", Instant.now().toString());
        Map<String, Object> machine = Machine.cpu();
        if (peaks != null) machine.put("float_lanes", peaks.lanes());
        j.put("machine", machine);
        j.put("commit", Machine.commit(codeDirectory()));
        j.put("command", command(argv));
        j.put("device", common.device);
        j.put("precision", precision.id());
        j.putAll(result(line));
        j.put("img_per_s", line.result().imagesPerSecond());
        j.put("gflop_per_s", line.gflopPerS());
        j.put("percent_of_peak", Double.isNaN(peak) ? null : line.percentOf(peak));
        j.put("own_jvm", !here);
        if (peaks != null) {
            Map<String, Object> pk = new LinkedHashMap<>();
            Map<String, Object> fma = new LinkedHashMap<>();
            peaks.fmaByThreads().forEach((t, g) -> fma.put(Integer.toString(t), g));
            pk.put("fma_gflop_per_s_by_threads", fma);
            pk.put("fma_method", peaks.fmaMethod());
            pk.put("triad_gb_per_s", peaks.triadGbPerS());
            pk.put("triad_method", peaks.triadMethod());
            pk.put("measured", "in this run, before the steps");
            j.put("peak", pk);
        }
        try {
            Files.writeString(results, Json.MAPPER.writeValueAsString(j) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UserError("--results: cannot append to " + results + ": " + e.getMessage());
        }
    }

    /** What a child sends back, and the results file's measurement fields. */
    static Map<String, Object> result(Bench.Line l) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("preset", l.result().preset());
        m.put("batch", l.result().batch());
        m.put("threads", l.threads());
        m.put("ms_per_step", l.result().msPerStep());
        m.put("data_ms_per_step", l.result().dataMsPerStep());
        m.put("gflop_per_step", l.gflopPerStep());
        m.put("peak_rss_bytes", l.peakRssBytes());
        return m;
    }

    static String json(Map<String, Object> m) {
        try {
            return Json.MAPPER.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a bench result: " + e.getMessage(), e);
        }
    }

    /** The child's result line back into a line. */
    static Bench.Line parseResult(String json) {
        try {
            JsonNode j = Json.MAPPER.readTree(json);
            return new Bench.Line(new Bench.Result(j.get("preset").asText(), j.get("batch").asInt(), j.get("ms_per_step").asDouble(),
                    j.get("data_ms_per_step").asDouble()),
                    j.get("threads").asInt(), j.get("gflop_per_step").asDouble(), j.get("peak_rss_bytes").asLong());
        } catch (JsonProcessingException | NullPointerException e) {
            throw new IllegalStateException("a bench child's result line is not what it should be: " + json, e);
        }
    }

    /** A child's result and the rest of its stdout (a --profile table), to print after the result. */
    private record Child(Bench.Line line, List<String> output) {}

    /**
     * Runs {@code c} in a JVM of its own: this command's arguments with the swept options replaced
     * by {@code c}'s. Its stderr is passed through; a failure is its one line, with the
     * configuration, and its exit code.
     */
    private static Child inChild(List<String> argv, Config c, PrintWriter err) {
        List<String> args = new ArrayList<>(List.of("bench"));
        args.addAll(withoutSwept(argv));
        args.addAll(c.options());
        args.add("--one-configuration");
        try {
            Process p = new ProcessBuilder(ChildJvm.command(args)).start();
            p.getOutputStream().close();
            List<String> errLines = new ArrayList<>();
            Thread errReader = Thread.ofVirtual().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                    for (String l; (l = r.readLine()) != null; ) synchronized (errLines) { errLines.add(l); }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            Bench.Line line = null;
            List<String> output = new ArrayList<>();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; )
                    if (l.startsWith(RESULT_MARKER)) line = parseResult(l.substring(RESULT_MARKER.length()));
                    else output.add(l);
            }
            int code = p.waitFor();
            errReader.join();
            // the JVM's incubator notice is no news; the device line (auto's choice) was printed by this JVM already
            List<String> said = errLines.stream().filter(l -> !l.startsWith("WARNING: Using incubator modules")).toList();
            if (code != 0 || line == null) {
                String why = said.isEmpty() ? "no message" : said.getLast().replaceFirst("^gan: ", "");
                throw new UserError("bench of " + c + " failed in its own JVM (exit " + code + "): " + why, code == 0 ? 1 : code, null);
            }
            for (String l : said) if (!l.startsWith("device auto: ")) err.println(l);
            return new Child(line, output);
        } catch (IOException e) {
            throw new UserError("cannot start a JVM for " + c + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserError("interrupted while " + c + " ran");
        }
    }

    /** {@code args} less the swept options and their values ({@code --batch 16,64} and {@code --batch=16,64} alike). */
    static List<String> withoutSwept(List<String> args) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (SWEPT.contains(a)) i++;
            else if (a.contains("=") && SWEPT.contains(a.substring(0, a.indexOf('=')))) continue;
            else out.add(a);
        }
        return out;
    }

    /** The header: the CPU and the peaks measured now, and where the configurations run. */
    static String header(Roofline peaks, String where) {
        String cpu = Machine.cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " cores";
        if (peaks == null)
            return "machine: " + cpu + "; peak: not measured (not a CPU backend: `gan kernels bench --device cuda` measures a GPU's roofline)";
        return String.format(java.util.Locale.ROOT, "machine: %s, %d-bit vectors (%d float lanes); peak measured now (%s): FMA %s (%s); "
                        + "memory triad %.1f GB/s (%s)",
                cpu, peaks.lanes() * 32, peaks.lanes(), where, peaks.fmaPeaks(), peaks.fmaMethod(), peaks.triadGbPerS(), peaks.triadMethod());
    }

    /** This command's arguments after {@code bench}, as typed. */
    private List<String> benchArgs() {
        List<String> all = spec.commandLine().getParseResult().originalArgs();
        int at = all.indexOf(spec.name());
        return List.copyOf(all.subList(at + 1, all.size()));
    }

    /** {@code gan bench} and the arguments, quoted where needed. */
    static String command(List<String> argv) {
        StringBuilder b = new StringBuilder("gan bench");
        for (String a : argv) b.append(' ').append(a.matches("[A-Za-z0-9_./:=,+-]+") ? a : "'" + a.replace("'", "'\\''") + "'");
        return b.toString();
    }

    /** Where the engine's classes are (java/target/classes, or the jar's folder): its checkout's commit is the results' commit. */
    private static Path codeDirectory() {
        try {
            Path p = Path.of(BenchCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return Files.isDirectory(p) ? p : p.getParent();
        } catch (URISyntaxException | RuntimeException e) {
            return Path.of(".");
        }
    }

    private static <T> List<T> distinct(List<T> xs) { return List.copyOf(new LinkedHashSet<>(xs)); }
}
