package dev.jgan.optim;

import dev.jgan.backend.Backend;
import dev.jgan.nn.Parameter;
import dev.jgan.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adam with PyTorch's semantics (bias-corrected moments, eps added to the corrected root of v,
 * L2 weight decay added to the gradient); see {@link Backend#adamStep}. Moments are named as
 * PyTorch's optimizer state names them: {@code exp_avg}, {@code exp_avg_sq}.
 */
public final class Adam implements Optimizer {
    private final Backend backend;
    private final float lr, beta1, beta2, eps, weightDecay;
    private final List<Tensor> params = new ArrayList<>(), grads = new ArrayList<>();
    private final List<Tensor> m = new ArrayList<>(), v = new ArrayList<>();
    private final Map<String, Tensor> state = new LinkedHashMap<>();
    private int t;

    public Adam(Backend backend, List<Parameter> parameters, float lr, float beta1, float beta2, float eps, float weightDecay) {
        if (!(lr > 0)) throw new IllegalArgumentException("Adam learning rate must be > 0, got " + lr);
        if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1)
            throw new IllegalArgumentException("Adam betas must be in [0, 1), got " + beta1 + ", " + beta2);
        this.backend = backend;
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        for (Parameter p : parameters) {
            params.add(p.value());
            grads.add(p.grad());
            Tensor mi = backend.allocate(p.value().shape()), vi = backend.allocate(p.value().shape());
            m.add(mi);
            v.add(vi);
            state.put(p.name() + ".exp_avg", mi);
            state.put(p.name() + ".exp_avg_sq", vi);
        }
    }

    @Override public void step() {
        t++;
        backend.adamStep(params, grads, m, v, lr, beta1, beta2, eps, weightDecay, t);
    }

    @Override public int steps() { return t; }

    @Override public void setSteps(int steps) { t = steps; }

    @Override public Map<String, Tensor> state() { return state; }

    public float lr() { return lr; }
}
