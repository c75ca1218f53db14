// GAN losses on D's raw outputs (no sigmoid), loss and gradient in one pass, as
// dev.jgan.backend.Backend's criticLoss, with a the target and k = gradScale / N from the caller:
//   kind 0, linear  (Wasserstein; hinge's G):  loss_i = a l_i                  dl_i = a k
//   kind 1, hinge   (D of the hinge loss):     loss_i = max(0, 1 - a l_i)      dl_i = 1 - a l_i > 0 ? -a k : 0
//   kind 2, squared (least squares, LSGAN):    loss_i = (l_i - a)^2 / 2        dl_i = (l_i - a) k
//   stats[0] = mean loss, stats[1] = mean l, stats[2] = fraction of l > 0 (squared: of l > 1/2,
//   midway between LSGAN's fake and real targets 0 and 1)
// Every product and sum in float is rounded on its own (no contraction), as the CPU backend's
// scalar loop; the means are summed in double by one block (grid 1, a multiple of 32 threads)
// so they do not depend on an atomic order: n is one output per batch item. Bytes per element:
// 4 read + 4 written. dLogits may alias logits.
#include "common.cuh"

// kernels

extern "C" __global__ void critic_loss_forward(const float* logits, int kind, float a, float k, float* d_logits,
                                               float* __restrict__ stats, int64_t n) {
    double loss = 0, score = 0, above = 0;
    float boundary = kind == 2 ? 0.5f : 0.f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        float l = logits[i], li, di;
        if (kind == 0) {
            li = __fmul_rn(a, l);
            di = __fmul_rn(a, k);
        } else if (kind == 1) {
            float m = __fsub_rn(1.f, __fmul_rn(a, l));
            li = m > 0.f ? m : 0.f;
            di = m > 0.f ? __fmul_rn(-a, k) : 0.f;
        } else {
            float r = __fsub_rn(l, a);
            li = __fmul_rn(0.5f, __fmul_rn(r, r));
            di = __fmul_rn(r, k);
        }
        d_logits[i] = di;
        loss += li;
        score += l;
        above += l > boundary ? 1.0 : 0.0;
    }
    loss = jgan_block_sum(loss);
    score = jgan_block_sum(score);
    above = jgan_block_sum(above);
    if (threadIdx.x == 0) {
        stats[0] = (float)(loss / (double)n);
        stats[1] = (float)(score / (double)n);
        stats[2] = (float)(above / (double)n);
    }
}
