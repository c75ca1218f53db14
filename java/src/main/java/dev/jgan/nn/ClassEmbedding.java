package dev.jgan.nn;

import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.List;

/**
 * Conditions features on the class asked for: y = x + E[label], E (K, C) a learned vector per
 * class, added to each item's features, x (N, C) or (N, C, H, W) (then E[label] broadcast over
 * the map). The labels are the one-hot (N, K) tensor handed in by {@link #useClasses}, read as
 * {@code Y}: the term is Y E, one GEMM.
 *
 * <p>This is Mirza and Osindero's joined label: after a dense layer, Dense(x) + E[y] is exactly
 * that dense layer applied to x with the one-hot of y joined to it (its extra K weight columns
 * are E's rows), so G's first Dense followed by this layer is G of [z, onehot(y)], and D's first
 * Dense followed by it is D of [x, onehot(y)]. After a convolution it is the convolution of x
 * with K label planes joined as channels, up to the zero padding at the border.
 *
 * <p>dx is dy (a view: the layer writes none); dE = Y^T dy, summed over the map.
 */
public final class ClassEmbedding extends Layer {
    private final int classes, features;
    private Tensor table, dTable, y, oneHot, ones, perItem;
    private int spatial;

    public ClassEmbedding(int classes, int features) {
        require(classes >= 2, "a class embedding needs at least 2 classes, got " + classes);
        this.classes = classes;
        this.features = features;
    }

    @Override public Shape outputShape(Shape in) {
        require((in.rank() == 2 || in.rank() == 4) && in.dim(1) == features, this + " needs input (N, " + features + ") or (N, "
                + features + ", H, W), got " + in);
        return in;
    }

    @Override protected void allocate(Init init, RngStream rng) {
        table = backend.allocate(Shape.of(classes, features));
        dTable = backend.allocate(table.shape());
        init.weight(backend, table, classes, features, rng);   // as the K joined columns of the layer before would be
        y = backend.allocate(outShape);
        int n = inShape.dim(0);
        spatial = Math.toIntExact(inShape.perItem() / features);
        if (spatial > 1) {
            ones = backend.allocate(Shape.of(spatial));
            backend.fill(ones, 1f);
            perItem = backend.allocate(Shape.of(n, features));
        }
    }

    @Override protected boolean writesDx() { return false; }

    @Override public void useClasses(Tensor oneHot) {
        require(oneHot.shape().equals(Shape.of(inShape.dim(0), classes)), this + " needs one-hot classes (N, K) = ("
                + inShape.dim(0) + ", " + classes + "), got " + oneHot.shape());
        this.oneHot = oneHot;
    }

    @Override public int classes() { return classes; }

    @Override public Tensor forward(Tensor x, boolean training) {
        require(oneHot != null, this + ": no classes given (useClasses)");
        int n = inShape.dim(0);
        backend.copy(x, y);
        if (spatial == 1) {
            backend.gemm(false, false, n, features, classes, 1f, oneHot, table, 1f, y);        // y (N, C) += Y E
        } else {
            backend.gemm(false, false, n, features, classes, 1f, oneHot, table, 0f, perItem);  // (N, C) = Y E
            backend.gemm(false, false, n * features, spatial, 1, 1f, perItem, ones, 1f, y);    // y (N C, S) += (N C, 1) 1^T
        }
        return y;
    }

    @Override public Tensor backward(Tensor dy, GradMode mode, boolean needDx) {
        if (mode != GradMode.SKIP) {
            int n = inShape.dim(0);
            float beta = mode.accumulate() ? 1f : 0f;
            Tensor dItem = dy;
            if (spatial > 1) {
                backend.gemm(false, false, n * features, 1, spatial, 1f, dy, ones, 0f, perItem);   // (N C, 1) = dy (N C, S) 1
                dItem = perItem;
            }
            backend.gemm(true, false, classes, features, n, 1f, oneHot, dItem, beta, dTable);      // dE (K, C) = Y^T dy
        }
        return needDx ? dy : null;
    }

    @Override public List<Parameter> parameters() { return List.of(new Parameter("weight", table, dTable)); }

    @Override public java.util.Map<String, Object> spec() { return spec("ClassEmbedding", "classes", classes, "features", features); }

    @Override public String toString() { return "ClassEmbedding(" + classes + " classes -> " + features + ")"; }
}
