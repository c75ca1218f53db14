package dev.jgan.optim;

import dev.jgan.backend.Backend;
import dev.jgan.nn.Parameter;
import dev.jgan.tensor.Tensor;

import java.util.List;

/**
 * RMSprop as PyTorch computes it without momentum or centring (see {@link Backend#rmspropStep}):
 * the optimizer the WGAN paper trains its critic and generator with (lr 5e-5; PyTorch's alpha
 * 0.99, eps 1e-8).
 */
public final class RmsProp extends ParameterOptimizer {
    /** PyTorch's defaults. */
    public static final float ALPHA = 0.99f, EPS = 1e-8f;

    private final float lr, alpha, eps;
    private final List<Tensor> squareAvg;

    public RmsProp(Backend backend, List<Parameter> parameters, float lr, float alpha, float eps) {
        super(backend, parameters);
        if (!(lr > 0)) throw new IllegalArgumentException("RMSprop learning rate must be > 0, got " + lr);
        if (!(alpha >= 0 && alpha < 1)) throw new IllegalArgumentException("RMSprop alpha must be in [0, 1), got " + alpha);
        this.lr = lr;
        this.alpha = alpha;
        this.eps = eps;
        this.squareAvg = buffers(parameters, "square_avg").getFirst();
    }

    @Override public void step() {
        backend.rmspropStep(params, grads, squareAvg, lr, alpha, eps);
        t++;
    }
}
