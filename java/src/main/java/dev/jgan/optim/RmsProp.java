package dev.jgan.optim;

import dev.jgan.backend.Backend;
import dev.jgan.nn.Parameter;
import dev.jgan.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * RMSprop as PyTorch computes it without momentum or centring (see {@link Backend#rmspropStep}):
 * the optimizer the WGAN paper trains its critic and generator with (lr 5e-5; PyTorch's alpha
 * 0.99, eps 1e-8).
 */
public final class RmsProp implements Optimizer {
    /** PyTorch's defaults. */
    public static final float ALPHA = 0.99f, EPS = 1e-8f;

    private final Backend backend;
    private final float lr, alpha, eps;
    private final List<Tensor> params = new ArrayList<>(), grads = new ArrayList<>(), squareAvg = new ArrayList<>();
    private final Map<String, Tensor> state = new LinkedHashMap<>();
    private int t;

    public RmsProp(Backend backend, List<Parameter> parameters, float lr, float alpha, float eps) {
        if (!(lr > 0)) throw new IllegalArgumentException("RMSprop learning rate must be > 0, got " + lr);
        if (!(alpha >= 0 && alpha < 1)) throw new IllegalArgumentException("RMSprop alpha must be in [0, 1), got " + alpha);
        this.backend = backend;
        this.lr = lr;
        this.alpha = alpha;
        this.eps = eps;
        for (Parameter p : parameters) {
            params.add(p.value());
            grads.add(p.grad());
            Tensor v = backend.allocate(p.value().shape());
            squareAvg.add(v);
            state.put(p.name() + ".square_avg", v);
        }
    }

    @Override public void step() {
        backend.rmspropStep(params, grads, squareAvg, lr, alpha, eps);
        t++;
    }

    @Override public int steps() { return t; }

    @Override public void setSteps(int steps) { t = steps; }

    @Override public Map<String, Tensor> state() { return state; }
}
