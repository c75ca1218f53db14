package dev.jgan.gan;

import dev.jgan.UserError;
import dev.jgan.data.Dataset;
import dev.jgan.data.Datasets;
import dev.jgan.data.ModeCoverage;
import dev.jgan.data.RingOfGaussians;
import dev.jgan.io.ImageGrid;
import dev.jgan.io.ScatterPlot;
import dev.jgan.nn.Init;
import dev.jgan.nn.Layer;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * A named recipe: both networks, their initialisation and the optimiser settings of the tutorial
 * it follows. {@code item} is the shape of one real sample: (C, H, W) for images, taken from the
 * preset (and checked against the dataset), (2) for the toy's points. Built by name with
 * {@link #builder(String)}.
 *
 * @param kind           what the preset makes, which decides its data, pictures and evaluation
 * @param defaultDataset the dataset used when none is named ("ring" for the toy, which makes its own)
 */
public record Preset(
        String name,
        String description,
        Kind kind,
        Shape item,
        int zDim,
        Supplier<List<Layer>> generator,
        Supplier<List<Layer>> discriminator,
        Init init,
        float lrG,
        float lrD,
        float beta1,
        float beta2,
        int batch,
        int defaultSteps,
        int sampleEvery,
        String defaultDataset) {

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
                Dataset ds = Datasets.load(c.dataset(), c.dataDir() == null ? null : Path.of(c.dataDir()));
                return DataSources.images(ds, p, c.batch(), key);
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
            @Override RealBatches open(TrainConfig c, Preset p, long key) { return DataSources.ring(c.batch(), key); }

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

    /** A builder for preset {@code name}; its initial values are the defaults shared by the built-in recipes. */
    public static Builder builder(String name) { return new Builder(name); }

    /** Builds a Preset by name: {@code .lr(2e-4f).beta1(0.5f).batch(64).steps(3000)}. */
    public static final class Builder {
        private final String name;
        private String description = "";
        private Kind kind = Kind.IMAGES;
        private Shape item;
        private int zDim = 100;
        private Supplier<List<Layer>> generator, discriminator;
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
        public Builder generator(Supplier<List<Layer>> v) { generator = v; return this; }
        public Builder discriminator(Supplier<List<Layer>> v) { discriminator = v; return this; }
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
                    batch, steps, sampleEvery, dataset);
        }
    }
}
