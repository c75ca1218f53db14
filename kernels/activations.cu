// Activations, forward and backward. Backwards read the saved output y (not x): for
// LeakyReLU with slope >= 0 and for ReLU, sign(y) == sign(x); tanh' = 1 - y^2; sigmoid' = y(1 - y).
// y may alias x, and dx may alias dy. Each element: one read and one write forward (8 bytes),
// two reads and one write backward (12 bytes).
#include "common.cuh"

// kernels

extern "C" __global__ void leaky_relu_forward(const float* __restrict__ x, float* __restrict__ y, int64_t n, float slope) {
    JGAN_FOR_EACH(i, n) {
        float v = x[i];
        y[i] = v > 0.f ? v : slope * v;
    }
}

extern "C" __global__ void leaky_relu_backward(const float* __restrict__ y, const float* __restrict__ dy,
                                               float* __restrict__ dx, int64_t n, float slope) {
    JGAN_FOR_EACH(i, n) dx[i] = y[i] > 0.f ? dy[i] : slope * dy[i];
}

extern "C" __global__ void relu_forward(const float* __restrict__ x, float* __restrict__ y, int64_t n) {
    JGAN_FOR_EACH(i, n) y[i] = fmaxf(x[i], 0.f);
}

extern "C" __global__ void relu_backward(const float* __restrict__ y, const float* __restrict__ dy,
                                         float* __restrict__ dx, int64_t n) {
    JGAN_FOR_EACH(i, n) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
}

extern "C" __global__ void tanh_forward(const float* __restrict__ x, float* __restrict__ y, int64_t n) {
    JGAN_FOR_EACH(i, n) y[i] = tanhf(x[i]);
}

extern "C" __global__ void tanh_backward(const float* __restrict__ y, const float* __restrict__ dy,
                                         float* __restrict__ dx, int64_t n) {
    JGAN_FOR_EACH(i, n) {
        float v = y[i];
        dx[i] = dy[i] * (1.f - v * v);
    }
}

// sigmoid = 1 / (1 + e^-x); expf(-x) overflows to +inf for x < -88, giving exactly 0, never NaN.
extern "C" __global__ void sigmoid_forward(const float* __restrict__ x, float* __restrict__ y, int64_t n) {
    JGAN_FOR_EACH(i, n) y[i] = 1.f / (1.f + expf(-x[i]));
}

extern "C" __global__ void sigmoid_backward(const float* __restrict__ y, const float* __restrict__ dy,
                                            float* __restrict__ dx, int64_t n) {
    JGAN_FOR_EACH(i, n) {
        float v = y[i];
        dx[i] = dy[i] * v * (1.f - v);
    }
}
