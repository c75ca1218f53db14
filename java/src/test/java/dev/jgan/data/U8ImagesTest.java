package dev.jgan.data;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** 8-bit images read as floats, resized as bytes, and seen with other channels. */
class U8ImagesTest {
    @Test
    void itemsReadAsTheUnitMapOfTheirBytes() {
        byte[] px = new byte[2 * 3 * 2 * 2];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 21);
        U8Images u = U8Images.of("u", px, new int[] {4, 7}, List.of("a", "b"), 2, 3, 2, 2);
        float[] dst = new float[1 + 12];
        u.copy(1, dst, 1);
        for (int i = 0; i < 12; i++) assertEquals(Dataset.unit(px[12 + i]), dst[1 + i], "pixel " + i + " of image 1");
        Dataset d = u.toDataset();
        assertEquals(Dataset.unit(px[5]), d.images()[5]);
        assertArrayEquals(new int[] {4, 7}, d.labels());
        assertEquals(1, u.head(1).n());
        assertThrows(IndexOutOfBoundsException.class, () -> u.copy(2, dst, 0));
    }

    /** Bytes resized are the float resize of the same pixels, rounded: within half a step of 8 bits. */
    @Test
    void resizingBytesRoundsTheFloatResize() {
        int n = 3, c = 3, h = 5, w = 7;
        byte[] px = new byte[n * c * h * w];
        for (int i = 0; i < px.length; i++) px[i] = (byte) ((i * 37) ^ (i >> 3));
        U8Images u = U8Images.of("u", px, null, null, n, c, h, w);
        U8Images big = u.resize(11, 9);
        Dataset viaFloats = Resize.bilinear(Dataset.fromBytes("u", px, null, n, c, h, w), 11, 9);
        assertEquals(11, big.h());
        assertEquals(9, big.w());
        for (int i = 0; i < viaFloats.images().length; i++) {
            double want = (viaFloats.images()[i] + 1.0) * 127.5;
            assertEquals(want, big.pixel(i), 0.5 + 1e-3, "pixel " + i);   // rounding, plus float error far below 1e-3
        }
        assertSame(u, u.resize(h, w));
    }

    @Test
    void grayReadAsColourRepeatsThePlaneAndColourAsGrayIsLuma() {
        byte[] gray = {0, (byte) 255, (byte) 128, 64};
        ImageSource g3 = U8Images.of("g", gray, null, null, 1, 1, 2, 2).withChannels(3);
        float[] rgb = new float[12];
        g3.copy(0, rgb, 0);
        for (int ch = 0; ch < 3; ch++)
            for (int i = 0; i < 4; i++) assertEquals(Dataset.unit(gray[i]), rgb[ch * 4 + i], "channel " + ch + " pixel " + i);
        assertEquals(3, g3.c());

        byte[] colour = {(byte) 255, 0, 0, 10, /* G */ 0, (byte) 255, 0, 20, /* B */ 0, 0, (byte) 255, 30};
        ImageSource c1 = U8Images.of("c", colour, null, null, 1, 3, 2, 2).withChannels(1);
        float[] y = new float[4];
        c1.copy(0, y, 0);
        // luma of the 8-bit values, mapped to [-1, 1]: the map is affine and the weights sum to 1
        double[] want = {0.299 * 255, 0.587 * 255, 0.114 * 255, 0.299 * 10 + 0.587 * 20 + 0.114 * 30};
        for (int i = 0; i < 4; i++) assertEquals(want[i] / 127.5 - 1, y[i], 1e-6, "luma of pixel " + i);   // float rounding
        assertEquals(1, c1.c());
        assertThrows(IllegalArgumentException.class, () -> c1.withChannels(2));
    }
}
