package dev.jgan.nn;

import dev.jgan.backend.Backend;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Layers applied in order. Parameters and buffers are named as PyTorch's nn.Sequential names them
 * ({@code prefix.index.local}, e.g. {@code g.0.weight}, {@code g.2.running_mean}), so checkpoints
 * map one to one onto the equivalent PyTorch model's state_dict.
 */
public final class Sequential {
    private final String prefix;
    private final List<Layer> layers;
    private Shape inShape, outShape;
    private List<Parameter> parameters;
    /** Index of the first layer with parameters (layers.size() when none has), set by build. */
    private int firstWithParameters;
    private Map<String, Tensor> buffers;
    /** The gradient buffers the layers' dx are views of (two, or none when no layer writes a dx), set by build. */
    private List<Tensor> gradientBuffers;

    public Sequential(String prefix, List<Layer> layers) {
        this.prefix = prefix;
        this.layers = List.copyOf(layers);
    }

    /**
     * Builds every layer for input {@code in} (batch first), initialising parameters from {@code rng}.
     * A BatchNorm directly followed by a ReLU or LeakyReLU is fused first: the BatchNorm applies the
     * activation in its own op and the activation passes through, keeping both indices (and so
     * every parameter and buffer name).
     *
     * <p>The layers' input gradients share two buffers, each as large as the largest dx. A dx is
     * read only by the backward of the layer before it, as its dy, so walking back from the last
     * layer each layer that writes a dx takes the buffer its dy is not in; a layer that passes dy
     * through (a reshape, a fused activation) leaves it where it is. The dx this network's backward
     * returns is therefore valid until its next backward.
     */
    public Sequential build(Backend b, Shape in, Init init, RngStream rng) {
        return build(b, in, init, rng, true);
    }

    /** {@link #build}, with {@code shareDx} false giving every layer its own dx (the reference for tests). */
    Sequential build(Backend b, Shape in, Init init, RngStream rng, boolean shareDx) {
        for (int i = 0; i + 1 < layers.size(); i++) {
            if (layers.get(i) instanceof BatchNorm bn && layers.get(i + 1) instanceof Activation a) {
                float slope = a.batchNormFusableSlope();
                if (slope >= 0) {
                    bn.fuseLeakyRelu(slope);
                    a.fuseIntoBatchNorm();
                }
            }
        }
        inShape = in;
        Shape s = in;
        for (Layer l : layers) s = shareDx ? l.buildSharingDx(b, s, init, rng) : l.build(b, s, init, rng);
        outShape = s;
        gradientBuffers = shareDx ? shareGradients(b) : List.of();
        List<Parameter> ps = new ArrayList<>();
        Map<String, Tensor> bs = new LinkedHashMap<>();
        firstWithParameters = layers.size();
        for (int i = 0; i < layers.size(); i++) {
            String base = prefix + "." + i + ".";
            if (!layers.get(i).parameters().isEmpty()) firstWithParameters = Math.min(firstWithParameters, i);
            for (Parameter p : layers.get(i).parameters()) ps.add(p.withName(base + p.name()));
            for (var e : layers.get(i).buffers().entrySet()) bs.put(base + e.getKey(), e.getValue());
        }
        parameters = List.copyOf(ps);
        buffers = Collections.unmodifiableMap(bs);
        return this;
    }

    /** Points each layer's dx at a view of one of two buffers, taken in turn along the backward chain; returns them. */
    private List<Tensor> shareGradients(Backend b) {
        long largest = 0;
        for (Layer l : layers) if (l.writesDx()) largest = Math.max(largest, l.inShape().size());
        if (largest == 0) return List.of();
        Shape size = Shape.of(Math.toIntExact(largest));
        List<Tensor> buffers = List.of(b.allocate(size), b.allocate(size));
        int dyIn = 1;   // the last layer's dy (the loss's gradient) is in neither: it takes buffer 0
        for (int i = layers.size() - 1; i >= 0; i--) {
            Layer l = layers.get(i);
            if (!l.writesDx()) continue;
            int mine = 1 - dyIn;
            l.useDx(buffers.get(mine).viewPrefix(l.inShape()));
            dyIn = mine;
        }
        return buffers;
    }

    /** The noise stream every random layer (dropout) draws from in training. */
    public void setNoise(RngStream noise) {
        for (Layer l : layers) l.setNoise(noise);
    }

    /** Points every class-conditional layer at the one-hot classes (N, K) {@code oneHot} (see {@link Layer#useClasses}). */
    public void useClasses(Tensor oneHot) {
        for (Layer l : layers) l.useClasses(oneHot);
    }

    /** The classes K the network is conditioned on, or 0 when no layer is class-conditional. */
    public int classes() {
        for (Layer l : layers) if (l.classes() > 0) return l.classes();
        return 0;
    }

    public Tensor forward(Tensor x, boolean training) {
        for (Layer l : layers) x = l.forward(x, training);
        return x;
    }

    /**
     * Backpropagates dy through every layer (last first); returns dx of the network's input, or
     * null when {@code needInputGrad} is false. Then no gradient is computed below the first layer
     * with parameters: it skips its dx, and the parameter-free layers before it (a Flatten in front
     * of D's first Dense) are not run backward at all.
     */
    public Tensor backward(Tensor dy, GradMode mode, boolean needInputGrad) {
        for (int i = layers.size() - 1; i >= 0 && dy != null; i--)
            dy = layers.get(i).backward(dy, mode, needInputGrad || i > firstWithParameters);
        return needInputGrad ? dy : null;
    }

    public List<Parameter> parameters() { return parameters; }

    public Map<String, Tensor> buffers() { return buffers; }

    public List<Layer> layers() { return layers; }

    /** The buffers the layers' input gradients are views of (see {@link #build}): two, or none when no layer writes a dx. */
    public List<Tensor> gradientBuffers() { return gradientBuffers; }

    public Shape inShape() { return inShape; }

    public Shape outShape() { return outShape; }

    public String prefix() { return prefix; }

    public long parameterCount() {
        long n = 0;
        for (Parameter p : parameters) n += p.value().size();
        return n;
    }

    @Override public String toString() {
        StringBuilder b = new StringBuilder(prefix).append(": ");
        for (int i = 0; i < layers.size(); i++) b.append(i == 0 ? "" : ", ").append(layers.get(i));
        return b.toString();
    }
}
