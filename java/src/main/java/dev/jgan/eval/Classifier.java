package dev.jgan.eval;

import dev.jgan.backend.Backend;
import dev.jgan.data.Batches;
import dev.jgan.data.Dataset;
import dev.jgan.nn.Activation.ReLU;
import dev.jgan.nn.Conv2d;
import dev.jgan.nn.Dense;
import dev.jgan.nn.Flatten;
import dev.jgan.nn.GradMode;
import dev.jgan.nn.Init;
import dev.jgan.nn.Layer;
import dev.jgan.nn.MaxPool2d;
import dev.jgan.nn.Parameter;
import dev.jgan.nn.Sequential;
import dev.jgan.optim.Adam;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The evaluation classifier: a LeNet-style network, trained by jgan itself with softmax
 * cross-entropy, and run on any backend like every model. For 28x28 one-channel images with 10
 * classes (Fashion-MNIST, MNIST) it is:
 *
 * <pre>
 * features: Conv 1 -> 16 (3x3, pad 1), ReLU, MaxPool 2x2      (N, 16, 14, 14)
 *           Conv 16 -> 32 (3x3, pad 1), ReLU, MaxPool 2x2     (N, 32, 7, 7)
 *           Flatten, Dense 1568 -> 128, ReLU                   (N, 128)  the FID features
 * head:     Dense 128 -> 10                                    (N, 10)   logits
 * </pre>
 *
 * For other data it is sized from the item (C, H, W) and the K classes: the first convolution
 * takes C channels, and 3x3 convolution + ReLU + 2x2 max-pool stages (16, 32, 64, ... channels)
 * follow one another until the map is at most 8 pixels high (28: 2 stages to 7x7; 32: 2 to 8x8;
 * 64: 3 to 8x8), then Dense to the same {@value #FEATURES} features and Dense 128 -> K.
 * {@link #architecture()} spells it out; it keys the cache.
 *
 * <p>3x3 kernels rather than LeNet's 5x5: oneDNN's weight gradient of the 5x5 convolution of one
 * input channel took 1.7 s per batch of 100 with 2 threads on the shared 2-core machine (3x3:
 * 7 ms), and 3x3 reaches the accuracy bar.
 * Glorot-uniform weights, Adam 1e-3 (betas 0.9, 0.999) and 1e-4 for the last epoch (the usual
 * step decay: +2 points of test accuracy here), batch {@value #BATCH}, the training split
 * shuffled per epoch by {@link Batches}. The network is built for one batch size; inputs of any
 * count are run in chunks, the last one padded.
 */
public final class Classifier {
    public static final int CLASSES = 10, FEATURES = 128, BATCH = 100;
    /** The item and classes of Fashion-MNIST and MNIST, which the no-argument sizes are. */
    public static final Shape ITEM = Shape.of(1, 28, 28);
    /** Feature maps at most this high before the dense layers. */
    static final int MAX_MAP = 8;
    /** Stored with the weights: a cached classifier of another architecture is retrained. This is the 1x28x28, 10-class one. */
    public static final String ARCHITECTURE = architecture(ITEM, CLASSES);
    /** Adam's settings; with the architecture, the epochs, the batch and the seed they key the cache (Evaluator.Recipe). */
    static final float LR = 1e-3f, LAST_EPOCH_LR = 1e-4f, BETA1 = 0.9f, BETA2 = 0.999f, ADAM_EPS = 1e-8f;

    private final Backend b;
    private final Shape item;
    private final int classes;
    private final Sequential features, head;
    private final Tensor x, labels, dLogits, stats, probabilities;
    private final float[] xHost, labelsHost = new float[BATCH];

    /** The Fashion-MNIST/MNIST classifier: 1x28x28, 10 classes. */
    public Classifier(Backend b, long seed) {
        this(b, seed, ITEM, CLASSES);
    }

    /** A classifier for items {@code item} (C, H, W) of {@code classes} classes. */
    public Classifier(Backend b, long seed, Shape item, int classes) {
        if (item.rank() != 3 || classes < 2) throw new IllegalArgumentException("a classifier of (C, H, W) images into >= 2 classes, not " + item + " into " + classes);
        this.b = b;
        this.item = item;
        this.classes = classes;
        this.xHost = new float[BATCH * item.intSize()];
        RngStream init = new RngStream(seed, 0);
        this.features = new Sequential("features", featureLayers(item)).build(b, item.batched(BATCH), Init.GLOROT_UNIFORM, init);
        this.head = new Sequential("head", List.<Layer>of(new Dense(FEATURES, classes)))
                .build(b, features.outShape(), Init.GLOROT_UNIFORM, init);
        this.x = b.allocate(item.batched(BATCH));
        this.labels = b.allocate(Shape.of(BATCH));
        this.dLogits = b.allocate(head.outShape());
        this.probabilities = b.allocate(head.outShape());
        this.stats = b.allocate(Shape.of(2));
    }

    /** Convolution stages to reach a map at most {@value #MAX_MAP} high: 2 at least (28 -> 7), 3 for 64. */
    static int stages(Shape item) {
        int n = 0;
        for (int h = item.dim(1); h > MAX_MAP || n < 2; h /= 2) n++;
        return n;
    }

    private static List<Layer> featureLayers(Shape item) {
        List<Layer> l = new ArrayList<>();
        int in = item.dim(0), h = item.dim(1), w = item.dim(2), width = 16;
        for (int s = 0; s < stages(item); s++, width *= 2) {
            l.addAll(List.of(new Conv2d(in, width, 3, 1, 1, true), new ReLU(), new MaxPool2d()));
            in = width;
            h /= 2;
            w /= 2;
        }
        l.addAll(List.of(new Flatten(), new Dense(in * h * w, FEATURES), new ReLU()));
        return l;
    }

    /** The network in words, as stored with its weights: for 1x28x28 and 10 classes, {@link #ARCHITECTURE}. */
    static String architecture(Shape item, int classes) {
        StringBuilder a = new StringBuilder();
        int in = item.dim(0), h = item.dim(1), w = item.dim(2), width = 16;
        for (int s = 0; s < stages(item); s++, width *= 2) {
            a.append("conv3x3 ").append(in).append('-').append(width).append(" relu maxpool2, ");
            in = width;
            h /= 2;
            w /= 2;
        }
        a.append("dense ").append(in * h * w).append('-').append(FEATURES).append(" relu, dense ").append(FEATURES).append('-').append(classes);
        return item.equals(ITEM) ? a.toString() : a + " (input " + item.dim(0) + "x" + item.dim(1) + "x" + item.dim(2) + ")";
    }

    public String architecture() { return architecture(item, classes); }

    public Shape item() { return item; }

    public int classes() { return classes; }

    /** The result of training: accuracy on the test set and the time it took. */
    public record Training(int epochs, double trainAccuracy, double seconds) {}

    /** Trains for {@code epochs} passes over {@code train} (which needs labels). */
    public Training train(Dataset train, int epochs, long seed, Consumer<String> log) {
        checkItems(train);
        if (train.labels() == null) throw new IllegalArgumentException("the classifier trains on labelled images; " + train + " has none");
        long start = System.nanoTime();
        Adam adam = new Adam(b, parameters(), LR, BETA1, BETA2, ADAM_EPS, 0f);
        Batches batches = new Batches(train, BATCH, seed);
        int[] lb = new int[BATCH];
        float[] s = new float[2];
        double correct = 0;
        int counted = 0;
        for (int e = 0; e < epochs; e++) {
            if (e == epochs - 1 && epochs > 1) adam = decayed(adam);
            correct = 0;
            counted = 0;
            for (int i = 0; i < batches.batchesPerEpoch(); i++) {
                batches.fill(e, i, xHost, lb);
                for (int j = 0; j < BATCH; j++) labelsHost[j] = lb[j];
                b.copyFromHost(xHost, x);
                b.copyFromHost(labelsHost, labels);
                Tensor logits = head.forward(features.forward(x, true), true);
                b.softmaxCrossEntropy(logits, labels, 1f, dLogits, stats, 0);
                Tensor dFeatures = head.backward(dLogits, GradMode.WRITE, true);
                features.backward(dFeatures, GradMode.WRITE, false);
                adam.step();
                if (i % 50 == 0) {   // a running training accuracy, without a host copy every step
                    b.toHost(stats, s);
                    correct += s[1];
                    counted++;
                }
            }
            log.accept(String.format("classifier: epoch %d of %d, training accuracy ~%.1f%% (%.0f s)", e + 1, epochs,
                    100 * correct / counted, (System.nanoTime() - start) / 1e9));
        }
        return new Training(epochs, correct / counted, (System.nanoTime() - start) / 1e9);
    }

    /** The same Adam (moments and step count) with the last epoch's learning rate. */
    private Adam decayed(Adam old) {
        Adam a = new Adam(b, parameters(), LAST_EPOCH_LR, BETA1, BETA2, ADAM_EPS, 0f);
        for (var e : old.state().entrySet()) b.copy(e.getValue(), a.state().get(e.getKey()));
        a.setSteps(old.steps());
        return a;
    }

    /** Penultimate features (n, {@value #FEATURES}) and class probabilities (n, classes) of n images. */
    public record Outputs(int n, int classes, float[] features, float[] probabilities) {
        public int predicted(int i) {
            int best = 0;
            for (int k = 1; k < classes; k++) if (probabilities[i * classes + k] > probabilities[i * classes + best]) best = k;
            return best;
        }
    }

    /** Runs the network in inference mode on n images (n, C, H, W) in [-1, 1]. */
    public Outputs run(float[] images, int n) {
        int item = this.item.intSize(), k = classes;
        if ((long) n * item > images.length) throw new IllegalArgumentException(n + " images need " + (long) n * item + " floats, got " + images.length);
        float[] f = new float[n * FEATURES], p = new float[n * k];
        float[] fChunk = new float[BATCH * FEATURES], pChunk = new float[BATCH * k];
        for (int done = 0; done < n; done += BATCH) {
            int m = Math.min(BATCH, n - done);
            Arrays.fill(xHost, 0f);
            System.arraycopy(images, done * item, xHost, 0, m * item);
            b.copyFromHost(xHost, x);
            Tensor feat = features.forward(x, false);
            b.softmax(head.forward(feat, false), probabilities);
            b.toHost(feat, fChunk);
            b.toHost(probabilities, pChunk);
            System.arraycopy(fChunk, 0, f, done * FEATURES, m * FEATURES);
            System.arraycopy(pChunk, 0, p, done * k, m * k);
        }
        return new Outputs(n, classes, f, p);
    }

    /** The fraction of {@code test}'s images whose predicted class is their label. */
    public double accuracy(Dataset test) {
        checkItems(test);
        if (test.labels() == null) throw new IllegalArgumentException(test + " has no labels");
        Outputs o = run(test.images(), test.n());
        int correct = 0;
        for (int i = 0; i < test.n(); i++) if (o.predicted(i) == test.labels()[i]) correct++;
        return (double) correct / test.n();
    }

    /** Every weight by name ({@code features.0.weight}, {@code head.0.bias}, ...). */
    public Map<String, Tensor> state() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (Parameter p : parameters()) m.put(p.name(), p.value());
        return m;
    }

    private List<Parameter> parameters() {
        return Stream.concat(features.parameters().stream(), head.parameters().stream()).toList();
    }

    public Backend backend() { return b; }

    void checkItems(Dataset d) {
        if (d.c() != item.dim(0) || d.h() != item.dim(1) || d.w() != item.dim(2))
            throw new IllegalArgumentException("the classifier reads " + item + " images; " + d + " has " + d.c() + "x" + d.h() + "x" + d.w());
        if (d.labels() != null) for (int l : d.labels()) if (l < 0 || l >= classes) throw new IllegalArgumentException(d + " has label " + l + " of " + classes + " classes");
    }
}
