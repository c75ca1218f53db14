// SGD with momentum as PyTorch, one tensor per launch, in place (as the CPU backend):
//   buf = first ? g : momentum * buf + g;   p -= lr * buf
// momentum * buf + g is one fused multiply-add, as the CPU backend's vector loop computes it.
// Bytes per element: 3 reads (p, grad, buf; 2 at the first step) and 2 writes (p, buf): 20.
#include "common.cuh"

// kernels

extern "C" __global__ void sgd_forward(float* __restrict__ p, const float* __restrict__ grad, float* __restrict__ buf,
                                       int64_t n, float lr, float momentum, int first) {
    JGAN_FOR_EACH(i, n) {
        float g = grad[i];
        float b = first ? g : __fmaf_rn(momentum, buf[i], g);
        buf[i] = b;
        p[i] = p[i] - lr * b;
    }
}
