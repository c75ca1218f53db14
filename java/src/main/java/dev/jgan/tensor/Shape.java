package dev.jgan.tensor;

import java.util.Arrays;

/**
 * An immutable tensor shape. Layout is always NCHW, row-major: the last dimension is contiguous.
 * Dimension 0 is the batch dimension wherever a shape describes a batch.
 */
public final class Shape {
    private final int[] dims;
    private final long size;

    private Shape(int[] dims) {
        if (dims.length == 0) throw new IllegalArgumentException("a shape needs at least one dimension");
        long n = 1;
        for (int d : dims) {
            if (d <= 0) throw new IllegalArgumentException("dimensions must be positive: " + Arrays.toString(dims));
            n = Math.multiplyExact(n, d);
        }
        this.dims = dims;
        this.size = n;
    }

    public static Shape of(int... dims) {
        return new Shape(dims.clone());
    }

    public int rank() { return dims.length; }

    public int dim(int i) { return dims[i < 0 ? dims.length + i : i]; }

    public int[] dims() { return dims.clone(); }

    /** Number of elements. */
    public long size() { return size; }

    /** Number of elements as an int, for host arrays; fails if the tensor is too large for one. */
    public int intSize() { return Math.toIntExact(size); }

    /** Elements per item of the batch: the product of all dimensions after the first. */
    public int perItem() { return Math.toIntExact(size / dims[0]); }

    /** Elements per channel of one item: the product of all dimensions after the second (1 for (N, C)). */
    public int spatial() {
        long s = 1;
        for (int i = 2; i < dims.length; i++) s *= dims[i];
        return Math.toIntExact(s);
    }

    /** The same item shape with another batch size. */
    public Shape withBatch(int n) {
        int[] d = dims.clone();
        d[0] = n;
        return new Shape(d);
    }

    /** The item shape without the batch dimension, or (1) for a rank-1 shape. */
    public Shape item() {
        return dims.length == 1 ? Shape.of(1) : new Shape(Arrays.copyOfRange(dims, 1, dims.length));
    }

    /** Prepends a batch dimension to this item shape. */
    public Shape batched(int n) {
        int[] d = new int[dims.length + 1];
        d[0] = n;
        System.arraycopy(dims, 0, d, 1, dims.length);
        return new Shape(d);
    }

    @Override public boolean equals(Object o) { return o instanceof Shape s && Arrays.equals(dims, s.dims); }

    @Override public int hashCode() { return Arrays.hashCode(dims); }

    @Override public String toString() {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < dims.length; i++) b.append(i == 0 ? "" : ", ").append(dims[i]);
        return b.append(')').toString();
    }
}
