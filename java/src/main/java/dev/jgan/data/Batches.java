package dev.jgan.data;

import dev.jgan.UserError;
import dev.jgan.random.Philox;

/**
 * Mini-batches of an {@link ImageSource} in a shuffled order that depends only on (seed, epoch), so a
 * run resumed at (epoch, batch) sees exactly the batches it would have seen.
 *
 * <p>The order of epoch {@code e} is a Fisher-Yates shuffle (for i = N-1 down to 1, swap i with
 * a uniform j in [0, i]) of 0..N-1, whose j come from Philox 4x32-10 with key = seed and counter
 * {@code (lo32(k), hi32(k), e, SHUFFLE_STREAM)} for k = 0, 1, ..., four 32-bit words per block,
 * each draw mapped to [0, i] by Lemire's multiply-shift with rejection (unbiased). Counter word 3
 * is {@link #SHUFFLE_STREAM}, never 0, so a shuffle never reuses the blocks that the backends'
 * random fills draw under the same seed. Each epoch has {@code N / B} batches: the last partial
 * batch is dropped. Batch {@code b} of epoch {@code e} is items {@code order[b*B .. b*B+B)}.
 *
 * <p>The permutation of the most recent epoch is cached; not thread-safe.
 */
public final class Batches {
    /** Counter word 3 of every shuffle draw ("shuf"). */
    public static final int SHUFFLE_STREAM = 0x73687566;

    private final ImageSource data;
    private final int batchSize;
    private final long seed;
    private final int[] order;
    private int orderEpoch = -1;

    public Batches(ImageSource data, int batchSize, long seed) {
        if (batchSize < 1) throw new UserError("batch size must be at least 1, got " + batchSize);
        if (batchSize > data.n())
            throw new UserError("batch size " + batchSize + " is larger than the dataset " + data.name() + " (" + data.n() + " images)");
        this.data = data;
        this.batchSize = batchSize;
        this.seed = seed;
        this.order = new int[data.n()];
    }

    public ImageSource data() { return data; }

    public int batchSize() { return batchSize; }

    /** Full batches per epoch: N / B, rounded down. */
    public int batchesPerEpoch() { return data.n() / batchSize; }

    /** Floats in one batch of images: B * C * H * W. */
    public int batchFloats() { return batchSize * data.itemSize(); }

    /** Copies the images of batch {@code index} of {@code epoch} into {@code dst} (B, C, H, W). */
    public void fill(int epoch, int index, float[] dst) {
        fill(epoch, index, dst, null);
    }

    /**
     * Copies the images of batch {@code index} of {@code epoch} into {@code dst} (B, C, H, W) and,
     * if {@code labelsDst} is not null, their labels into it (B); the dataset must have labels then.
     */
    public void fill(int epoch, int index, float[] dst, int[] labelsDst) {
        if (index < 0 || index >= batchesPerEpoch())
            throw new IndexOutOfBoundsException("batch " + index + " of " + batchesPerEpoch());
        int item = data.itemSize();
        if (dst.length < batchSize * item) throw new IllegalArgumentException("dst holds " + dst.length + " floats, a batch needs " + batchSize * item);
        if (labelsDst != null) {
            if (data.labels() == null) throw new IllegalStateException("dataset " + data.name() + " has no labels");
            if (labelsDst.length < batchSize) throw new IllegalArgumentException("labelsDst holds " + labelsDst.length + ", need " + batchSize);
        }
        int[] perm = order(epoch);
        for (int b = 0; b < batchSize; b++) {
            int src = perm[index * batchSize + b];
            data.copy(src, dst, b * item);
            if (labelsDst != null) labelsDst[b] = data.labels()[src];
        }
    }

    /** The items of epoch {@code epoch} in order; a copy. */
    public int[] epochOrder(int epoch) {
        return order(epoch).clone();
    }

    private int[] order(int epoch) {
        if (epoch < 0) throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        if (epoch != orderEpoch) {
            shuffle(order, seed, epoch);
            orderEpoch = epoch;
        }
        return order;
    }

    /** Fills {@code perm} with the shuffled order of 0..perm.length-1 for (seed, epoch). */
    static void shuffle(int[] perm, long seed, int epoch) {
        for (int i = 0; i < perm.length; i++) perm[i] = i;
        Words words = new Words(seed, epoch);
        for (int i = perm.length - 1; i > 0; i--) {
            int j = words.below(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
    }

    /** The shuffle's word stream: words 0..3 of block 0, then of block 1, ... */
    private static final class Words {
        private final int k0, k1, epoch;
        private final int[] block = new int[4];
        private long next;  // index of the next block
        private int lane = 4;

        Words(long seed, int epoch) {
            this.k0 = (int) seed;
            this.k1 = (int) (seed >>> 32);
            this.epoch = epoch;
        }

        int word() {
            if (lane == 4) {
                Philox.block((int) next, (int) (next >>> 32), epoch, SHUFFLE_STREAM, k0, k1, block);
                next++;
                lane = 0;
            }
            return block[lane++];
        }

        /** Uniform in [0, bound) (Lemire, "Fast random integer generation in an interval", 2019). */
        int below(int bound) {
            long m = (word() & 0xFFFFFFFFL) * bound;
            long low = m & 0xFFFFFFFFL;
            if (low < bound) {
                long threshold = (1L << 32) % bound;  // = 2^32 mod bound: the values to reject
                while (low < threshold) {
                    m = (word() & 0xFFFFFFFFL) * bound;
                    low = m & 0xFFFFFFFFL;
                }
            }
            return (int) (m >>> 32);
        }
    }
}
