package dev.jgan.cli;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.eval.Evaluator;
import dev.jgan.gan.Checkpoints;
import dev.jgan.gan.GanModel;
import dev.jgan.gan.Generation;
import dev.jgan.gan.Preset;
import dev.jgan.io.Json;
import dev.jgan.io.RunReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Measure a checkpoint's generator: FID against the dataset's test split and class coverage, both on the",
                "features of jgan's evaluation classifier (trained on the training split the first time, then cached).",
                "A class-conditional checkpoint makes every class in turn, and is also measured by each class: the share of the",
                "images made for it that the classifier puts in it, and their FID against that class's test images.",
                "Prints the numbers and writes them as JSON beside the checkpoint (or to --out)."})
final class EvalCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;

    @Option(names = "--checkpoint", required = true, description = "a checkpoints/step-N.safetensors file")
    Path checkpoint;

    @Option(names = "--n", defaultValue = "10000", description = "generated images (default: ${DEFAULT-VALUE})")
    int n;

    @Option(names = "--dataset", description = "fashion-mnist or mnist (default: the run's)")
    String dataset;

    @Option(names = "--data", description = "directory with the IDX files of the training and test splits (default: the run's, or discovery)")
    Path data;

    @Option(names = "--no-ema", description = "use the live generator even when the checkpoint holds an EMA of it")
    boolean noEma;

    @Option(names = "--seed", defaultValue = "0", description = "noise seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--out", description = "JSON file to write (default: the checkpoint's name with .eval.json)")
    Path out;

    @Override public Integer call() {
        if (n < 2) throw new UserError("--n must be at least 2 (FID needs a covariance), got " + n);
        Checkpoints.Loaded ck = Checkpoints.read(checkpoint);
        Preset p = ck.config().model();   // with the channels it was trained on
        if (!p.kind().images()) throw new UserError("the ring toy makes 2-D points, not images: its quality is the modes_covered of metrics.jsonl");
        String ds = dataset != null ? dataset : ck.config().dataset();
        Path dir = data != null ? data : dataset == null && ck.config().dataDir() != null ? Path.of(ck.config().dataDir()) : null;
        boolean ema = ck.hasEma() && !noEma;
        PrintWriter o = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Path json = out != null ? out : checkpoint.resolveSibling(checkpoint.getFileName().toString().replaceFirst("\\.safetensors$", "") + ".eval.json");
        try (Backend b = common.backend(err)) {
            Evaluator ev = Evaluator.open(b, ds, dir, p.item().dim(1), p.item().dim(0), ck.config().background(), err::println);
            long start = System.nanoTime();
            int[] asked = p.conditional() ? GanModel.balanced(n, p.classes(), 0) : null;   // every class in turn
            if (p.conditional() && p.classes() != ev.classifier().classes())
                throw new UserError("the checkpoint makes " + p.classes() + " classes; " + ds + "'s classifier knows " + ev.classifier().classes());
            float[] images = Generation.generate(b, ck, n, seed, !noEma, asked);
            var item = p.item();
            Evaluator.ConditionalResult cr = asked == null ? null
                    : ev.evaluateClasses(images, n, item.dim(0), item.dim(1), item.dim(2), asked);
            Evaluator.Result r = cr != null ? cr.all() : ev.evaluate(images, n, item.dim(0), item.dim(1), item.dim(2));
            double seconds = (System.nanoTime() - start) / 1e9;
            o.printf(Locale.ROOT, "classifier: %s, test accuracy %.2f%% (%s)%n", ds, 100 * ev.testAccuracy(), ev.testSource());
            o.printf(Locale.ROOT, "FID %.3f (%d images of the %s generator vs the test split); floor: FID of the training split vs the test split %.3f%n",
                    r.fid(), n, ema ? "EMA" : "live", ev.floor());
            int k = r.coverage().histogram().length;
            o.printf(Locale.ROOT, "coverage: %d of %d classes hold >= a fifth of their share of the data; KL from the data's classes %.4f, "
                            + "from uniform %.4f; mean max-softmax confidence %.4f%n",
                    r.coverage().classesCovered(), k, r.coverage().klFromData(), r.coverage().klFromUniform(), r.coverage().meanConfidence());
            o.println("histogram: " + histogram(r.coverage().histogram(), ev.classNames(), ev.dataShares()));
            if (cr != null) {
                o.printf(Locale.ROOT, "asked for each class (%d images each): classified as that class %.1f%% at worst, %.1f%% on average%n",
                        n / p.classes(), 100 * cr.minAccuracy(), 100 * cr.meanAccuracy());
                for (Evaluator.ClassResult c : cr.classes())
                    o.printf(Locale.ROOT, "  class %d%s: %.1f%% classified as asked, FID %.3f against its test images%n", c.asked(),
                            ev.classNames().isEmpty() ? "" : " (" + ev.classNames().get(c.asked()) + ")", 100 * c.accuracy(), c.fid());
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("checkpoint", checkpoint.toString());
            m.put("preset", ck.preset());
            m.put("step", ck.step());
            m.put("generator", ema ? "ema" : "live");
            m.put("seed", seed);
            m.putAll(cr != null ? ev.json(cr) : ev.json(r));
            m.put("seconds", Math.round(seconds * 10) / 10.0);
            Json.writePretty(json, m);
        }
        o.println("wrote " + json);
        Path run = checkpoint.toAbsolutePath().getParent() == null ? null : checkpoint.toAbsolutePath().getParent().getParent();
        if (run != null && out == null && Files.isRegularFile(run.resolve("config.json")))   // its run's report shows the newest evaluation
            o.println("updated " + RunReport.write(run));
        return 0;
    }

    /** Each class's count, with its name and its share of the data where they are known: "Flags 31 (7.1%)". */
    static String histogram(int[] h, List<String> names, double[] data) {
        if (names.isEmpty()) return Arrays.stream(h).mapToObj(Integer::toString).collect(Collectors.joining(" "));
        StringBuilder b = new StringBuilder();
        for (int c = 0; c < h.length; c++)
            b.append(c == 0 ? "" : ", ").append(names.get(c)).append(' ').append(h[c]).append(String.format(Locale.ROOT, " (data %.1f%%)", 100 * data[c]));
        return b.toString();
    }
}
