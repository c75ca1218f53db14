package dev.jgan.data;

import java.util.List;

/**
 * N images of shape (C, H, W) that a run or an evaluation reads one item at a time, as floats in
 * [-1, 1]: a {@link Dataset} holds them as floats, {@link U8Images} as 8-bit pixels (on the heap,
 * or a memory-mapped cache file) converted as they are read.
 */
public interface ImageSource {
    String name();

    int n();

    int c();

    int h();

    int w();

    /** The label of each image (N), or null when the source has none. */
    int[] labels();

    /** The name of each label value, or an empty list when the labels are bare numbers or there are none. */
    default List<String> classNames() { return List.of(); }

    /** Floats per image: C * H * W. */
    default int itemSize() { return c() * h() * w(); }

    /** Writes image {@code item} (C, H, W) into {@code dst} from {@code offset}, in [-1, 1]. */
    void copy(int item, float[] dst, int offset);

    /**
     * This source with {@code channels} channels (1 or 3), as a view that converts each item as
     * it is read: gray to colour repeats the plane three times, colour to gray is ITU-R BT.601's
     * luma, 0.299 R + 0.587 G + 0.114 B (on the [-1, 1] values, which the affine map from 8 bits
     * commutes with, the weights summing to 1). This source itself when it has them already.
     */
    default ImageSource withChannels(int channels) {
        if (channels == c()) return this;
        if (channels != 1 && channels != 3) throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
        if (c() != 1 && c() != 3) throw new IllegalArgumentException(name() + " has " + c() + " channels, neither gray nor colour");
        return new ChannelView(this, channels);
    }

    /** The whole source as floats (an evaluation's splits); a Dataset returns itself. */
    default Dataset toDataset() {
        int item = itemSize();
        float[] images = new float[Math.multiplyExact(n(), item)];
        for (int i = 0; i < n(); i++) copy(i, images, i * item);
        return new Dataset(name(), images, labels(), n(), c(), h(), w());
    }
}
