package dev.jgan.cli;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.data.Dataset;
import dev.jgan.data.Resize;
import dev.jgan.eval.Evaluator;
import dev.jgan.eval.Fid;
import dev.jgan.eval.OnnxFeatures;
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

    @Mixin CheckpointOptions source;

    @Option(names = "--n", defaultValue = "10000", description = "generated images (default: ${DEFAULT-VALUE})")
    int n;

    @Option(names = "--dataset", description = "fashion-mnist or mnist (default: the run's)")
    String dataset;

    @Option(names = "--data", description = "directory with the IDX files of the training and test splits (default: the run's, or discovery)")
    Path data;

    @Option(names = "--seed", defaultValue = "0", description = "noise seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--out", description = "JSON file to write (default: the checkpoint's name with .eval.json)")
    Path out;

    @Option(names = "--features", paramLabel = "MODEL.onnx", description = "also the FID on the features of this ONNX network (an "
            + "Inception-v3 export gives the literature's FID), run by ONNX Runtime on the generated images and the test split; the "
            + "preparation is the flags below, and the protocol is printed and stored with the number")
    Path features;

    @Option(names = "--features-range", defaultValue = "01", paramLabel = "01|pm1|255",
            description = "the pixel range the network reads, before normalisation (default: ${DEFAULT-VALUE})")
    String featuresRange;

    @Option(names = "--features-resize", defaultValue = "bilinear", paramLabel = "bilinear|nearest",
            description = "how images are resized to the network's input size (default: ${DEFAULT-VALUE})")
    String featuresResize;

    @Option(names = "--features-size", paramLabel = "S", description = "the network's input size S x S when its input has a free size (299 for Inception-v3)")
    Integer featuresSize;

    @Option(names = "--features-mean", split = ",", defaultValue = "0", paramLabel = "M",
            description = "per-channel mean subtracted after the range (one, or one per channel; torchvision's Inception: 0.485,0.456,0.406)")
    float[] featuresMean;

    @Option(names = "--features-std", split = ",", defaultValue = "1", paramLabel = "S",
            description = "per-channel std divided by after the mean (torchvision's Inception: 0.229,0.224,0.225)")
    float[] featuresStd;

    @Option(names = "--features-output", paramLabel = "NAME", description = "the output whose values are the features (default: the network's first)")
    String featuresOutput;

    @Override public Integer call() {
        if (n < 2) throw new UserError("--n must be at least 2 (FID needs a covariance), got " + n);
        Checkpoints.Loaded ck = source.read();
        Preset p = ck.config().model();   // with the channels it was trained on
        if (!p.kind().images()) throw new UserError("the ring toy makes 2-D points, not images: its quality is the modes_covered of metrics.jsonl");
        String ds = dataset != null ? dataset : ck.config().dataset();
        Path dir = data != null ? data : dataset == null && ck.config().dataDir() != null ? Path.of(ck.config().dataDir()) : null;
        boolean ema = ck.hasEma() && source.ema();
        PrintWriter o = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Path json = out != null ? out : source.evalJson();
        try (Backend b = common.backend(err)) {
            Evaluator ev = Evaluator.open(b, ds, dir, p.item().dim(1), p.item().dim(0), ck.config().background(), err::println);
            long start = System.nanoTime();
            int[] asked = p.conditional() ? GanModel.balanced(n, p.classes(), 0) : null;   // every class in turn
            if (p.conditional() && p.classes() != ev.classifier().classes())
                throw new UserError("the checkpoint makes " + p.classes() + " classes; " + ds + "'s classifier knows " + ev.classifier().classes());
            float[] images = Generation.generate(b, ck, n, seed, source.ema(), asked);
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
            Map<String, Object> featureJson = features == null ? null : featureFid(o, ev, images, n, item.dim(0), item.dim(1), item.dim(2), ema, ds);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("checkpoint", source.checkpoint.toString());
            m.put("preset", ck.preset());
            m.put("step", ck.step());
            m.put("generator", ema ? "ema" : "live");
            m.put("seed", seed);
            m.putAll(cr != null ? ev.json(cr) : ev.json(r));
            if (featureJson != null) m.putAll(featureJson);
            m.put("seconds", Math.round(seconds * 10) / 10.0);
            Json.writePretty(json, m);
        }
        o.println("wrote " + json);
        Path run = source.checkpoint.toAbsolutePath().getParent() == null ? null : source.checkpoint.toAbsolutePath().getParent().getParent();
        if (run != null && out == null && Files.isRegularFile(run.resolve("config.json")))   // its run's report shows the newest evaluation
            o.println("updated " + RunReport.write(run));
        return 0;
    }

    /**
     * The FID on the features of the --features network: n generated images against the whole
     * test split, each prepared as the flags say (generated images of another size than the
     * data's are first resized to it, bilinear, so both sides take the same path); prints the
     * number and its protocol line, returns their JSON.
     */
    private Map<String, Object> featureFid(PrintWriter o, Evaluator ev, float[] images, int n, int c, int h, int w, boolean ema, String ds) {
        OnnxFeatures.Options fo = new OnnxFeatures.Options(OnnxFeatures.Range.of(featuresRange), featuresResize, featuresMean, featuresStd,
                featuresOutput, featuresSize == null ? 0 : featuresSize);
        Dataset test = ev.testSet();
        String toData = "";
        if (h != test.h() || w != test.w()) {
            images = Resize.bilinear(new Dataset("generated", images, null, n, c, h, w), test.h(), test.w()).images();
            toData = String.format(Locale.ROOT, "generated %dx%d resized to the data's %dx%d (bilinear) first; ", h, w, test.h(), test.w());
        }
        try (OnnxFeatures f = OnnxFeatures.open(features, fo, common.threads())) {
            long start = System.nanoTime();
            float[] real = f.features(test.images(), test.n(), test.c(), test.h(), test.w());
            float[] fake = f.features(images, n, test.c(), test.h(), test.w());
            int d = f.dims();
            double fid = Fid.distance(Fid.stats(fake, n, d), Fid.stats(real, test.n(), d));
            String samples = String.format(Locale.ROOT, "%d generated (%s generator, seed %d) vs %d real (%s %s)", n, ema ? "EMA" : "live", seed,
                    test.n(), ds, ev.testSource());
            o.printf(Locale.ROOT, "FID %.3f on the features of %s (%s; %.0f s)%n", fid, features.getFileName(), samples,
                    (System.nanoTime() - start) / 1e9);
            o.println("protocol: " + toData + f.protocol().line(test.c(), test.h(), test.w()) + "; " + samples);
            Map<String, Object> p = new LinkedHashMap<>(f.protocol().json());
            p.put("model_path", features.toAbsolutePath().toString());
            p.put("generated_n", n);
            p.put("generated_resized_to_data", !toData.isEmpty());
            p.put("real_n", test.n());
            p.put("real_split", ev.testSource());
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("features_fid", fid);
            m.put("features_protocol", p);
            return m;
        }
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
