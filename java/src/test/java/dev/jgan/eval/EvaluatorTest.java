package dev.jgan.eval;

import dev.jgan.backend.Backend;
import dev.jgan.data.Dataset;
import dev.jgan.data.Datasets;
import dev.jgan.gan.TinyData;
import dev.jgan.io.Safetensors;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.jgan.data.Resize;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The classifier and the evaluator end to end on a test-sized dataset (TinyData: ten kinds of
 * bars, 800 training and 200 test images): training reaches its bar, the cache is written and
 * reused, coverage of a one-class set is 1 class, and FID ranks real images far below one class.
 */
class EvaluatorTest {
    /** Ten bar positions are linearly separable: two passes of 8 batches must get all 200 test images right but two. */
    static final double TINY_ACCURACY = 0.99;
    static final int EPOCHS = 2;

    @TempDir static Path tmp;
    static Path data, cache;
    static Evaluator evaluator;
    static List<String> log = new ArrayList<>();

    @BeforeAll
    static void train() {
        data = TinyData.writeSplits(tmp.resolve("data"), 800, 200);
        cache = tmp.resolve("cache");
        Evaluator.Splits s = Evaluator.splits("fashion-mnist", data);
        evaluator = Evaluator.open(TestBackends.cpu(), s, cache, EPOCHS, log::add);
    }

    @Test
    void reachesItsAccuracyBarAndCachesItself() throws Exception {
        assertTrue(evaluator.testAccuracy() >= TINY_ACCURACY, "test accuracy " + evaluator.testAccuracy());
        assertTrue(log.get(0).startsWith("training the evaluation classifier"), log.toString());
        assertTrue(Files.isRegularFile(evaluator.file()), "cached at " + evaluator.file());
        String name = evaluator.file().getFileName().toString();
        assertTrue(name.matches("fashion-mnist-[0-9a-f]{12}\\.safetensors"), name);
        var meta = Safetensors.read(evaluator.file()).metadata();
        assertEquals(Evaluator.FORMAT, meta.get("format"));
        assertEquals("800", meta.get("train_images"));
        assertTrue(evaluator.floor() >= 0 && evaluator.floor() < 5, "train vs test of the same ten kinds: a small floor, " + evaluator.floor());

        List<String> again = new ArrayList<>();
        Evaluator cached = Evaluator.open(TestBackends.cpu(), Evaluator.splits("fashion-mnist", data), cache, EPOCHS, again::add);
        assertTrue(again.isEmpty(), "loaded, not retrained: " + again);
        assertEquals(evaluator.testAccuracy(), cached.testAccuracy());
        Dataset test = Datasets.load("fashion-mnist", Datasets.Split.TEST, data);
        assertEquals(evaluator.evaluate(test.images(), test.n(), 1, 28, 28).fid(), cached.evaluate(test.images(), test.n(), 1, 28, 28).fid(),
                1e-9, "the cached weights give the same features");
    }

    @Test
    void coverageOfOneClassIsOneAndItsFidIsFarAboveTheRealSet() {
        Dataset test = Datasets.load("fashion-mnist", Datasets.Split.TEST, data);
        Evaluator.Result real = evaluator.evaluate(test.images(), test.n(), 1, 28, 28);
        assertEquals(10, real.coverage().classesCovered(), "the real test set covers every class");
        assertTrue(real.coverage().klFromUniform() < 0.01, "and is balanced: KL " + real.coverage().klFromUniform());

        int per = 28 * 28, n = 0;
        float[] one = new float[test.n() * per];
        for (int i = 0; i < test.n(); i++)
            if (test.labels()[i] == 3) System.arraycopy(test.images(), i * per, one, n++ * per, per);
        Evaluator.Result single = evaluator.evaluate(Arrays.copyOf(one, n * per), n, 1, 28, 28);
        assertEquals(1, single.coverage().classesCovered(), "a one-class set covers 1 class");
        assertEquals(Math.log(10), single.coverage().klFromUniform(), 1e-9, "KL(one class || uniform) = ln 10");
        assertEquals(1, single.coverage().histogram()[3] / (double) n, 0, "all predicted as class 3");
        assertTrue(single.fid() > 10 * Math.max(real.fid(), 0.1), "one class " + single.fid() + " vs real " + real.fid());
    }

    /** A 64x64 set (dcgan-64's) is resized to 28x28 before the classifier: the real images, upscaled, still score as real. */
    @Test
    void largerImagesAreResized() {
        Dataset test = Datasets.load("fashion-mnist", Datasets.Split.TEST, data);
        Dataset big = Resize.bilinear(test, 64, 64);
        Evaluator.Result r = evaluator.evaluate(big.images(), big.n(), 1, 64, 64);
        assertEquals(10, r.coverage().classesCovered());
    }

    @Test
    void coverageByHand() {
        Coverage c = Coverage.of(new int[] {50, 50, 0, 0, 0, 0, 0, 0, 0, 0}, 0.9);
        assertEquals(2, c.classesCovered());
        assertEquals(Math.log(5), c.klFromUniform(), 1e-12, "two equal classes of ten: ln(10 * 0.5)");
        Coverage edge = Coverage.of(new int[] {2, 98, 0, 0, 0, 0, 0, 0, 0, 0}, 0.5);
        assertEquals(2, edge.classesCovered(), "exactly 2% counts");
        Coverage below = Coverage.of(new int[] {1, 99, 0, 0, 0, 0, 0, 0, 0, 0}, 0.5);
        assertEquals(1, below.classesCovered(), "1% does not");
    }

    /** A corrupt cache file is replaced, not trusted. */
    @Test
    void unreadableCacheIsRetrained(@TempDir Path other) throws Exception {
        Path dir = other.resolve("cache");
        Files.createDirectories(dir);
        Evaluator.Splits s = Evaluator.splits("fashion-mnist", data);
        Path file = Evaluator.cacheFile(dir, "fashion-mnist", Evaluator.Recipe.of(Evaluator.checksum(s.train()), Classifier.ARCHITECTURE, 1));
        Files.writeString(file, "not a safetensors file");
        List<String> lines = new ArrayList<>();
        Backend b = TestBackends.cpu();
        Evaluator e = Evaluator.open(b, s, dir, 1, lines::add);
        assertEquals(file, e.file());
        assertTrue(lines.get(0).contains("is unreadable"), lines.toString());
        assertTrue(Files.size(e.file()) > 100_000, "rewritten with the weights");
    }

    /** Each ingredient of the recipe changes the cache key, so no cached classifier outlives a change to one. */
    @Test
    void cacheKeyCoversTheWholeRecipe() {
        Evaluator.Recipe r = Evaluator.Recipe.of("0123456789ab", Classifier.ARCHITECTURE, 3);
        assertEquals(r.key(), Evaluator.Recipe.of("0123456789ab", Classifier.ARCHITECTURE, 3).key(), "the same recipe, the same key");
        assertTrue(r.key().matches("[0-9a-f]{12}"), r.key());
        List<Evaluator.Recipe> changed = List.of(
                new Evaluator.Recipe("0123456789ac", r.architecture(), r.epochs(), r.lr(), r.lastEpochLr(), r.beta1(), r.beta2(), r.batch(), r.seed(), r.trainingVersion()),
                new Evaluator.Recipe(r.checksum(), r.architecture() + " ", r.epochs(), r.lr(), r.lastEpochLr(), r.beta1(), r.beta2(), r.batch(), r.seed(), r.trainingVersion()),
                new Evaluator.Recipe(r.checksum(), r.architecture(), 4, r.lr(), r.lastEpochLr(), r.beta1(), r.beta2(), r.batch(), r.seed(), r.trainingVersion()),
                new Evaluator.Recipe(r.checksum(), r.architecture(), r.epochs(), 2e-3f, r.lastEpochLr(), r.beta1(), r.beta2(), r.batch(), r.seed(), r.trainingVersion()),
                new Evaluator.Recipe(r.checksum(), r.architecture(), r.epochs(), r.lr(), 2e-4f, r.beta1(), r.beta2(), r.batch(), r.seed(), r.trainingVersion()),
                new Evaluator.Recipe(r.checksum(), r.architecture(), r.epochs(), r.lr(), r.lastEpochLr(), 0.5f, r.beta2(), r.batch(), r.seed(), r.trainingVersion()),
                new Evaluator.Recipe(r.checksum(), r.architecture(), r.epochs(), r.lr(), r.lastEpochLr(), r.beta1(), 0.99f, r.batch(), r.seed(), r.trainingVersion()),
                new Evaluator.Recipe(r.checksum(), r.architecture(), r.epochs(), r.lr(), r.lastEpochLr(), r.beta1(), r.beta2(), 64, r.seed(), r.trainingVersion()),
                new Evaluator.Recipe(r.checksum(), r.architecture(), r.epochs(), r.lr(), r.lastEpochLr(), r.beta1(), r.beta2(), r.batch(), r.seed() + 1, r.trainingVersion()),
                new Evaluator.Recipe(r.checksum(), r.architecture(), r.epochs(), r.lr(), r.lastEpochLr(), r.beta1(), r.beta2(), r.batch(), r.seed(), r.trainingVersion() + 1));
        for (Evaluator.Recipe c : changed) assertTrue(!c.key().equals(r.key()), "same key for " + c + " and " + r);
        assertEquals(changed.size(), changed.stream().map(Evaluator.Recipe::key).distinct().count());
    }

    /** A classifier cached for another number of epochs is not reused: the other recipe trains its own. */
    @Test
    void anotherRecipeTrainsItsOwn() {
        List<String> lines = new ArrayList<>();
        Evaluator other = Evaluator.open(TestBackends.cpu(), Evaluator.splits("fashion-mnist", data), cache, 1, lines::add);
        assertTrue(!lines.isEmpty() && lines.get(0).startsWith("training the evaluation classifier"), lines.toString());
        assertTrue(!other.file().equals(evaluator.file()), "its own file: " + other.file());
    }
}
