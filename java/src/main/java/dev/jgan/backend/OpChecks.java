package dev.jgan.backend;

import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.List;

/**
 * The Backend contract's argument checks, which do not depend on where a tensor lives: shapes
 * against each other, sizes, aliasing, scalar ranges. Every backend calls these after checking
 * that each tensor is its own (null, foreign storage), so the same bad call fails with the same
 * message on every backend. Messages are built only on failure.
 */
public final class OpChecks {
    private OpChecks() {}

    /** The shapes of one convolution: image (n, c, h, w), weights (k, c, r, s), output (n, k, p, q). */
    public record ConvShape(int n, int c, int h, int w, int k, int r, int s, int p, int q) {}

    /** b has as many elements as a. */
    public static void sameSize(String op, String an, Tensor a, String bn, Tensor b) {
        if (a.size() != b.size())
            throw new IllegalArgumentException(op + ": " + bn + " " + b.shape() + " must have as many elements as "
                    + an + " " + a.shape());
    }

    /** y: (N, C, S...) and a per-channel tensor of C elements. */
    public static void channels(String op, String yn, Tensor y, String bn, Tensor b) {
        if (y.shape().rank() < 2)
            throw new IllegalArgumentException(op + ": " + yn + " " + y.shape() + " must be (N, C) or (N, C, H, W)");
        if (b.size() != y.shape().dim(1))
            throw new IllegalArgumentException(op + ": " + bn + " " + b.shape() + " must have C = " + y.shape().dim(1)
                    + " elements for " + yn + " " + y.shape());
    }

    /** The output of an op that is not elementwise must not share memory with its inputs. */
    public static void distinct(String op, String outName, Tensor out, String an, Tensor a, String bn, Tensor b) {
        if (out.sameStorage(a) || out.sameStorage(b))
            throw new IllegalArgumentException(op + ": " + outName + " " + out.shape() + " must not share memory with "
                    + an + " or " + bn);
    }

    /** A list with one tensor per parameter. */
    public static void sameCount(String op, List<Tensor> params, String name, List<Tensor> other) {
        if (params == null || other == null || params.size() != other.size())
            throw new IllegalArgumentException(op + ": " + name + " must list one tensor per parameter ("
                    + (params == null ? "params is null" : params.size() + " params") + ", "
                    + (other == null ? name + " is null" : other.size() + " " + name) + ")");
    }

    /** Element i of an optimizer's list t has as many elements as params[i]. */
    public static void slotSize(String op, Tensor p, String name, int i, Tensor t) {
        if (t.size() != p.size())
            throw new IllegalArgumentException(op + ": " + name + "[" + i + "] " + t.shape()
                    + " must have as many elements as params[" + i + "] " + p.shape());
    }

    /**
     * An optimizer step's lists: one tensor per parameter in each, each as large as its parameter.
     * The ownership of each tensor is the backend's own check; this one builds no string unless it fails.
     */
    public static void optimizerLists(String op, List<Tensor> params, String[] names, List<Tensor>[] lists) {
        for (int j = 0; j < lists.length; j++) sameCount(op, params, names[j], lists[j]);
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            if (p == null) throw new IllegalArgumentException(op + ": params[" + i + "] is null");
            for (int j = 0; j < lists.length; j++) {
                Tensor t = lists[j].get(i);
                if (t == null) throw new IllegalArgumentException(op + ": " + names[j] + "[" + i + "] is null");
                slotSize(op, p, names[j], i, t);
            }
        }
    }

    private static final String[] ADAM_LISTS = {"grads", "m", "v"}, SGD_LISTS = {"grads", "velocity"},
            RMSPROP_LISTS = {"grads", "squareAvg"};

    /** adamStep's arguments: t at least 1, grads, m and v one per parameter and of its size. */
    @SuppressWarnings("unchecked")
    public static void adam(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, int t) {
        if (t < 1) throw new IllegalArgumentException("adamStep: step t must be at least 1, got " + t);
        optimizerLists("adamStep", params, ADAM_LISTS, new List[] {grads, m, v});
    }

    /** sgdStep's arguments: grads and velocity one per parameter and of its size. */
    @SuppressWarnings("unchecked")
    public static void sgd(List<Tensor> params, List<Tensor> grads, List<Tensor> velocity) {
        optimizerLists("sgdStep", params, SGD_LISTS, new List[] {grads, velocity});
    }

    /** rmspropStep: grads and squareAvg parallel to params, tensor for tensor of one size. */
    @SuppressWarnings("unchecked")
    public static void rmsprop(List<Tensor> params, List<Tensor> grads, List<Tensor> squareAvg) {
        optimizerLists("rmspropStep", params, RMSPROP_LISTS, new List[] {grads, squareAvg});
    }

    /** criticLoss: a kind, dLogits as large as logits, three stats floats at the slot. */
    public static void criticLoss(CriticLoss kind, Tensor logits, Tensor dLogits, Tensor stats, int slot) {
        if (kind == null) throw new IllegalArgumentException("criticLoss: kind is null");
        sameSize("criticLoss", "logits", logits, "dLogits", dLogits);
        statsSlot("criticLoss", stats, slot, 3);
    }

    /**
     * multiply: y of a's size; b of a's size or one value per row of a (N = a.shape().dim(0)); y
     * apart from b when b is one value a row (a row's first product would overwrite the values of
     * the rows after it). Returns the row length F, the elements of a that share one value of b:
     * 1 when b has a's size.
     */
    public static long multiply(Tensor a, Tensor b, Tensor y) {
        sameSize("multiply", "a", a, "y", y);
        long rows = a.shape().dim(0);
        if (b.size() != a.size() && b.size() != rows)
            throw new IllegalArgumentException("multiply: b " + b.shape() + " has " + b.size() + " elements, but must have"
                    + " as many as a " + a.shape() + " (" + a.size() + ") or one per row of it (" + rows + ")");
        long rowLength = a.size() / b.size();
        if (rowLength > 1 && y.sameStorage(b))
            throw new IllegalArgumentException("multiply: y " + y.shape() + " must not share memory with b " + b.shape()
                    + " when b has one value per row of a " + a.shape());
        return rowLength;
    }

    /** clamp: lo <= hi (neither NaN). */
    public static void clamp(float lo, float hi) {
        if (!(lo <= hi)) throw new IllegalArgumentException("clamp: lo must be <= hi, got " + lo + " and " + hi);
    }

    /**
     * The matrix view of a spectral norm's weight: its rows are dim 0 or 1 of a w of rank at least
     * 2; returns {rows, outer, inner} with
     * M[r, o inner + j] = w[(o rows + r) inner + j]. u has rows floats, v cols = outer inner,
     * wsn (and g, dw) w's size, work 2 + rows; wsn and work share no memory with w, u or v.
     */
    public static int[] spectralNorm(String op, Tensor w, int dim, Tensor u, Tensor v, Tensor wsn, Tensor work) {
        Shape s = w.shape();
        if (dim < 0 || dim > 1 || s.rank() < 2 || dim >= s.rank())
            throw new IllegalArgumentException(op + ": dim must be 0 or 1 of a weight of rank >= 2, got dim " + dim + " of " + s);
        int rows = s.dim(dim), outer = dim == 0 ? 1 : s.dim(0);
        int inner = Math.toIntExact(w.size() / ((long) rows * outer));
        long cols = (long) outer * inner;
        if (u.size() != rows) throw new IllegalArgumentException(op + ": u " + u.shape() + " must have " + rows + " elements for w " + s);
        if (v.size() != cols) throw new IllegalArgumentException(op + ": v " + v.shape() + " must have " + cols + " elements for w " + s);
        sameSize(op, "w", w, "wsn", wsn);
        if (work.size() != 2L + rows)
            throw new IllegalArgumentException(op + ": work " + work.shape() + " must have 2 + rows = " + (2 + rows) + " elements");
        distinct(op, "wsn", wsn, "w", w, "u", u);
        distinct(op, "wsn", wsn, "v", v, "work", work);
        distinct(op, "work", work, "w", w, "u", u);
        distinct(op, "work", work, "v", v, "wsn", wsn);
        return new int[] {rows, outer, inner};
    }

    /**
     * diffAugment and its backward (named by op): a kind, x (N, C, H, W), y of x's shape, params
     * (N, kind.params()); y apart from x for TRANSLATION (it gathers from other pixels).
     */
    public static void diffAugment(String op, DiffAugment kind, String xn, Tensor x, Tensor params, String yn, Tensor y) {
        if (kind == null) throw new IllegalArgumentException(op + ": kind is null");
        if (x.shape().rank() != 4) throw new IllegalArgumentException(op + ": " + xn + " " + x.shape() + " must be (N, C, H, W)");
        if (!y.shape().equals(x.shape()))
            throw new IllegalArgumentException(op + ": " + yn + " " + y.shape() + " must have " + xn + "'s shape " + x.shape());
        Shape want = Shape.of(x.shape().dim(0), kind.params());
        if (!params.shape().equals(want))
            throw new IllegalArgumentException(op + ": params " + params.shape() + " must be " + want + " for " + kind.flag());
        if (kind == DiffAugment.TRANSLATION) distinct(op, yn, y, xn, x, "params", params);
        else if (y.sameStorage(params)) distinct(op, yn, y, "params", params, "params", params);
    }

    /** dropoutBackward: dy, mask and dx of one size. */
    public static void dropoutBackward(Tensor dy, Tensor mask, Tensor dx) {
        sameSize("dropoutBackward", "dy", dy, "mask", mask);
        sameSize("dropoutBackward", "dy", dy, "dx", dx);
    }

    /** bceWithLogits: targets (when given) and dLogits as large as logits, three stats floats at the slot. */
    public static void bce(Tensor logits, Tensor targets, Tensor dLogits, Tensor stats, int slot) {
        if (targets != null) sameSize("bceWithLogits", "logits", logits, "targets", targets);
        sameSize("bceWithLogits", "logits", logits, "dLogits", dLogits);
        statsSlot("bceWithLogits", stats, slot, 3);
    }

    /** softmax: x is (N, K) rows, y its size. */
    public static void softmax(Tensor x, Tensor y) {
        rows("softmax", "x", x);
        sameSize("softmax", "x", x, "y", y);
    }

    /** maxPool2x2Forward: y is x pooled 2x2 and apart from it. */
    public static void maxPoolForward(Tensor x, Tensor y) {
        pooled("maxPool2x2Forward", x, "y", y);
        distinct("maxPool2x2Forward", "y", y, "x", x, "x", x);
    }

    /** batchNormTrain (and its fused form, named by op): y as large as x, each statistics tensor one float per channel. */
    public static void batchNormTrain(String op, Tensor x, Tensor y, Tensor gamma, Tensor beta, Tensor runningMean,
                                      Tensor runningVar, Tensor saveMean, Tensor saveInvStd) {
        sameSize(op, "x", x, "y", y);
        channels(op, "x", x, "gamma", gamma);
        channels(op, "x", x, "beta", beta);
        channels(op, "x", x, "runningMean", runningMean);
        channels(op, "x", x, "runningVar", runningVar);
        channels(op, "x", x, "saveMean", saveMean);
        channels(op, "x", x, "saveInvStd", saveInvStd);
    }

    /** batchNormInfer: y as large as x, gamma, beta and the running statistics one float per channel. */
    public static void batchNormInfer(Tensor x, Tensor y, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar) {
        String op = "batchNormInfer";
        sameSize(op, "x", x, "y", y);
        channels(op, "x", x, "gamma", gamma);
        channels(op, "x", x, "beta", beta);
        channels(op, "x", x, "runningMean", runningMean);
        channels(op, "x", x, "runningVar", runningVar);
    }

    /** batchNormBackward (and the fused backward's part, named by op): dy and dx as large as x, the rest per channel. */
    public static void batchNormBackward(String op, Tensor x, Tensor dy, Tensor dx, Tensor gamma, Tensor saveMean,
                                         Tensor saveInvStd, Tensor dGamma, Tensor dBeta) {
        sameSize(op, "x", x, "dy", dy);
        sameSize(op, "x", x, "dx", dx);
        channels(op, "x", x, "gamma", gamma);
        channels(op, "x", x, "saveMean", saveMean);
        channels(op, "x", x, "saveInvStd", saveInvStd);
        channels(op, "x", x, "dGamma", dGamma);
        channels(op, "x", x, "dBeta", dBeta);
    }

    /** batchNormLeakyReluTrain: as batchNormTrain, and a slope >= 0. */
    public static void batchNormLeakyReluTrain(Tensor x, Tensor y, Tensor gamma, Tensor beta, Tensor runningMean,
                                               Tensor runningVar, Tensor saveMean, Tensor saveInvStd, float slope) {
        batchNormTrain("batchNormLeakyReluTrain", x, y, gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        slope("batchNormLeakyReluTrain", slope);
    }

    /** batchNormLeakyReluBackward: y, dy and dx as large as x, gamma, beta and the rest per channel, a slope >= 0. */
    public static void batchNormLeakyReluBackward(Tensor x, Tensor y, Tensor dy, Tensor dx, Tensor gamma, Tensor beta,
                                                  Tensor saveMean, Tensor saveInvStd, Tensor dGamma, Tensor dBeta, float slope) {
        String op = "batchNormLeakyReluBackward";
        sameSize(op, "x", x, "y", y);
        batchNormBackward(op, x, dy, dx, gamma, saveMean, saveInvStd, dGamma, dBeta);
        channels(op, "x", x, "beta", beta);
        slope(op, slope);
    }

    /** Row-major C (m, n) = op(A) op(B): positive sizes, operand sizes, C apart from A and B. */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, Tensor a, Tensor b, Tensor c) {
        if (m <= 0 || n <= 0 || k <= 0)
            throw new IllegalArgumentException("gemm: m, n, k must be positive, got " + m + ", " + n + ", " + k);
        gemmOperand("A", a, transA ? "(k, m)" : "(m, k)", (long) m * k, m, n, k);
        gemmOperand("B", b, transB ? "(n, k)" : "(k, n)", (long) k * n, m, n, k);
        gemmOperand("C", c, "(m, n)", (long) m * n, m, n, k);
        if (c.sameStorage(a) || c.sameStorage(b))
            throw new IllegalArgumentException("gemm: C " + c.shape() + " must not share memory with A or B");
    }

    private static void gemmOperand(String name, Tensor t, String layout, long needed, int m, int n, int k) {
        if (t.size() != needed)
            throw new IllegalArgumentException("gemm: " + name + " " + t.shape() + " has " + t.size()
                    + " elements, but " + layout + " with (m, n, k) = (" + m + ", " + n + ", " + k + ") needs " + needed);
    }

    /**
     * Checks a convolution's three shapes against each other and the geometry: image (N, C, H, W)
     * (x or dx), weights (K, C, R, S) (w or dw, {@code filterGradient}), output (N, K, P, Q) (y or
     * dy) with P and Q from {@link ConvGeometry#outH}/{@link ConvGeometry#outW}; so a dx up to
     * stride - 1 rows larger than the minimum (output padding) passes.
     */
    public static ConvShape conv(boolean filterGradient, String op, String imageName, Tensor image, Tensor weights,
                                 String outName, Tensor out, ConvGeometry g) {
        String weightsName = filterGradient ? "dw" : "w";
        if (g == null) throw new IllegalArgumentException(op + ": the geometry is null");
        Shape is = image.shape(), ws = weights.shape(), os = out.shape();
        if (is.rank() != 4 || ws.rank() != 4 || os.rank() != 4)
            throw new IllegalArgumentException(op + ": " + imageName + " " + is + ", " + weightsName + " " + ws + " and "
                    + outName + " " + os + " must all be rank 4: (N, C, H, W), (K, C, R, S), (N, K, P, Q)");
        if (ws.dim(1) != is.dim(1))
            throw new IllegalArgumentException(op + ": " + weightsName + " " + ws + " must have C = " + is.dim(1)
                    + " input channels (dimension 1) for " + imageName + " " + is);
        int p, q;
        try {
            p = g.outH(is.dim(2), ws.dim(2));
            q = g.outW(is.dim(3), ws.dim(3));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(op + ": " + e.getMessage() + " for " + imageName + " " + is + ", "
                    + weightsName + " " + ws + ", " + describe(g));
        }
        if (os.dim(0) != is.dim(0) || os.dim(1) != ws.dim(0) || os.dim(2) != p || os.dim(3) != q)
            throw new IllegalArgumentException(op + ": " + outName + " " + os + " must be " + Shape.of(is.dim(0), ws.dim(0), p, q)
                    + " for " + imageName + " " + is + ", " + weightsName + " " + ws + ", " + describe(g));
        return new ConvShape(is.dim(0), is.dim(1), is.dim(2), is.dim(3), ws.dim(0), ws.dim(2), ws.dim(3), p, q);
    }

    private static String describe(ConvGeometry g) {
        return "stride " + g.strideH() + "x" + g.strideW() + ", padding " + g.padH() + "x" + g.padW();
    }

    /** Dropout's drop probability is in [0, 1), and the mask is apart from x and y. */
    public static void dropout(String op, Tensor x, Tensor mask, Tensor y, float p) {
        sameSize(op, "x", x, "mask", mask);
        sameSize(op, "x", x, "y", y);
        if (!(p >= 0f && p < 1f)) throw new IllegalArgumentException(op + ": p must be in [0, 1), got " + p);
        if (mask.sameStorage(x) || mask.sameStorage(y))
            throw new IllegalArgumentException(op + ": mask " + mask.shape() + " must not share memory with x or y");
    }

    /** A LeakyReLU slope is >= 0 (0 is ReLU): the backward reads the sign of the input from the output. */
    public static void slope(String op, float slope) {
        if (!(slope >= 0f)) throw new IllegalArgumentException(op + ": LeakyReLU slope must be >= 0, got " + slope);
    }

    /** An elementwise backward: dy and dx have y's size. */
    public static void backward(String op, Tensor y, Tensor dy, Tensor dx) {
        sameSize(op, "y", y, "dy", dy);
        sameSize(op, "y", y, "dx", dx);
    }

    /** stats[slot .. slot + width - 1] exist. */
    public static void statsSlot(String op, Tensor stats, int slot, int width) {
        if (slot < 0 || slot + (long) width > stats.size())
            throw new IllegalArgumentException(op + ": slot " + slot + " needs stats[" + slot + ".." + (slot + width - 1)
                    + "], but stats " + stats.shape() + " has " + stats.size() + " elements");
    }

    /** (N, K) rows. */
    public static void rows(String op, String name, Tensor t) {
        if (t.shape().rank() != 2)
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " must be (N, K)");
    }

    /** Softmax cross-entropy: logits (N, K), dLogits of its size, one label per row, two stats slots. */
    public static void softmaxCrossEntropy(String op, Tensor logits, Tensor labels, Tensor dLogits, Tensor stats, int slot) {
        rows(op, "logits", logits);
        sameSize(op, "logits", logits, "dLogits", dLogits);
        if (labels.size() != logits.shape().dim(0))
            throw new IllegalArgumentException(op + ": labels " + labels.shape() + " must hold one label per row of logits " + logits.shape());
        statsSlot(op, stats, slot, 2);
    }

    /** x (N, C, H, W) with H, W >= 2 and a pooled tensor (N, C, H / 2, W / 2). */
    public static void pooled(String op, Tensor x, String name, Tensor t) {
        Shape s = x.shape();
        if (s.rank() != 4 || s.dim(2) < 2 || s.dim(3) < 2)
            throw new IllegalArgumentException(op + ": x " + s + " must be (N, C, H, W) with H, W >= 2");
        Shape want = Shape.of(s.dim(0), s.dim(1), s.dim(2) / 2, s.dim(3) / 2);
        if (!t.shape().equals(want))
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " must be " + want + " for x " + s);
    }

    /** 2x2 max pooling's backward: y and dy pooled from x, dx of x's shape and apart from the rest. */
    public static void maxPoolBackward(String op, Tensor x, Tensor y, Tensor dy, Tensor dx) {
        pooled(op, x, "y", y);
        pooled(op, x, "dy", dy);
        if (!dx.shape().equals(x.shape()))
            throw new IllegalArgumentException(op + ": dx " + dx.shape() + " must have x's shape " + x.shape());
        distinct(op, "dx", dx, "x", x, "y", y);
        distinct(op, "dx", dx, "dy", dy, "dy", dy);
    }

    /** ema: avg and x of one size, decay in [0, 1]. */
    public static void ema(Tensor avg, Tensor x, float decay) {
        sameSize("ema", "avg", avg, "x", x);
        if (!(decay >= 0f && decay <= 1f)) throw new IllegalArgumentException("ema: decay must be in [0, 1], got " + decay);
    }
}
