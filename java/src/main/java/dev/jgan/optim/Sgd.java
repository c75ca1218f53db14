package dev.jgan.optim;

import dev.jgan.backend.Backend;
import dev.jgan.nn.Parameter;
import dev.jgan.tensor.Tensor;

import java.util.List;

/** SGD with optional momentum, as PyTorch computes it (see {@link Backend#sgdStep}). */
public final class Sgd extends ParameterOptimizer {
    private final float lr, momentum;
    private final List<Tensor> velocity;

    public Sgd(Backend backend, List<Parameter> parameters, float lr, float momentum) {
        super(backend, parameters);
        if (!(lr > 0)) throw new IllegalArgumentException("SGD learning rate must be > 0, got " + lr);
        this.lr = lr;
        this.momentum = momentum;
        this.velocity = buffers(parameters, "momentum_buffer").getFirst();
    }

    @Override public void step() {
        backend.sgdStep(params, grads, velocity, lr, momentum, t == 0);
        t++;
    }
}
