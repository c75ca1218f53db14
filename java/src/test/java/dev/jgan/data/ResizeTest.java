package dev.jgan.data;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class ResizeTest {
    /** Float rounding of a few multiply-adds; PyTorch computes in float too. */
    private static final float ATOL = 1e-6f;

    private static Dataset single(int h, int w, float[] px) {
        return new Dataset("t", px, null, 1, 1, h, w);
    }

    /** F.interpolate(torch.arange(4.).view(1, 1, 2, 2), size=(4, 4), mode="bilinear", align_corners=False). */
    @Test void upsample2x2To4x4LikePyTorch() {
        Dataset out = Resize.bilinear(single(2, 2, new float[] {0, 1, 2, 3}), 4, 4);
        float[] want = {
            0.00f, 0.25f, 0.75f, 1.00f,
            0.50f, 0.75f, 1.25f, 1.50f,
            1.50f, 1.75f, 2.25f, 2.50f,
            2.00f, 2.25f, 2.75f, 3.00f};
        assertArrayEquals(want, out.images(), ATOL);
    }

    /** F.interpolate(torch.arange(9.).view(1, 1, 3, 3), size=(2, 2), ...): samples at 0.25 and 1.75. */
    @Test void downsample3x3To2x2LikePyTorch() {
        float[] px = new float[9];
        for (int i = 0; i < 9; i++) px[i] = i;
        assertArrayEquals(new float[] {1.0f, 2.5f, 5.5f, 7.0f}, Resize.bilinear(single(3, 3, px), 2, 2).images(), ATOL);
    }

    @Test void sameSizeIsIdentityAndNonSquareWorks() {
        float[] px = new float[3 * 5];
        for (int i = 0; i < px.length; i++) px[i] = (float) Math.sin(i);
        assertArrayEquals(px, Resize.bilinear(single(3, 5, px), 3, 5).images(), ATOL);
        // width 5 -> 2: x samples at 0.75 and 3.25; height 3 -> 1: y samples at row 1
        Dataset out = Resize.bilinear(single(3, 5, px), 1, 2);
        float x0 = 0.25f * px[5] + 0.75f * px[6];
        float x1 = 0.75f * px[8] + 0.25f * px[9];
        assertArrayEquals(new float[] {x0, x1}, out.images(), ATOL);
    }

    @Test void mnistTo64KeepsLabelsRangeAndConstants() {
        int n = 3;
        float[] px = new float[n * 2 * 28 * 28];
        for (int i = 0; i < px.length; i++) px[i] = (i % 7 == 0) ? 1f : (i < 784 ? -1f : (float) Math.cos(i));
        Arrays.fill(px, 0, 784, 0.25f);  // image 0, channel 0 constant
        Dataset d = new Dataset("mnist", px, new int[] {4, 5, 6}, n, 2, 28, 28);
        Dataset out = Resize.bilinear(d, 64, 64);
        assertEquals(64, out.h());
        assertEquals(64, out.w());
        assertEquals(2, out.c());
        assertArrayEquals(new int[] {4, 5, 6}, out.labels());
        assertEquals("mnist", out.name());
        for (int i = 0; i < 64 * 64; i++) assertEquals(0.25f, out.images()[i], ATOL);
        for (float v : out.images()) assertTrue(v >= -1f - ATOL && v <= 1f + ATOL, "convex combinations stay in [-1, 1]");
    }
}
