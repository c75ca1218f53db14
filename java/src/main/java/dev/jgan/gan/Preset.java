package dev.jgan.gan;

import dev.jgan.UserError;
import dev.jgan.data.ImageSource;
import dev.jgan.data.Datasets;
import dev.jgan.data.ModeCoverage;
import dev.jgan.data.RingOfGaussians;
import dev.jgan.io.ImageGrid;
import dev.jgan.io.ScatterPlot;
import dev.jgan.nn.ClassHead;
import dev.jgan.nn.Init;
import dev.jgan.nn.Layer;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * A named recipe: both networks, their initialisation and the optimiser settings of the tutorial
 * it follows. {@code item} is the shape of one real sample: (C, H, W) for images, (2) for the
 * toy's points. An image preset is written for any channel count: its networks are functions of
 * C ({@code generatorFor}, {@code discriminatorFor}), the built-in item has the tutorial's C (1),
 * and {@link #withChannels(int)} gives the same recipe for colour (C = 3), as the data decides.
 * Built by name with {@link #builder(String)}.
 *
 * @param kind           what the preset makes, which decides its data, pictures and evaluation
 * @param defaultDataset the dataset used when none is named ("ring" for the toy, which makes its own)
 * @param classes        0 for an unconditional preset; for a class-conditional one (cGAN, projection
 *                       discriminator) the classes K its networks are built for: G makes the class
 *                       asked for and D judges an image with its class. The built-in value is the
 *                       default dataset's; {@link #withClasses} gives the recipe for the data's.
 * @param auxClassifier  a conditional preset's default weight of AC-GAN's auxiliary classification
 *                       loss ({@code --aux-classifier}), 0 for none
 * @param gEma           the default decay of the moving average of G's weights ({@code --g-ema}), 0 for none
 * @param minutes        the default training-time budget ({@code --minutes}), 0 for none: a preset
 *                       with one trains until it is spent, its step count being no limit
 * @param loss           the default loss ({@code --loss}, a {@link Loss} flag)
 * @param spectralNorm   which networks are spectrally normalised by default ({@code --spectral-norm});
 *                       the networks themselves are without it, and the run's config applies it
 */
public record Preset(
        String name,
        String description,
        Kind kind,
        Shape item,
        int zDim,
        Network generatorFor,
        Network discriminatorFor,
        Init init,
        float lrG,
        float lrD,
        float beta1,
        float beta2,
        int batch,
        int defaultSteps,
        int sampleEvery,
        String defaultDataset,
        int classes,
        float auxClassifier,
        float gEma,
        double minutes,
        String loss,
        SpectralNormOn spectralNorm) {

    /**
     * A network's layers for images of {@code channels} channels (0 for points) and, for a
     * class-conditional preset, {@code classes} classes (0 for the others), fresh on every call.
     */
    @FunctionalInterface
    public interface Network {
        List<Layer> layers(int channels, int classes);
    }

    /**
     * What a preset generates. Everything that differs between images and points is decided here:
     * where the real data comes from, how samples are drawn as pictures, and which quality measure
     * applies. An image preset's item is whatever (C, H, W) the preset names; nothing here fixes it.
     */
    public enum Kind {
        /** Images (C, H, W) from a dataset on disk: sampled as a grid, measured by FID and class coverage. */
        IMAGES {
            @Override RealBatches open(TrainConfig c, Preset p, long key) {
                if (c.dataset().equals(RingOfGaussians.NAME)) throw new UserError("dataset ring is the toy's; use --preset ring");
                ImageSource ds = Datasets.open(c.dataset(), Datasets.Split.TRAIN, c.dataDir() == null ? null : Path.of(c.dataDir()),
                        new Datasets.Want(p.item().dim(1), c.channels(), c.background()), Datasets.Sources.defaults());
                RealBatches batches = DataSources.images(ds, p, c.batch(), key, c.flip());
                return Prefetch.ENABLED ? new Prefetch(batches, c.batch()) : batches;
            }

            @Override void writePng(Path file, float[] host, Shape s, int max, int scale) {
                int n = Math.min(max, s.dim(0));
                ImageGrid.writePng(file, host, n, s.dim(1), s.dim(2), s.dim(3), (int) Math.ceil(Math.sqrt(n)), scale);
            }

            @Override void addQuality(Map<String, Object> metrics, Supplier<Tensor> samples) {}   // FID: --eval-every

            @Override int sampleBatches(int grid, int batch) { return (grid + batch - 1) / batch; }
        },
        /** The ring toy's 2-D points, made by the trainer: sampled as a scatter plot, measured by the modes covered. */
        POINTS {
            @Override RealBatches open(TrainConfig c, Preset p, long key) { return DataSources.ring(c.batch(), key, p.conditional()); }

            @Override void writePng(Path file, float[] host, Shape s, int max, int scale) {
                ScatterPlot.writePng(file, host, s.dim(0), new RingOfGaussians().modes());
            }

            @Override void addQuality(Map<String, Object> metrics, Supplier<Tensor> samples) {
                // the toy's quality is measurable: modes holding >= 1% of G's points, and the share near a mode
                RingOfGaussians ring = new RingOfGaussians();
                Tensor xy = samples.get();
                ModeCoverage.Result c = ModeCoverage.measure(xy.toHost(), xy.shape().dim(0), ring.modes(), ring.std());
                metrics.put("modes_covered", c.modesCovered());
                metrics.put("high_quality", Math.round(1000 * c.highQualityFraction()) / 1000.0);
            }

            /** One batch of points is the whole scatter plot. */
            @Override int sampleBatches(int grid, int batch) { return 1; }
        };

        /** The real samples of run {@code c}, as the deterministic batch sequence keyed by {@code key}. */
        abstract RealBatches open(TrainConfig c, Preset p, long key);

        /** Writes a batch of samples {@code host} (shape {@code s}) as a picture: up to {@code max} images, or every point. */
        abstract void writePng(Path file, float[] host, Shape s, int max, int scale);

        /** Adds this kind's quality measure of G's fixed-noise samples to a metrics line, if it has a cheap one. */
        abstract void addQuality(Map<String, Object> metrics, Supplier<Tensor> samples);

        /** Batches of fixed noise behind each sample picture of {@code grid} images. */
        abstract int sampleBatches(int grid, int batch);

        /** Whether FID and class coverage apply ({@code --eval-every}, {@code gan eval}, idx output). */
        public boolean images() { return this == IMAGES; }

        /** Whether the preset makes its own data, so {@code --dataset} names nothing else. */
        public boolean makesOwnData() { return this == POINTS; }
    }

    public Preset {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(item, "item");
        Objects.requireNonNull(defaultDataset, "defaultDataset");
    }

    /** Whether G and D are conditioned on a class (K = {@link #classes} > 0). */
    public boolean conditional() { return classes > 0; }

    /** Image channels (C of the item), or 0 for the toy's points. */
    public int channels() { return kind.images() ? item.dim(0) : 0; }

    /** The generator's layers for this preset's item, fresh on every call. */
    public Supplier<List<Layer>> generator() { return () -> generatorFor.layers(channels(), classes); }

    /** The discriminator's layers for this preset's item, fresh on every call. */
    public Supplier<List<Layer>> discriminator() {
        return () -> {
            List<Layer> layers = discriminatorFor.layers(channels(), classes);
            if (auxClassifier > 0) {   // AC-GAN: D's class head also classifies
                if (!(layers.getLast() instanceof ClassHead h)) throw new IllegalStateException(name + ": D ends in no ClassHead to classify with");
                h.auxiliary();
            }
            return layers;
        };
    }

    /**
     * The same recipe for images of {@code c} channels (1 gray, 3 colour): item (c, H, W), both
     * networks built for it. This preset itself when it has c channels already.
     */
    public Preset withChannels(int c) {
        if (!kind.images()) throw new IllegalArgumentException(name + " makes points, not images of " + c + " channels");
        if (c != 1 && c != 3) throw new UserError("--channels must be 1 or 3, got " + c);
        if (c == channels()) return this;
        return new Preset(name, description, kind, Shape.of(c, item.dim(1), item.dim(2)), zDim, generatorFor, discriminatorFor, init,
                lrG, lrD, beta1, beta2, batch, defaultSteps, sampleEvery, defaultDataset, classes, auxClassifier, gEma, minutes, loss, spectralNorm);
    }

    /** The same preset with its layers initialised by {@code i} ({@code --init}). */
    public Preset withInit(Init i) {
        if (i == init) return this;
        return new Preset(name, description, kind, item, zDim, generatorFor, discriminatorFor, i,
                lrG, lrD, beta1, beta2, batch, defaultSteps, sampleEvery, defaultDataset, classes, auxClassifier, gEma, minutes, loss, spectralNorm);
    }

    /**
     * The same recipe with the dense and convolution layers of the networks {@code on} names
     * spectrally normalised ({@code --spectral-norm}); this preset itself for NONE.
     */
    public Preset withSpectralNorm(SpectralNormOn on) {
        if (on == SpectralNormOn.NONE) return this;
        return new Preset(name, description, kind, item, zDim, SpectralNormOn.apply(on.generator(), generatorFor),
                SpectralNormOn.apply(on.discriminator(), discriminatorFor), init, lrG, lrD, beta1, beta2, batch, defaultSteps,
                sampleEvery, defaultDataset, classes, auxClassifier, gEma, minutes, loss, spectralNorm);
    }

    /**
     * The same conditional recipe for {@code k} classes (the data's); this preset itself when it
     * has them already. An unconditional preset takes no classes.
     */
    public Preset withClasses(int k) {
        if (!conditional()) throw new IllegalArgumentException(name + " is not class-conditional");
        if (k < 2) throw new UserError(name + " is class-conditional and needs at least 2 classes; the data has " + k);
        if (k == classes) return this;
        return new Preset(name, description, kind, item, zDim, generatorFor, discriminatorFor, init, lrG, lrD, beta1, beta2, batch,
                defaultSteps, sampleEvery, defaultDataset, k, auxClassifier, gEma, minutes, loss, spectralNorm);
    }

    /**
     * The same conditional recipe with AC-GAN's auxiliary classification loss at weight {@code w}
     * ({@code --aux-classifier}; 0 for none); this preset itself when it has that weight. A
     * UserError for an unconditional preset and w > 0.
     */
    public Preset withAuxClassifier(float w) {
        if (w == auxClassifier) return this;
        if (!conditional()) throw new UserError("--aux-classifier needs a class-conditional preset (cgan-mlp, cdcgan-28, cgan-ring, fast-fmnist); "
                + name + " is not");
        return new Preset(name, description, kind, item, zDim, generatorFor, discriminatorFor, init, lrG, lrD, beta1, beta2, batch,
                defaultSteps, sampleEvery, defaultDataset, classes, w, gEma, minutes, loss, spectralNorm);
    }

    /** The item's description, as "28x28x1". */
    public String itemText() {
        return kind.images() ? item.dim(1) + "x" + item.dim(2) + "x" + item.dim(0) : item.toString();
    }

    /** A builder for preset {@code name}; its initial values are the defaults shared by the built-in recipes. */
    public static Builder builder(String name) { return new Builder(name); }

    /** Builds a Preset by name: {@code .lr(2e-4f).beta1(0.5f).batch(64).steps(3000)}. */
    public static final class Builder {
        private final String name;
        private String description = "";
        private Kind kind = Kind.IMAGES;
        private Shape item;
        private int zDim = 100;
        private Network generator, discriminator;
        private int classes;
        private float auxClassifier, gEma;
        private double minutes;
        private String loss = TrainConfig.LOSS;
        private SpectralNormOn spectralNorm = SpectralNormOn.NONE;
        private Init init = Init.GLOROT_UNIFORM;
        private float lrG = 2e-4f, lrD = 2e-4f, beta1 = 0.5f, beta2 = 0.999f;
        private int batch = 64, steps = 3000, sampleEvery = 500;
        private String dataset = "fashion-mnist";

        private Builder(String name) { this.name = name; }

        public Builder description(String v) { description = v; return this; }
        /** Points (the ring toy), which also makes the dataset "ring"; images otherwise. */
        public Builder points() { kind = Kind.POINTS; dataset = RingOfGaussians.NAME; return this; }
        public Builder item(Shape v) { item = v; return this; }
        public Builder zDim(int v) { zDim = v; return this; }
        /** The generator's layers for images of C channels (the argument; 0 for points). */
        public Builder generator(IntFunction<List<Layer>> v) { generator = (c, k) -> v.apply(c); return this; }
        /** The discriminator's layers for images of C channels (the argument; 0 for points). */
        public Builder discriminator(IntFunction<List<Layer>> v) { discriminator = (c, k) -> v.apply(c); return this; }
        /** A class-conditional generator's layers for C channels and K classes (the arguments). */
        public Builder generator(Network v) { generator = v; return this; }
        /** A class-conditional discriminator's layers for C channels and K classes (the arguments). */
        public Builder discriminator(Network v) { discriminator = v; return this; }
        /** Makes the preset class-conditional, for {@code k} classes unless the data has others. */
        public Builder classes(int k) { classes = k; return this; }
        /** A conditional preset's default AC-GAN classification weight (--aux-classifier). */
        public Builder auxClassifier(float w) { auxClassifier = w; return this; }
        /** The default decay of G's moving average ({@code --g-ema}). */
        public Builder gEma(float v) { gEma = v; return this; }
        /** The default training-time budget in minutes ({@code --minutes}); the step count is then no limit. */
        public Builder minutes(double v) { minutes = v; return this; }
        /** The default loss ({@code --loss}): nonsaturating unless set. */
        public Builder loss(String v) { loss = v; return this; }
        /** The networks spectrally normalised by default ({@code --spectral-norm}): none unless set. */
        public Builder spectralNorm(SpectralNormOn v) { spectralNorm = v; return this; }
        public Builder init(Init v) { init = v; return this; }
        /** The same Adam learning rate for G and D. */
        public Builder lr(float v) { lrG = v; lrD = v; return this; }
        public Builder lrG(float v) { lrG = v; return this; }
        public Builder lrD(float v) { lrD = v; return this; }
        public Builder beta1(float v) { beta1 = v; return this; }
        public Builder beta2(float v) { beta2 = v; return this; }
        public Builder batch(int v) { batch = v; return this; }
        /** The run's length when neither --steps nor --epochs is given. */
        public Builder steps(int v) { steps = v; return this; }
        public Builder sampleEvery(int v) { sampleEvery = v; return this; }
        public Builder dataset(String v) { dataset = v; return this; }

        public Preset build() {
            return new Preset(name, description, kind, item, zDim, generator, discriminator, init, lrG, lrD, beta1, beta2,
                    batch, steps, sampleEvery, dataset, classes, auxClassifier, gEma, minutes, loss, spectralNorm);
        }
    }
}
