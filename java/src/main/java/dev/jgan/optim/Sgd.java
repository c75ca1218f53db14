package dev.jgan.optim;

import dev.jgan.backend.Backend;
import dev.jgan.nn.Parameter;
import dev.jgan.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** SGD with optional momentum, as PyTorch computes it (see {@link Backend#sgdStep}). */
public final class Sgd implements Optimizer {
    private final Backend backend;
    private final float lr, momentum;
    private final List<Tensor> params = new ArrayList<>(), grads = new ArrayList<>(), velocity = new ArrayList<>();
    private final Map<String, Tensor> state = new LinkedHashMap<>();
    private int t;

    public Sgd(Backend backend, List<Parameter> parameters, float lr, float momentum) {
        if (!(lr > 0)) throw new IllegalArgumentException("SGD learning rate must be > 0, got " + lr);
        this.backend = backend;
        this.lr = lr;
        this.momentum = momentum;
        for (Parameter p : parameters) {
            params.add(p.value());
            grads.add(p.grad());
            Tensor buf = backend.allocate(p.value().shape());
            velocity.add(buf);
            state.put(p.name() + ".momentum_buffer", buf);
        }
    }

    @Override public void step() {
        backend.sgdStep(params, grads, velocity, lr, momentum, t == 0);
        t++;
    }

    @Override public int steps() { return t; }

    @Override public void setSteps(int steps) { t = steps; }

    @Override public Map<String, Tensor> state() { return state; }
}
