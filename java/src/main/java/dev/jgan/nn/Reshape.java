package dev.jgan.nn;

import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

/**
 * Reinterprets each item as another shape with as many elements: (N, 784) to (N, 1, 28, 28), or
 * (N, 12544) to (N, 256, 7, 7). A view: no copy forward or backward.
 */
public class Reshape extends Layer {
    private final Shape item;

    /** @param item the shape of one item, without the batch dimension */
    public Reshape(int... item) { this.item = Shape.of(item); }

    @Override public Shape outputShape(Shape in) {
        require(in.perItem() == item.size(), this + " cannot reshape items of " + in + " (" + in.perItem() + " values)");
        return item.batched(in.dim(0));
    }

    @Override protected void allocate(Init init, RngStream rng) {}

    /** Its dx is a view of dy. */
    @Override protected boolean writesDx() { return false; }

    @Override public Tensor forward(Tensor x, boolean training) { return x.view(outShape); }

    @Override public Tensor backward(Tensor dy, GradMode mode, boolean needDx) {
        return needDx ? dy.view(inShape) : null;
    }

    @Override public java.util.Map<String, Object> spec() { return spec("Reshape", "item", java.util.Arrays.stream(item.dims()).boxed().toList()); }

    @Override public String toString() { return "Reshape" + item; }
}
