package dev.jgan.optim;

import dev.jgan.backend.Backend;
import dev.jgan.nn.Parameter;
import dev.jgan.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What every optimizer here shares: its parameters and their gradients as the lists its one
 * backend call per step takes, its per-parameter state buffers under PyTorch's names, and the
 * step count that checkpoints restore.
 */
abstract class ParameterOptimizer implements Optimizer {
    protected final Backend backend;
    protected final List<Tensor> params = new ArrayList<>(), grads = new ArrayList<>();
    private final Map<String, Tensor> state = new LinkedHashMap<>();
    /** Steps taken so far. */
    protected int t;

    ParameterOptimizer(Backend backend, List<Parameter> parameters) {
        this.backend = backend;
        for (Parameter p : parameters) {
            params.add(p.value());
            grads.add(p.grad());
        }
    }

    /**
     * Allocates a zeroed buffer of each parameter's shape for each of {@code names}, named
     * {@code <parameter>.<name>} in {@link #state()} (each parameter's buffers together, as
     * PyTorch's state lists them); returns one list of buffers per name, in the order given.
     */
    protected final List<List<Tensor>> buffers(List<Parameter> parameters, String... names) {
        List<List<Tensor>> out = new ArrayList<>();
        for (int k = 0; k < names.length; k++) out.add(new ArrayList<>());
        for (Parameter p : parameters)
            for (int k = 0; k < names.length; k++) {
                Tensor b = backend.allocate(p.value().shape());
                out.get(k).add(b);
                state.put(p.name() + "." + names[k], b);
            }
        return out;
    }

    @Override public final int steps() { return t; }

    @Override public final void setSteps(int steps) { t = steps; }

    @Override public final Map<String, Tensor> state() { return state; }
}
