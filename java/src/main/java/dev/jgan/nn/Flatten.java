package dev.jgan.nn;

import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

/** (N, C, H, W) to (N, C*H*W), as a view. */
public final class Flatten extends Layer {
    @Override public Shape outputShape(Shape in) { return Shape.of(in.dim(0), in.perItem()); }

    @Override protected void allocate(Init init, RngStream rng) {}

    /** Its dx is a view of dy. */
    @Override protected boolean writesDx() { return false; }

    @Override public Tensor forward(Tensor x, boolean training) { return x.view(outShape); }

    @Override public Tensor backward(Tensor dy, GradMode mode, boolean needDx) {
        return needDx ? dy.view(inShape) : null;
    }

    @Override public java.util.Map<String, Object> spec() { return spec("Flatten"); }

    @Override public String toString() { return "Flatten"; }
}
