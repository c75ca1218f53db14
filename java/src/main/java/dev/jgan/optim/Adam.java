package dev.jgan.optim;

import dev.jgan.backend.Backend;
import dev.jgan.nn.Parameter;
import dev.jgan.tensor.Tensor;

import java.util.List;

/**
 * Adam with PyTorch's semantics (bias-corrected moments, eps added to the corrected root of v,
 * L2 weight decay added to the gradient); see {@link Backend#adamStep}. Moments are named as
 * PyTorch's optimizer state names them: {@code exp_avg}, {@code exp_avg_sq}.
 */
public final class Adam extends ParameterOptimizer {
    private final float lr, beta1, beta2, eps, weightDecay;
    private final List<Tensor> m, v;

    public Adam(Backend backend, List<Parameter> parameters, float lr, float beta1, float beta2, float eps, float weightDecay) {
        super(backend, parameters);
        if (!(lr > 0)) throw new IllegalArgumentException("Adam learning rate must be > 0, got " + lr);
        if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1)
            throw new IllegalArgumentException("Adam betas must be in [0, 1), got " + beta1 + ", " + beta2);
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        List<List<Tensor>> moments = buffers(parameters, "exp_avg", "exp_avg_sq");
        this.m = moments.get(0);
        this.v = moments.get(1);
    }

    @Override public void step() {
        t++;
        backend.adamStep(params, grads, m, v, lr, beta1, beta2, eps, weightDecay, t);
    }

    public float lr() { return lr; }
}
