// Adam, multi-tensor: one launch updates up to JGAN_ADAM_MAX_TENSORS parameter tensors, in place,
// in PyTorch's order (as the CPU backend):
//   g = grad + weightDecay p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= stepSize m / (sqrt(v) invSqrtBc2 + eps)
// with stepSize = lr / (1 - b1^t) and invSqrtBc2 = 1 / sqrt(1 - b2^t) computed by the caller.
// The table of pointers and sizes travels by value in the kernel parameters (no device copy, and
// under the 4 KiB parameter limit of every CUDA version). Tensor k is cut into tiles of
// JGAN_ADAM_TILE elements; tile_start[k] is the index of its first tile (prefix sums, with
// tile_start[count] the total), and blocks stride over the tiles. Bytes per element: 4 reads
// (p, grad, m, v) and 3 writes (p, m, v): 28.
#include "common.cuh"

#define JGAN_ADAM_MAX_TENSORS 48
#define JGAN_ADAM_TILE 4096

struct JganAdamTable {
    int count;
    int64_t tile_start[JGAN_ADAM_MAX_TENSORS + 1];
    int64_t size[JGAN_ADAM_MAX_TENSORS];
    float* p[JGAN_ADAM_MAX_TENSORS];
    const float* grad[JGAN_ADAM_MAX_TENSORS];
    float* m[JGAN_ADAM_MAX_TENSORS];
    float* v[JGAN_ADAM_MAX_TENSORS];
};

// kernels

extern "C" __global__ void adam_forward(JganAdamTable table, float beta1, float beta2, float eps, float weight_decay,
                                        float step_size, float inv_sqrt_bc2) {
    const float a1 = 1.f - beta1, a2 = 1.f - beta2;
    const int64_t tiles = table.tile_start[table.count];
    int k = 0;
    for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        while (table.tile_start[k + 1] <= tile) k++;  // tiles only grow: k never goes back
        const int64_t first = (tile - table.tile_start[k]) * JGAN_ADAM_TILE;
        const int64_t end = first + JGAN_ADAM_TILE < table.size[k] ? first + JGAN_ADAM_TILE : table.size[k];
        float* __restrict__ p = table.p[k];
        const float* __restrict__ grad = table.grad[k];
        float* __restrict__ m = table.m[k];
        float* __restrict__ v = table.v[k];
        for (int64_t i = first + threadIdx.x; i < end; i += blockDim.x) {
            float pi = p[i];
            float g = __fmaf_rn(weight_decay, pi, grad[i]);
            float mi = __fmaf_rn(beta1, m[i], __fmul_rn(a1, g));
            float vi = __fmaf_rn(beta2, v[i], __fmul_rn(a2, __fmul_rn(g, g)));
            m[i] = mi;
            v[i] = vi;
            p[i] = pi - __fdiv_rn(__fmul_rn(step_size, mi), __fmaf_rn(sqrtf(vi), inv_sqrt_bc2, eps));
        }
    }
}
