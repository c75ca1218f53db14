package dev.jgan.gan;

import dev.jgan.UserError;
import dev.jgan.data.Batches;
import dev.jgan.data.ImageSource;
import dev.jgan.data.RingOfGaussians;
import dev.jgan.random.Philox;
import dev.jgan.tensor.Shape;

/** Opens the real data a run trains on, as the deterministic batch sequence the trainer draws from. */
final class DataSources {
    /** Counter word 3 of the --flip draws ("flip"): never the shuffle's or the backends' streams. */
    static final int FLIP_STREAM = 0x666c6970;

    private DataSources() {}

    static RealBatches open(TrainConfig c, Preset p) {
        long key = GanModel.key(c.seed(), GanModel.Stream.DATA);
        return p.kind().open(c, p, key);
    }

    /**
     * Batches of {@code ds} (already at the preset's height and width; any channels) in the
     * shuffled order of {@link Batches}, each image mirrored left-right when {@code flip} and its
     * flip bit is set: bit {@code i % 128} of Philox block (lo32(batch), hi32(batch), i / 128,
     * {@link #FLIP_STREAM}) under the data key, so batch i is the same whoever computes it, when.
     */
    static RealBatches images(ImageSource ds, Preset p, int batch, long key, boolean flip) {
        int classes = p.conditional() ? classes(ds, p) : 0;
        Shape item = Shape.of(ds.c(), ds.h(), ds.w());
        if (ds.h() != p.item().dim(1) || ds.w() != p.item().dim(2))
            throw new UserError("dataset " + ds.name() + " has images " + ds.h() + "x" + ds.w() + ", preset " + p.name() + " needs "
                    + p.item().dim(1) + "x" + p.item().dim(2));
        if (ds.n() < batch) throw new UserError("dataset " + ds.name() + " has " + ds.n() + " images, fewer than one batch of " + batch);
        Batches batches = new Batches(ds, batch, key);
        long perEpoch = batches.batchesPerEpoch();
        int k0 = (int) key, k1 = (int) (key >>> 32);
        return new RealBatches() {
            private final int[] bits = new int[4];
            private final int[] labels = classes > 0 ? new int[batch] : null;

            @Override public Shape item() { return item; }

            @Override public int classes() { return classes; }

            @Override public void fill(long index, float[] dst) {
                batches.fill(Math.toIntExact(index / perEpoch), (int) (index % perEpoch), dst, labels);
                if (flip) mirror(index, dst);
                if (labels != null) writeLabels(labels, dst, batch * ds.itemSize());
            }

            private void mirror(long index, float[] dst) {
                int h = ds.h(), w = ds.w(), rows = ds.c() * h;
                for (int i = 0; i < batch; i++) {
                    if (i % 128 == 0) Philox.block((int) index, (int) (index >>> 32), i / 128, FLIP_STREAM, k0, k1, bits);
                    if ((bits[(i % 128) / 32] >>> (i % 32) & 1) == 0) continue;
                    int base = i * ds.itemSize();
                    for (int r = 0; r < rows; r++) {
                        int row = base + r * w;
                        for (int x = 0, y = w - 1; x < y; x++, y--) {
                            float t = dst[row + x];
                            dst[row + x] = dst[row + y];
                            dst[row + y] = t;
                        }
                    }
                }
            }

            @Override public long batchesPerEpoch() { return perEpoch; }
        };
    }

    /**
     * The classes of a labelled source for conditional preset {@code p}: as many as it names, or
     * the largest label + 1; a UserError when it has no labels.
     */
    static int classes(ImageSource ds, Preset p) {
        int[] labels = ds.labels();
        if (labels == null)
            throw new UserError("preset " + p.name() + " is class-conditional and dataset " + ds.name()
                    + " has no labels (a folder needs one subfolder per class)");
        int k = ds.classNames().size();
        for (int l : labels) {
            if (l < 0) throw new UserError("dataset " + ds.name() + " has a negative label " + l);
            k = Math.max(k, l + 1);
        }
        if (k < 2) throw new UserError("preset " + p.name() + " is class-conditional and dataset " + ds.name() + " has one class only");
        return k;
    }

    /** The labels as floats after the batch's items. */
    private static void writeLabels(int[] labels, float[] dst, int at) {
        for (int i = 0; i < labels.length; i++) dst[at + i] = labels[i];
    }

    /** Batch i of the toy is drawn from Philox blocks reserved for it alone; for a conditional preset each point's class is its mode. */
    static RealBatches ring(int batch, long key, boolean labelled) {
        RingOfGaussians ring = new RingOfGaussians();
        long blocksPerBatch = RingOfGaussians.blocks(batch);
        int[] labels = labelled ? new int[batch] : null;
        return new RealBatches() {
            @Override public Shape item() { return Shape.of(2); }

            @Override public int classes() { return labelled ? ring.modeCount() : 0; }

            @Override public void fill(long index, float[] dst) {
                ring.sample(dst, batch, key, index * blocksPerBatch, labels);
                if (labels != null) writeLabels(labels, dst, 2 * batch);
            }

            @Override public long batchesPerEpoch() { return 0; }
        };
    }
}
