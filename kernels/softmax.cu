// Softmax over the rows of (N, K) logits, and softmax cross-entropy against class labels, as
// dev.jgan.backend.Backend's softmax / softmaxCrossEntropy. K is a class count (10 for the
// evaluation classifier): one thread owns a row and loops over its K values. Each row subtracts
// its maximum m before expf, so no finite logit overflows; sums in double:
//   p_k = exp(l_k - m) / sum_j exp(l_j - m)
//   loss = m + log(sum_j exp(l_j - m)) - l_label
//   dLogits_k = (p_k - [k == label]) * scale          scale = gradScale / N, computed by the caller
//   stats[0] = mean loss, stats[1] = fraction of rows whose first maximum is the label
// Labels are class indices stored as floats; Java checks nothing on the device, so the kernel
// clamps a label to [0, K - 1] rather than read out of bounds. The cross-entropy runs as one
// block (grid 1, a 1-D block, a multiple of 32) that strides over the N rows and reduces in
// double, like bce_with_logits_forward: N is a batch, and the result is independent of atomic
// order. Bytes per element: 4 read (three passes, cached) + 4 written. Outputs may alias inputs
// (a row is read completely before it is written).
#include "common.cuh"

__device__ __forceinline__ float jgan_row_max(const float* row, int64_t k) {
    float m = row[0];
    for (int64_t j = 1; j < k; j++) m = fmaxf(m, row[j]);
    return m;
}

__device__ __forceinline__ double jgan_row_exp_sum(const float* row, int64_t k, float m) {
    double sum = 0;
    for (int64_t j = 0; j < k; j++) sum += (double)expf(row[j] - m);
    return sum;
}

// kernels

extern "C" __global__ void softmax_forward(const float* x, float* y, int64_t n, int64_t k) {
    JGAN_FOR_EACH(r, n) {
        const float* row = x + r * k;
        const float m = jgan_row_max(row, k);
        const double sum = jgan_row_exp_sum(row, k, m);
        for (int64_t j = 0; j < k; j++) y[r * k + j] = (float)((double)expf(row[j] - m) / sum);
    }
}

extern "C" __global__ void softmax_cross_entropy_forward(const float* logits, const float* __restrict__ labels, float scale,
                                                         float* d_logits, float* __restrict__ stats, int64_t n, int64_t k) {
    double loss = 0, correct = 0;
    for (int64_t r = threadIdx.x; r < n; r += blockDim.x) {
        const float* row = logits + r * k;
        float lf = labels[r];
        int64_t label = lf < 0.f ? 0 : lf > (float)(k - 1) ? k - 1 : (int64_t)lf;
        const float m = jgan_row_max(row, k);
        int64_t argmax = 0;
        for (int64_t j = 1; j < k; j++)
            if (row[j] > row[argmax]) argmax = j;
        const double sum = jgan_row_exp_sum(row, k, m);
        loss += (double)m + log(sum) - (double)row[label];
        correct += argmax == label ? 1.0 : 0.0;
        for (int64_t j = 0; j < k; j++) {
            float p = (float)((double)expf(row[j] - m) / sum);
            d_logits[r * k + j] = __fmul_rn(j == label ? p - 1.f : p, scale);
        }
    }
    loss = jgan_block_sum(loss);
    correct = jgan_block_sum(correct);
    if (threadIdx.x == 0) {
        stats[0] = (float)(loss / (double)n);
        stats[1] = (float)(correct / (double)n);
    }
}
