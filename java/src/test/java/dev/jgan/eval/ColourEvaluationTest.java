package dev.jgan.eval;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.data.Dataset;
import dev.jgan.data.U8Images;
import dev.jgan.tensor.Shape;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The evaluation on colour data of any size and class count: the classifier's size, the per-class hold-out, coverage against the data. */
class ColourEvaluationTest {
    /** Image i of class k (0 red, 1 green, 2 blue): its class's channel bright in a square whose place moves with i, the rest dark, noisy. */
    private static U8Images rgb(int n, int side, int[] classOf) {
        int plane = side * side;
        byte[] px = new byte[n * 3 * plane];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            int k = classOf[i];
            labels[i] = k;
            int x0 = (i * 7) % (side / 2), y0 = (i * 11) % (side / 2);
            for (int ch = 0; ch < 3; ch++)
                for (int y = 0; y < side; y++)
                    for (int x = 0; x < side; x++) {
                        boolean on = ch == k && x >= x0 && x < x0 + side / 2 && y >= y0 && y < y0 + side / 2;
                        px[i * 3 * plane + ch * plane + y * side + x] = (byte) (on ? 200 + (i + x) % 50 : (i + 3 * x + y) % 40);
                    }
        }
        return U8Images.of("rgb", px, labels, List.of("red", "green", "blue"), n, 3, side, side);
    }

    @Test
    void theNetworkIsSizedForTheItemAndTheFashionMnistOneIsAsItWas() {
        assertEquals("conv3x3 1-16 relu maxpool2, conv3x3 16-32 relu maxpool2, dense 1568-128 relu, dense 128-10", Classifier.ARCHITECTURE,
                "the cached Fashion-MNIST classifiers stay valid");
        assertEquals("conv3x3 3-16 relu maxpool2, conv3x3 16-32 relu maxpool2, dense 2048-128 relu, dense 128-10 (input 3x32x32)",
                Classifier.architecture(Shape.of(3, 32, 32), 10));
        assertEquals("conv3x3 3-16 relu maxpool2, conv3x3 16-32 relu maxpool2, conv3x3 32-64 relu maxpool2, dense 4096-128 relu, "
                + "dense 128-10 (input 3x64x64)", Classifier.architecture(Shape.of(3, 64, 64), 10));
        Backend b = TestBackends.cpu();
        for (Shape item : List.of(Shape.of(1, 28, 28), Shape.of(3, 28, 28), Shape.of(3, 32, 32), Shape.of(1, 64, 64), Shape.of(3, 64, 64))) {
            Classifier c = new Classifier(b, 1, item, 4);
            Classifier.Outputs o = c.run(new float[3 * item.intSize()], 3);
            assertEquals(3 * Classifier.FEATURES, o.features().length, item + ": features");
            assertEquals(3 * 4, o.probabilities().length, item + ": 4 class probabilities each");
        }
    }

    /** 25 of one class and 7 of another: every fifth of each held out, 5 and 1, whatever their order. */
    @Test
    void everyFifthOfEachClassIsHeldOut() {
        int[] classes = new int[32];
        for (int i = 0; i < 32; i++) classes[i] = i % 4 == 3 && i < 28 ? 1 : 0;   // 7 of class 1 spread among 25 of class 0
        Dataset d = rgb(32, 4, classes).toDataset();
        Dataset held = Evaluator.everyOfEachClass(d, 5, true), kept = Evaluator.everyOfEachClass(d, 5, false);
        assertEquals(5, Arrays.stream(held.labels()).filter(l -> l == 0).count());
        assertEquals(1, Arrays.stream(held.labels()).filter(l -> l == 1).count());
        assertEquals(32, held.n() + kept.n());
        // the held-out ones are the 5th, 10th, ... of their class: class 1's 5th is image 19 (1-based 5th of 3, 7, 11, 15, 19)
        assertArrayEquals(Arrays.copyOfRange(d.images(), 19 * 48, 20 * 48),
                Arrays.copyOfRange(held.images(), Arrays.asList(Arrays.stream(held.labels()).boxed().toArray()).indexOf(1) * 48,
                        (Arrays.asList(Arrays.stream(held.labels()).boxed().toArray()).indexOf(1) + 1) * 48));
    }

    /** A three-colour dataset without a test split: the classifier learns it, and FID tells its own classes from others. */
    @Test
    void aColourDatasetIsLearnedAndMeasured(@TempDir Path cache) {
        int n = 400;
        int[] classes = new int[n];
        for (int i = 0; i < n; i++) classes[i] = i % 10 < 6 ? 0 : i % 10 < 9 ? 1 : 2;   // skewed: 60% red, 30% green, 10% blue
        Evaluator.Splits s = Evaluator.Splits.of("rgb", rgb(n, 32, classes), null);
        assertEquals(3, s.classes());
        assertEquals(80, s.test().n(), "every fifth of each class");
        assertTrue(s.testSource().startsWith("every 5th image of each class"), s.testSource());
        List<String> log = new ArrayList<>();
        Evaluator e = Evaluator.open(TestBackends.cpu(), s, cache, 10, log::add);   // 30 Adam steps of 100
        assertTrue(e.testAccuracy() > 0.95, "three colours learned: " + e.testAccuracy());
        assertArrayEquals(new double[] {0.6, 0.3, 0.1}, e.dataShares(), 1e-9);

        Evaluator.Result same = e.evaluate(s.test().images(), s.test().n(), 3, 32, 32);
        assertTrue(same.fid() < 1e-6 * 1000, "the test split against itself: FID ~0, got " + same.fid());
        assertTrue(same.coverage().klFromData() < 0.05, "the data's own class shares: KL from the data ~0, got " + same.coverage().klFromData());
        assertTrue(same.coverage().klFromUniform() > 0.2, "yet far from uniform: " + same.coverage().klFromUniform());   // KL(0.6,0.3,0.1 || 1/3) = 0.20
        assertEquals(3, same.coverage().classesCovered());

        int[] allBlue = new int[100];
        Arrays.fill(allBlue, 2);
        Dataset blue = rgb(100, 32, allBlue).toDataset();
        Evaluator.Result other = e.evaluate(blue.images(), blue.n(), 3, 32, 32);
        assertTrue(other.fid() > 10 * Math.max(same.fid(), 1e-3), "one class only: FID " + other.fid() + " vs " + same.fid());
        assertEquals(1, other.coverage().classesCovered());
        Dataset big = dev.jgan.data.Resize.bilinear(blue, 64, 64);
        assertEquals(1, e.evaluate(big.images(), big.n(), 3, 64, 64).coverage().classesCovered(), "64x64 images are resized to 32x32");
        assertThrows(UserError.class, () -> e.evaluate(new float[2 * 1024], 2, 1, 32, 32), "gray images for a colour classifier");
    }

    @Test
    void coverageIsMeasuredAgainstTheDatasClassShares() {
        double[] data = {0.6, 0.3, 0.1};
        Coverage matching = Coverage.of(new int[] {60, 30, 10}, 0.9, data);
        assertEquals(0, matching.klFromData(), 1e-12);
        assertEquals(0.6 * Math.log(1.8) + 0.3 * Math.log(0.9) + 0.1 * Math.log(0.3), matching.klFromUniform(), 1e-12);
        assertEquals(3, matching.classesCovered());
        Coverage rareMissing = Coverage.of(new int[] {70, 29, 1}, 0.9, data);
        assertEquals(2, rareMissing.classesCovered(), "1% of a class that is 10% of the data is under a fifth of its share");
        assertEquals(3, Coverage.of(new int[] {70, 28, 2}, 0.9, data).classesCovered(), "2% is exactly a fifth: covered");
    }

    @Test
    void anUnlabelledFolderCannotBeMeasured() {
        U8Images u = U8Images.of("pictures", new byte[50 * 3], null, null, 50, 3, 1, 1);
        UserError e = assertThrows(UserError.class, () -> Evaluator.Splits.of("folder pictures", u, null));
        assertEquals("FID and class coverage need labels, and folder pictures has none: put the pictures in one sub-folder per class "
                + "(--data DIR/CLASS/*.png), or evaluate against a labelled dataset with --dataset (and --data)", e.getMessage());
    }

    @Test
    void theCacheKeyDiffersWithTheItemAndTheClasses() {
        String a = Evaluator.Recipe.of("c", Classifier.architecture(Shape.of(3, 32, 32), 10), 3).key();
        assertNotEquals(a, Evaluator.Recipe.of("c", Classifier.architecture(Shape.of(1, 32, 32), 10), 3).key());
        assertNotEquals(a, Evaluator.Recipe.of("c", Classifier.architecture(Shape.of(3, 64, 64), 10), 3).key());
        assertNotEquals(a, Evaluator.Recipe.of("c", Classifier.architecture(Shape.of(3, 32, 32), 9), 3).key());
        assertNotEquals(Classifier.architecture(Shape.of(3, 28, 28), 10), Classifier.ARCHITECTURE);
    }
}
