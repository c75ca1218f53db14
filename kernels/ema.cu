// Exponential moving average, in place, as dev.jgan.backend.Backend's ema:
//   avg = decay * avg + rest * x          rest = 1 - decay, rounded to float by the caller
// two products and a sum, each rounded (no FMA: __fmul_rn and __fadd_rn keep nvcc from
// contracting), so the result equals the CPU backend's bit for bit. Once per training step over
// every tensor of the generator (its weights and batch-norm statistics). Bytes per element:
// 8 read + 4 written.
#include "common.cuh"

// kernels

extern "C" __global__ void ema_forward(float* __restrict__ avg, const float* __restrict__ x, int64_t n, float decay,
                                       float rest) {
    JGAN_FOR_EACH(i, n) avg[i] = __fadd_rn(__fmul_rn(decay, avg[i]), __fmul_rn(rest, x[i]));
}
