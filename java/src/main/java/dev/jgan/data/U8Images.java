package dev.jgan.data;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;

/**
 * 8-bit images (N, C, H, W), row-major, in a {@link MemorySegment}: an array on the heap, or a
 * memory-mapped cache file ({@link ImageCache}), so a large folder costs a quarter of its floats,
 * only the pages a batch touches, and no 2 GiB limit. Read as [-1, 1] by {@link Dataset#unit(int)}, the same map
 * as every 8-bit source. Labels (N) or null, and the names of the label values (may be empty).
 * The segment is shared: treat it as read-only.
 */
public final class U8Images implements ImageSource {
    private final String name;
    private final MemorySegment pixels;
    private final int[] labels;
    private final List<String> classNames;
    private final int n, c, h, w;

    public U8Images(String name, MemorySegment pixels, int[] labels, List<String> classNames, int n, int c, int h, int w) {
        if (n < 1 || c < 1 || h < 1 || w < 1)
            throw new IllegalArgumentException("image dimensions must be positive: n=" + n + " c=" + c + " h=" + h + " w=" + w);
        if ((long) n * c * h * w != pixels.byteSize())
            throw new IllegalArgumentException(pixels.byteSize() + " bytes, (N, C, H, W) = (" + n + ", " + c + ", " + h + ", " + w
                    + ") needs " + (long) n * c * h * w);
        if (labels != null && labels.length != n) throw new IllegalArgumentException(labels.length + " labels for " + n + " images");
        if ((long) c * h * w > Integer.MAX_VALUE / 2) throw new IllegalArgumentException("one image of " + c + "x" + h + "x" + w + " is too large");
        this.name = name;
        this.pixels = pixels;
        this.labels = labels;
        this.classNames = classNames == null ? List.of() : List.copyOf(classNames);
        this.n = n;
        this.c = c;
        this.h = h;
        this.w = w;
    }

    /** Images on the heap. */
    public static U8Images of(String name, byte[] pixels, int[] labels, List<String> classNames, int n, int c, int h, int w) {
        return new U8Images(name, MemorySegment.ofArray(pixels), labels, classNames, n, c, h, w);
    }

    @Override public String name() { return name; }
    @Override public int n() { return n; }
    @Override public int c() { return c; }
    @Override public int h() { return h; }
    @Override public int w() { return w; }
    @Override public int[] labels() { return labels; }
    @Override public List<String> classNames() { return classNames; }

    /** The pixels, (N, C, H, W) bytes. */
    public MemorySegment pixels() { return pixels; }

    /** Pixel {@code index} of the whole (N, C, H, W) array, 0..255. */
    public int pixel(long index) {
        return pixels.get(ValueLayout.JAVA_BYTE, index) & 0xFF;
    }

    /** The bytes of image {@code item} into {@code dst} from {@code offset}. */
    public void copyBytes(int item, byte[] dst, int offset) {
        if (item < 0 || item >= n) throw new IndexOutOfBoundsException("image " + item + " of " + n);
        int size = itemSize();
        MemorySegment.copy(pixels, ValueLayout.JAVA_BYTE, (long) item * size, dst, offset, size);
    }

    @Override public void copy(int item, float[] dst, int offset) {
        int size = itemSize();
        // one bulk copy of the item's bytes, then the table lookup
        byte[] row = SCRATCH.get();
        if (row.length < size) SCRATCH.set(row = new byte[size]);
        copyBytes(item, row, 0);
        for (int i = 0; i < size; i++) dst[offset + i] = Dataset.unit(row[i]);
    }

    private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[0]);

    /** A copy whose images are resized, bilinear as {@link Resize#bilinear}, each result rounded to the nearest 8-bit value. */
    public U8Images resize(int newH, int newW) {
        if (newH == h && newW == w) return this;
        byte[] out = Resize.bilinear(this, newH, newW);
        return of(name, out, labels, classNames, n, c, newH, newW);
    }

    /** The first {@code count} images, sharing this one's pixels. */
    public U8Images head(int count) {
        if (count < 1 || count > n) throw new IllegalArgumentException("head(" + count + ") of " + n + " images");
        MemorySegment view = pixels.asSlice(0, (long) count * itemSize());
        return new U8Images(name, view, labels == null ? null : Arrays.copyOf(labels, count), classNames, count, c, h, w);
    }

    @Override public String toString() {
        return "U8Images[" + name + ", (" + n + ", " + c + ", " + h + ", " + w + ")" + (labels == null ? ", no labels" : "") + "]";
    }
}
