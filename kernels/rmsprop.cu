// RMSprop as PyTorch (no momentum, not centred), one tensor per launch, in place, as
// dev.jgan.backend.Backend's rmspropStep:
//   v = alpha v + rest g^2        rest = 1 - alpha, rounded to float by the caller
//   p = p - lr (g / (sqrt(v) + eps))
// every product, sum and quotient rounded on its own (no contraction) and sqrt correctly rounded,
// so the result equals the CPU backend's bit for bit. Bytes per element: 3 reads (p, grad, v)
// and 2 writes (p, v): 20.
#include "common.cuh"

// kernels

extern "C" __global__ void rmsprop_forward(float* __restrict__ p, const float* __restrict__ grad, float* __restrict__ v,
                                           int64_t n, float lr, float alpha, float rest, float eps) {
    JGAN_FOR_EACH(i, n) {
        float g = grad[i];
        float vi = __fadd_rn(__fmul_rn(alpha, v[i]), __fmul_rn(rest, __fmul_rn(g, g)));
        v[i] = vi;
        p[i] = __fsub_rn(p[i], __fmul_rn(lr, __fdiv_rn(g, __fadd_rn(__fsqrt_rn(vi), eps))));
    }
}
