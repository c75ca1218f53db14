package dev.jgan.nn;

import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

/** 2x2 max pooling with stride 2: (N, C, H, W) to (N, C, H / 2, W / 2), as PyTorch's MaxPool2d(2). */
public final class MaxPool2d extends Layer {
    private Tensor y, x;

    @Override public Shape outputShape(Shape s) {
        require(s.rank() == 4 && s.dim(2) >= 2 && s.dim(3) >= 2, this + " needs input (N, C, H, W) with H, W >= 2, got " + s);
        return Shape.of(s.dim(0), s.dim(1), s.dim(2) / 2, s.dim(3) / 2);
    }

    @Override protected void allocate(Init init, RngStream rng) {
        y = backend.allocate(outShape);
    }

    @Override public Tensor forward(Tensor x, boolean training) {
        this.x = x;
        backend.maxPool2x2Forward(x, y);
        return y;
    }

    @Override public Tensor backward(Tensor dy, GradMode mode, boolean needDx) {
        if (!needDx) return null;
        backend.maxPool2x2Backward(x, y, dy, dx);
        return dx;
    }

    @Override public java.util.Map<String, Object> spec() { return spec("MaxPool2d"); }

    @Override public String toString() { return "MaxPool2d(2)"; }
}
