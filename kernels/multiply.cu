// The elementwise product, as dev.jgan.backend.Backend's multiply, over a viewed as (n / F, F):
//   y[i] = a[i] * b[i / F]        F = row_length: 1 for b of a's size, else one b value a row
// one product, rounded once (__fmul_rn: nothing to contract it with), so the result equals the
// CPU backend's bit for bit. A projection discriminator's x * h and its backward's scaling of
// the rows of (N, F) by dy (N, 1). Bytes per element: 4 + 4 / F read, 4 written (12 for F = 1).
// No __restrict__: y may alias a, and b when F = 1 (each element is read, then written, by one thread).
#include "common.cuh"

// Row of element i: i / F, with 32-bit division when both fit (as jgan_channel).
__device__ __forceinline__ int64_t jgan_multiply_row(int64_t i, int64_t row_length) {
    if (i < 4294967296LL && row_length < 4294967296LL) return (int64_t)((uint32_t)i / (uint32_t)row_length);
    return i / row_length;
}

// kernels

extern "C" __global__ void multiply_forward(const float* a, const float* b, float* y, int64_t n, int64_t row_length) {
    if (row_length == 1) {
        JGAN_FOR_EACH(i, n) y[i] = __fmul_rn(a[i], b[i]);
    } else {
        JGAN_FOR_EACH(i, n) y[i] = __fmul_rn(a[i], b[jgan_multiply_row(i, row_length)]);
    }
}
