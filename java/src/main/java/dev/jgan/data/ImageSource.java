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

    /** The whole source as floats (an evaluation's splits); a Dataset returns itself. */
    default Dataset toDataset() {
        int item = itemSize();
        float[] images = new float[Math.multiplyExact(n(), item)];
        for (int i = 0; i < n(); i++) copy(i, images, i * item);
        return new Dataset(name(), images, labels(), n(), c(), h(), w());
    }
}
