// Binary cross-entropy on logits, loss and gradient in one pass, as dev.jgan.backend.Backend's
// bceWithLogits: with e = exp(-|l|) in (0, 1],
//   loss_i = max(l, 0) - l t_i + log1p(e)          (no overflow for any finite l: l = +-1e4 is exact)
//   sigmoid(l) = l >= 0 ? 1 / (1 + e) : e / (1 + e)
//   dLogits_i = (sigmoid(l_i) - t_i) * k            k = gradScale / N, computed by the caller
//   stats[0] = mean loss, stats[1] = mean sigmoid, stats[2] = fraction of l > 0
// t_i = targets[i], or `target` for every element when targets is null (label smoothing).
// One block (grid 1, 1-D block, a multiple of 32) strides over the n logits and reduces in
// double, so the result does not depend on an atomic order: n is one logit per batch item.
// Bytes per element: 4 read (8 with targets) + 4 written. dLogits may alias logits.
#include "common.cuh"

// kernels

extern "C" __global__ void bce_with_logits_forward(const float* logits, const float* __restrict__ targets, float target,
                                                   float k, float* d_logits, float* __restrict__ stats, int64_t n) {
    double loss = 0, sigmoid_sum = 0, positives = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        float l = logits[i], t = targets ? targets[i] : target;
        float e = expf(-fabsf(l));
        float sigmoid_abs = __fdiv_rn(1.f, 1.f + e);
        float sigmoid = l >= 0.f ? sigmoid_abs : __fmul_rn(e, sigmoid_abs);
        d_logits[i] = __fmul_rn(sigmoid - t, k);
        loss += __fadd_rn(fmaxf(l, 0.f) - __fmul_rn(l, t), log1pf(e));
        sigmoid_sum += sigmoid;
        positives += l > 0.f ? 1.0 : 0.0;
    }
    loss = jgan_block_sum(loss);
    sigmoid_sum = jgan_block_sum(sigmoid_sum);
    positives = jgan_block_sum(positives);
    if (threadIdx.x == 0) {
        stats[0] = (float)(loss / (double)n);
        stats[1] = (float)(sigmoid_sum / (double)n);
        stats[2] = (float)(positives / (double)n);
    }
}
