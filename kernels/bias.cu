// Bias add and bias gradient over y, dy: (N, C, S) with S the spatial extent (1 for (N, C)).
//   bias_forward:     y[n, c, s] += bias[c]                          (read + write: 8 bytes/element)
//   bias_backward:    dBias[c] (=|+=) sum over n, s of dy[n, c, s]   (one read: 4 bytes/element)
// The gradient sums in double, as the CPU backend does. bias_backward is one block per channel
// (grid C, 1-D block, a multiple of 32) for S > 1; bias_nc_backward is the (N, C) tile kernel
// (grid ceil(C / 32), block (32, JGAN_TILE_ROWS)), where a channel is a column.
#include "common.cuh"

// kernels

extern "C" __global__ void bias_forward(float* y, const float* __restrict__ bias, int64_t n, int64_t c, int64_t s) {
    const int64_t total = n * c * s;
    JGAN_FOR_EACH(i, total) y[i] += bias[jgan_channel(i, s, c)];
}

extern "C" __global__ void bias_backward(const float* __restrict__ dy, float* __restrict__ d_bias, int accumulate,
                                         int64_t n, int64_t c, int64_t s) {
    const int64_t ch = blockIdx.x, m = n * s, stride = c * s;
    const float* dyc = dy + ch * s;
    double sum = 0;
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x) sum += dyc[jgan_channel_offset(j, s, stride)];
    sum = jgan_block_sum(sum);
    if (threadIdx.x == 0) d_bias[ch] = (float)(accumulate ? d_bias[ch] + sum : sum);
}

extern "C" __global__ void bias_nc_backward(const float* __restrict__ dy, float* __restrict__ d_bias, int accumulate,
                                            int64_t n, int64_t c) {
    const int64_t ch = (int64_t)blockIdx.x * 32 + threadIdx.x;
    double sum = 0;
    if (ch < c)
        for (int64_t i = threadIdx.y; i < n; i += JGAN_TILE_ROWS) sum += dy[i * c + ch];
    sum = jgan_tile_column_sum(sum);
    if (ch < c && threadIdx.y == 0) d_bias[ch] = (float)(accumulate ? d_bias[ch] + sum : sum);
}
