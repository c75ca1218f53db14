package dev.jgan.nn;

import dev.jgan.tensor.Tensor;

/** A trainable tensor and its gradient, under a PyTorch-style name such as {@code g.0.weight}. */
public record Parameter(String name, Tensor value, Tensor grad) {
    public Parameter withName(String newName) { return new Parameter(newName, value, grad); }
}
