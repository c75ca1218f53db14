package dev.jgan.gan;

import dev.jgan.UserError;
import dev.jgan.data.Batches;
import dev.jgan.data.Dataset;
import dev.jgan.data.Resize;
import dev.jgan.data.RingOfGaussians;
import dev.jgan.tensor.Shape;

/** Opens the real data a run trains on, as the deterministic batch sequence the trainer draws from. */
final class DataSources {
    private DataSources() {}

    static RealBatches open(TrainConfig c, Preset p) {
        long key = GanModel.key(c.seed(), GanModel.Stream.DATA);
        return p.kind().open(c, p, key);
    }

    static RealBatches images(Dataset ds, Preset p, int batch, long key) {
        if (ds.c() == p.item().dim(0) && (ds.h() != p.item().dim(1) || ds.w() != p.item().dim(2)))
            ds = Resize.bilinear(ds, p.item().dim(1), p.item().dim(2));   // 28x28 datasets for the 64x64 DCGAN
        Shape item = Shape.of(ds.c(), ds.h(), ds.w());
        if (!item.equals(p.item()))
            throw new UserError("dataset " + ds.name() + " has images " + item + ", preset " + p.name() + " needs " + p.item());
        if (ds.n() < batch) throw new UserError("dataset " + ds.name() + " has " + ds.n() + " images, fewer than one batch of " + batch);
        Batches batches = new Batches(ds, batch, key);
        long perEpoch = batches.batchesPerEpoch();
        return new RealBatches() {
            @Override public Shape item() { return item; }

            @Override public void fill(long index, float[] dst) {
                batches.fill(Math.toIntExact(index / perEpoch), (int) (index % perEpoch), dst);
            }

            @Override public long batchesPerEpoch() { return perEpoch; }
        };
    }

    /** Batch i of the toy is drawn from Philox blocks reserved for it alone. */
    static RealBatches ring(int batch, long key) {
        RingOfGaussians ring = new RingOfGaussians();
        long blocksPerBatch = RingOfGaussians.blocks(batch);
        return new RealBatches() {
            @Override public Shape item() { return Shape.of(2); }

            @Override public void fill(long index, float[] dst) {
                ring.sample(dst, batch, key, index * blocksPerBatch);
            }

            @Override public long batchesPerEpoch() { return 0; }
        };
    }
}
