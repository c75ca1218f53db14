package dev.jgan.nn;

import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The last layer of a class-conditional discriminator: one logit per item from features x (N, F),
 * given the one-hot classes Y (N, K) of {@link #useClasses},
 *
 * <pre>
 * logit = x w^T + b                         plain (the classes joined earlier, {@link ClassEmbedding})
 * logit = x w^T + b + &lt;x, E[label]&gt;        with {@code projection} (Miyato and Koyama 2018), E (K, F)
 * </pre>
 *
 * The projection term is computed as P = x E^T (N, K), then the row sums of P Y: the inner
 * product with the asked class's embedding, without gathering rows. With the
 * {@link #auxiliary auxiliary classifier} (AC-GAN, Odena et al. 2017) the layer also computes class
 * logits C = x Wc^T + bc (N, K) into {@link #classLogits()}; whoever runs the loss writes their
 * gradient into {@link #classGradient()} after each training forward, and backward adds what it
 * says to x's and Wc's gradients.
 *
 * <p>Parameters: {@code weight} (1, F), {@code bias} (1), then {@code embed} (K, F) with
 * projection, {@code class_weight} (K, F) and {@code class_bias} (K) with the classifier.
 */
public final class ClassHead extends Layer {
    private final int features, classes;
    private final boolean projection;
    private boolean auxiliary;
    private Tensor weight, dWeight, bias, dBias, embed, dEmbed, classWeight, dClassWeight, classBias, dClassBias;
    private Tensor y, x, oneHot, scores, picked, onesK, classLogits, classGrad;

    public ClassHead(int features, int classes, boolean projection) {
        require(classes >= 2, "a class head needs at least 2 classes, got " + classes);
        this.features = features;
        this.classes = classes;
        this.projection = projection;
    }

    /** Adds AC-GAN's auxiliary classifier, from the next build on; returns this. */
    public ClassHead auxiliary() {
        auxiliary = true;
        return this;
    }

    public boolean hasAuxiliary() { return auxiliary; }

    @Override public Shape outputShape(Shape in) {
        require(in.rank() == 2 && in.dim(1) == features, this + " needs input (N, " + features + "), got " + in);
        return Shape.of(in.dim(0), 1);
    }

    @Override protected void allocate(Init init, RngStream rng) {
        int n = inShape.dim(0);
        weight = backend.allocate(Shape.of(1, features));
        dWeight = backend.allocate(weight.shape());
        init.weight(backend, weight, features, 1, rng);
        bias = backend.allocate(Shape.of(1));
        dBias = backend.allocate(bias.shape());
        init.bias(backend, bias, features, rng);
        y = backend.allocate(outShape);
        if (projection) {
            embed = backend.allocate(Shape.of(classes, features));
            dEmbed = backend.allocate(embed.shape());
            init.weight(backend, embed, features, classes, rng);
            scores = backend.allocate(Shape.of(n, classes));
            picked = backend.allocate(scores.shape());
            onesK = backend.allocate(Shape.of(classes));
            backend.fill(onesK, 1f);
        }
        if (auxiliary) {
            classWeight = backend.allocate(Shape.of(classes, features));
            dClassWeight = backend.allocate(classWeight.shape());
            init.weight(backend, classWeight, features, classes, rng);
            classBias = backend.allocate(Shape.of(classes));
            dClassBias = backend.allocate(classBias.shape());
            init.bias(backend, classBias, features, rng);
            classLogits = backend.allocate(Shape.of(n, classes));
            classGrad = backend.allocate(classLogits.shape());
        }
    }

    @Override public void useClasses(Tensor oneHot) {
        require(oneHot.shape().equals(Shape.of(inShape.dim(0), classes)), this + " needs one-hot classes (N, K) = ("
                + inShape.dim(0) + ", " + classes + "), got " + oneHot.shape());
        this.oneHot = oneHot;
    }

    @Override public int classes() { return classes; }

    /** The auxiliary classifier's logits (N, K) of the last forward; null without it. */
    public Tensor classLogits() { return classLogits; }

    /** Where the loss writes d(loss)/d(class logits) (N, K) for the next backward; null without the classifier. */
    public Tensor classGradient() { return classGrad; }

    @Override public Tensor forward(Tensor x, boolean training) {
        int n = inShape.dim(0);
        this.x = x;
        backend.gemm(false, true, n, 1, features, 1f, x, weight, 0f, y);            // (N, 1) = x w^T
        backend.addBias(y, bias);
        if (projection) {
            require(oneHot != null, this + ": no classes given (useClasses)");
            backend.gemm(false, true, n, classes, features, 1f, x, embed, 0f, scores);   // P (N, K) = x E^T
            backend.multiply(scores, oneHot, picked);                                   // P Y: the asked class's score
            backend.gemm(false, false, n, 1, classes, 1f, picked, onesK, 1f, y);        // += its row sum
        }
        if (auxiliary) {
            backend.gemm(false, true, n, classes, features, 1f, x, classWeight, 0f, classLogits);
            backend.addBias(classLogits, classBias);
        }
        return y;
    }

    @Override public Tensor backward(Tensor dy, GradMode mode, boolean needDx) {
        int n = inShape.dim(0);
        if (projection) backend.multiply(oneHot, dy, picked);   // dP (N, K) = Y dy: only the asked class's score moves
        if (mode != GradMode.SKIP) {
            float beta = mode.accumulate() ? 1f : 0f;
            backend.gemm(true, false, 1, features, n, 1f, dy, x, beta, dWeight);        // dw (1, F) = dy^T x
            backend.biasGrad(dy, dBias, mode.accumulate());
            if (projection) backend.gemm(true, false, classes, features, n, 1f, picked, x, beta, dEmbed);   // dE = dP^T x
            if (auxiliary) {
                backend.gemm(true, false, classes, features, n, 1f, classGrad, x, beta, dClassWeight);
                backend.biasGrad(classGrad, dClassBias, mode.accumulate());
            }
        }
        if (!needDx) return null;
        backend.gemm(false, false, n, features, 1, 1f, dy, weight, 0f, dx);            // dx (N, F) = dy w
        if (projection) backend.gemm(false, false, n, features, classes, 1f, picked, embed, 1f, dx);          // += dP E
        if (auxiliary) backend.gemm(false, false, n, features, classes, 1f, classGrad, classWeight, 1f, dx);  // += dC Wc
        return dx;
    }

    @Override public List<Parameter> parameters() {
        List<Parameter> ps = new ArrayList<>(weightAndBias(weight, dWeight, bias, dBias));
        if (projection) ps.add(new Parameter("embed", embed, dEmbed));
        if (auxiliary) {
            ps.add(new Parameter("class_weight", classWeight, dClassWeight));
            ps.add(new Parameter("class_bias", classBias, dClassBias));
        }
        return List.copyOf(ps);
    }

    @Override public java.util.Map<String, Object> spec() { return spec("ClassHead", "features", features, "classes", classes, "projection", projection); }

    @Override public String toString() {
        return "ClassHead(" + features + " -> 1, " + classes + " classes" + (projection ? ", projection" : "")
                + (auxiliary ? ", auxiliary classifier" : "") + ")";
    }
}
