package dev.jgan.tensor;

/**
 * A float32, NCHW, dense tensor owned by one backend: a shape over backend storage. The data is
 * opaque here; host copies go through the owning backend and happen only at the edges (data in;
 * samples, metrics and checkpoints out).
 */
public final class Tensor {
    private final TensorOwner owner;
    private final Shape shape;
    private final Storage storage;

    public Tensor(TensorOwner owner, Shape shape, Storage storage) {
        if (shape.size() > storage.floats())
            throw new IllegalArgumentException("shape " + shape + " needs " + shape.size()
                    + " floats but the storage holds " + storage.floats());
        this.owner = owner;
        this.shape = shape;
        this.storage = storage;
    }

    /** The backend that owns the storage. */
    public TensorOwner owner() { return owner; }

    public Shape shape() { return shape; }

    public Storage storage() { return storage; }

    public long size() { return shape.size(); }

    /** The same storage under another shape with as many elements (reshape and flatten share memory). */
    public Tensor view(Shape other) {
        if (other.size() != shape.size())
            throw new IllegalArgumentException("cannot view " + shape + " as " + other);
        return new Tensor(owner, other, storage);
    }

    /**
     * The first {@code other.size()} floats of this tensor's storage under shape {@code other}: a
     * smaller tensor inside a buffer that several share in turn (a network's gradient buffers).
     */
    public Tensor viewPrefix(Shape other) {
        if (other.size() > shape.size())
            throw new IllegalArgumentException("cannot view " + other + " inside " + shape);
        return new Tensor(owner, other, storage);
    }

    /** Whether two tensors share their memory. */
    public boolean sameStorage(Tensor o) { return storage == o.storage; }

    /** Copies to a new host array. For edges only (tests, checkpoints, samples). */
    public float[] toHost() {
        float[] out = new float[shape.intSize()];
        owner.toHost(this, out);
        return out;
    }

    @Override public String toString() { return "Tensor" + shape + "@" + owner.name(); }
}
