package dev.jgan.gan;

import dev.jgan.UserError;
import dev.jgan.data.U8Images;
import dev.jgan.tensor.Shape;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The real batches a run draws: --flip's mirroring, and the background thread that changes nothing but when. */
class DataSourcesTest {
    private static final int N = 40, C = 3, H = 4, W = 5, BATCH = 8;
    private static final Preset SMALL = Preset.builder("tiny").item(Shape.of(C, H, W))
            .generator(c -> List.of()).discriminator(c -> List.of()).build();

    /** Image i's pixel (c, y, x) is a distinct byte, so a batch shows which image, and which way round, it holds. */
    private static U8Images numbered() {
        byte[] px = new byte[N * C * H * W];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 7 + i / (C * H * W));
        return U8Images.of("numbered", px, null, null, N, C, H, W);
    }

    private static float[] batch(RealBatches b, long index) {
        float[] dst = new float[BATCH * C * H * W];
        b.fill(index, dst);
        return dst;
    }

    @Test
    void flipMirrorsAboutHalfTheImagesTheSameWayEveryTime() {
        RealBatches plain = DataSources.images(numbered(), SMALL, BATCH, 11, false);
        RealBatches flipped = DataSources.images(numbered(), SMALL, BATCH, 11, true);
        int item = C * H * W, mirrored = 0, total = 0;
        for (long index = 0; index < 20; index++) {
            float[] a = batch(plain, index), b = batch(flipped, index);
            assertArrayEquals(b, batch(DataSources.images(numbered(), SMALL, BATCH, 11, true), index), "batch " + index + " again, afresh");
            for (int i = 0; i < BATCH; i++) {
                boolean same = true, mirror = true;
                for (int r = 0; r < C * H; r++)
                    for (int x = 0; x < W; x++) {
                        float va = a[i * item + r * W + x], vb = b[i * item + r * W + x];
                        same &= va == vb;
                        mirror &= a[i * item + r * W + (W - 1 - x)] == vb;
                    }
                assertTrue(same || mirror, "image " + i + " of batch " + index + " is itself or its mirror image");
                if (!same) mirrored++;
                total++;
            }
        }
        // 160 fair coins: 50% +- 4 standard deviations (sd 4%) holds but for about 6e-5 of keys
        double share = mirrored / (double) total;
        assertTrue(share > 0.34 && share < 0.66, "share mirrored " + share);
    }

    @Test
    void theBackgroundThreadGivesTheSameBatchesInOrderOrNot() {
        RealBatches direct = DataSources.images(numbered(), SMALL, BATCH, 5, true);
        try (Prefetch ahead = new Prefetch(DataSources.images(numbered(), SMALL, BATCH, 5, true), BATCH)) {
            long[] order = {0, 1, 2, 3, 9, 10, 4, 4, 5, 30};   // a seek (resume) to 9, back to 4, the same batch twice
            for (long index : order) assertArrayEquals(batch(direct, index), batch(ahead, index), "batch " + index);
        }
    }

    @Test
    void aLentBatchStaysWholeWhileTheNextOnesArePrepared() throws InterruptedException {
        RealBatches direct = DataSources.images(numbered(), SMALL, BATCH, 5, true);
        float[] scratch = new float[Math.toIntExact(SMALL.item().size() * BATCH)];
        try (Prefetch ahead = new Prefetch(DataSources.images(numbered(), SMALL, BATCH, 5, true), BATCH)) {
            for (long index : new long[] {0, 1, 2, 7, 8, 3}) {
                float[] lent = ahead.take(index, scratch);
                float[] before = lent.clone();
                Thread.sleep(20);   // the worker fills index + 1 .. index + DEPTH meanwhile, never into the lent buffer
                assertArrayEquals(batch(direct, index), lent, "batch " + index + " as lent");
                assertArrayEquals(before, lent, "batch " + index + " changed while lent");
            }
        }
    }

    @Test
    void aFailureOnTheBackgroundThreadReachesTheStep() {
        RealBatches failing = new RealBatches() {
            @Override public Shape item() { return SMALL.item(); }
            @Override public void fill(long index, float[] dst) { if (index == 2) throw new IllegalStateException("page-in failed at " + index); }
            @Override public long batchesPerEpoch() { return 5; }
        };
        try (Prefetch ahead = new Prefetch(failing, BATCH)) {
            batch(ahead, 0);
            batch(ahead, 1);
            assertEquals("page-in failed at 2", assertThrows(IllegalStateException.class, () -> batch(ahead, 2)).getMessage());
        }
    }

    @Test
    void imagesOfAnotherSizeThanThePresetsAreOneLine() {
        Preset wide = Preset.builder("wide").item(Shape.of(C, H, W + 1))
                .generator(c -> List.of()).discriminator(c -> List.of()).build();
        var e = assertThrows(UserError.class, () -> DataSources.images(numbered(), wide, BATCH, 1, false));
        assertEquals("dataset numbered has images 4x5, preset wide needs 4x6", e.getMessage());
    }
}
