// Clamp in place, as dev.jgan.backend.Backend's clamp: t = t < lo ? lo : (t > hi ? hi : t), so a
// NaN stays NaN (fminf/fmaxf would turn it into a bound and hide a diverged run). The WGAN
// critic's weight clipping after each of its updates, one launch per parameter tensor.
// Bytes per element: 4 read + 4 written.
#include "common.cuh"

// kernels

extern "C" __global__ void clamp_forward(float* __restrict__ t, int64_t n, float lo, float hi) {
    JGAN_FOR_EACH(i, n) {
        float v = t[i];
        t[i] = v < lo ? lo : (v > hi ? hi : v);
    }
}
