// Batch norm over x: (N, C, S) per channel, M = N * S values a channel (S = H * W, or 1 for an
// (N, C) tensor), training forward, inference forward and backward, plain and fused with ReLU or
// LeakyReLU. Semantics are dev.jgan.backend.Backend's:
//   mean, var: biased, over n and s; invStd = 1 / sqrt(var + eps); y = gamma (x - mean) invStd + beta
//   running = (1 - momentum) running + momentum batch (PyTorch's momentum), the running variance
//   takes the unbiased var * M / (M - 1) and is left alone when M == 1
//   backward: dBeta (=|+=) sum dy, dGamma (=|+=) sum dy xhat,
//             dx (=) gamma invStd (dy - sum dy / M - xhat sum(dy xhat) / M)
// Statistics are two-pass (the mean, then the centred sum of squares), each accumulated in double,
// so that a channel with mean 1e4 and std 1 keeps its variance; normalisation is float, in the CPU
// backend's order: y = fma(x - mean, gamma * invStd, beta).
//
// Fused: y = act(bn(x)) with act ReLU or LeakyReLU(slope >= 0); the backward takes dy of y and
// recomputes z = bn(x) from x and the saved statistics with the forward's float operations, so
// it reads neither z nor y: dz = act'(z) dy, then the batch-norm backward of dz.
//
// Two layouts of the same math:
//  - batch_norm*_forward/_backward: one block per channel (grid C, 1-D block, a multiple of 32);
//    for S > 1. A thread strides over the channel's M values.
//  - batch_norm*_nc_forward/_backward: (N, C) tensors (S == 1), where a channel is a column:
//    a block is a tile of 32 channels (threadIdx.x) by JGAN_TILE_ROWS row stripes (threadIdx.y),
//    grid ceil(C / 32), so that a warp reads 32 consecutive floats of a row.
// Passes over x (bytes per element): training forward 3 reads + 1 write (16), backward 2 x 2 reads
// + 1 write (20), inference 1 read + 1 write (8). y may alias x; dx may alias dy (every element
// is read in the last pass just before it is written).
#include "common.cuh"

// ---- per-channel blocks ----------------------------------------------------------------------

template <int ACT>
__device__ __forceinline__ void jgan_bn_train_channel(const float* __restrict__ x, const float* __restrict__ gamma,
                                                      const float* __restrict__ beta, float* __restrict__ run_mean,
                                                      float* __restrict__ run_var, float momentum, float eps, float slope,
                                                      float* y, float* __restrict__ save_mean,
                                                      float* __restrict__ save_inv_std, int64_t n, int64_t c, int64_t s) {
    const int64_t ch = blockIdx.x, m = n * s, stride = c * s;
    const float* xc = x + ch * s;
    float* yc = y + ch * s;

    double sum = 0;
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x) sum += xc[jgan_channel_offset(j, s, stride)];
    const double mean = jgan_block_sum(sum) / (double)m;

    double squares = 0;
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
        double d = (double)xc[jgan_channel_offset(j, s, stride)] - mean;
        squares += d * d;
    }
    const double var = jgan_block_sum(squares) / (double)m;
    const float inv_std = (float)(1.0 / sqrt(var + (double)eps));
    const float mean_f = (float)mean;

    if (threadIdx.x == 0) {
        double keep = 1.0 - (double)momentum;
        save_mean[ch] = mean_f;
        save_inv_std[ch] = inv_std;
        run_mean[ch] = (float)(keep * run_mean[ch] + (double)momentum * mean);
        if (m > 1) run_var[ch] = (float)(keep * run_var[ch] + (double)momentum * var * ((double)m / (double)(m - 1)));
    }

    const float scale = __fmul_rn(gamma[ch], inv_std), shift = beta[ch];
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
        int64_t at = jgan_channel_offset(j, s, stride);
        yc[at] = jgan_activate<ACT>(__fmaf_rn(xc[at] - mean_f, scale, shift), slope);
    }
}

template <int ACT>
__device__ __forceinline__ void jgan_bn_backward_channel(const float* x, const float* dy, const float* __restrict__ gamma,
                                                         const float* __restrict__ beta, float slope,
                                                         const float* __restrict__ save_mean,
                                                         const float* __restrict__ save_inv_std, float* dx,
                                                         float* __restrict__ d_gamma, float* __restrict__ d_beta,
                                                         int accumulate, int64_t n, int64_t c, int64_t s) {
    const int64_t ch = blockIdx.x, m = n * s, stride = c * s;
    const float* xc = x + ch * s;
    const float* dyc = dy + ch * s;
    float* dxc = dx + ch * s;
    const float mean_f = save_mean[ch], inv_std = save_inv_std[ch];
    const float scale = __fmul_rn(gamma[ch], inv_std), shift = beta ? beta[ch] : 0.f;

    double a = 0, b = 0;  // sum dz, sum dz (x - mean)
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
        int64_t at = jgan_channel_offset(j, s, stride);
        float xv = xc[at], g = dyc[at];
        if (ACT != JGAN_ACT_NONE)
            g = jgan_activation_grad<ACT>(__fmaf_rn(xv - mean_f, scale, shift), g, slope);
        a += g;
        b += (double)g * ((double)xv - mean_f);
    }
    a = jgan_block_sum(a);
    b = jgan_block_sum(b);
    const double new_d_gamma = b * inv_std;
    if (threadIdx.x == 0) {
        d_beta[ch] = (float)(accumulate ? d_beta[ch] + a : a);
        d_gamma[ch] = (float)(accumulate ? d_gamma[ch] + new_d_gamma : new_d_gamma);
    }

    // dx = (dz - mean dz - (x - mean) * slope_x) * gamma invStd
    const float mean_dz = (float)(a / (double)m), slope_x = (float)(new_d_gamma * inv_std / (double)m);
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
        int64_t at = jgan_channel_offset(j, s, stride);
        float xv = xc[at], g = dyc[at];
        if (ACT != JGAN_ACT_NONE)
            g = jgan_activation_grad<ACT>(__fmaf_rn(xv - mean_f, scale, shift), g, slope);
        dxc[at] = (g - mean_dz - (xv - mean_f) * slope_x) * scale;
    }
}

// ---- (N, C) tiles -------------------------------------------------------------------------------

template <int ACT>
__device__ __forceinline__ void jgan_bn_train_nc(const float* __restrict__ x, const float* __restrict__ gamma,
                                                 const float* __restrict__ beta, float* __restrict__ run_mean,
                                                 float* __restrict__ run_var, float momentum, float eps, float slope,
                                                 float* y, float* __restrict__ save_mean, float* __restrict__ save_inv_std,
                                                 int64_t n, int64_t c) {
    const int64_t ch = (int64_t)blockIdx.x * 32 + threadIdx.x;
    const bool active = ch < c;  // inactive columns still reach every barrier

    double sum = 0;
    if (active)
        for (int64_t i = threadIdx.y; i < n; i += JGAN_TILE_ROWS) sum += x[i * c + ch];
    const double mean = jgan_tile_column_sum(sum) / (double)n;

    double squares = 0;
    if (active)
        for (int64_t i = threadIdx.y; i < n; i += JGAN_TILE_ROWS) {
            double d = (double)x[i * c + ch] - mean;
            squares += d * d;
        }
    const double var = jgan_tile_column_sum(squares) / (double)n;
    if (!active) return;  // no barrier follows
    const float inv_std = (float)(1.0 / sqrt(var + (double)eps));
    const float mean_f = (float)mean;

    if (threadIdx.y == 0) {
        double keep = 1.0 - (double)momentum;
        save_mean[ch] = mean_f;
        save_inv_std[ch] = inv_std;
        run_mean[ch] = (float)(keep * run_mean[ch] + (double)momentum * mean);
        if (n > 1) run_var[ch] = (float)(keep * run_var[ch] + (double)momentum * var * ((double)n / (double)(n - 1)));
    }

    const float scale = __fmul_rn(gamma[ch], inv_std), shift = beta[ch];
    for (int64_t i = threadIdx.y; i < n; i += JGAN_TILE_ROWS) {
        int64_t at = i * c + ch;
        y[at] = jgan_activate<ACT>(__fmaf_rn(x[at] - mean_f, scale, shift), slope);
    }
}

template <int ACT>
__device__ __forceinline__ void jgan_bn_backward_nc(const float* x, const float* dy, const float* __restrict__ gamma,
                                                    const float* __restrict__ beta, float slope,
                                                    const float* __restrict__ save_mean, const float* __restrict__ save_inv_std,
                                                    float* dx, float* __restrict__ d_gamma, float* __restrict__ d_beta,
                                                    int accumulate, int64_t n, int64_t c) {
    const int64_t ch = (int64_t)blockIdx.x * 32 + threadIdx.x;
    const bool active = ch < c;
    const float mean_f = active ? save_mean[ch] : 0.f, inv_std = active ? save_inv_std[ch] : 0.f;
    const float scale = active ? __fmul_rn(gamma[ch], inv_std) : 0.f;
    const float shift = active && beta ? beta[ch] : 0.f;

    double a = 0, b = 0;
    if (active)
        for (int64_t i = threadIdx.y; i < n; i += JGAN_TILE_ROWS) {
            float xv = x[i * c + ch], g = dy[i * c + ch];
            if (ACT != JGAN_ACT_NONE)
                g = jgan_activation_grad<ACT>(__fmaf_rn(xv - mean_f, scale, shift), g, slope);
            a += g;
            b += (double)g * ((double)xv - mean_f);
        }
    a = jgan_tile_column_sum(a);
    b = jgan_tile_column_sum(b);
    if (!active) return;
    const double new_d_gamma = b * inv_std;
    if (threadIdx.y == 0) {
        d_beta[ch] = (float)(accumulate ? d_beta[ch] + a : a);
        d_gamma[ch] = (float)(accumulate ? d_gamma[ch] + new_d_gamma : new_d_gamma);
    }
    const float mean_dz = (float)(a / (double)n), slope_x = (float)(new_d_gamma * inv_std / (double)n);
    for (int64_t i = threadIdx.y; i < n; i += JGAN_TILE_ROWS) {
        int64_t at = i * c + ch;
        float xv = x[at], g = dy[at];
        if (ACT != JGAN_ACT_NONE)
            g = jgan_activation_grad<ACT>(__fmaf_rn(xv - mean_f, scale, shift), g, slope);
        dx[at] = (g - mean_dz - (xv - mean_f) * slope_x) * scale;
    }
}

// kernels

// x, y: (N, C, S); gamma, beta, run_mean, run_var, save_mean, save_inv_std: (C). Grid C.
extern "C" __global__ void batch_norm_forward(const float* x, const float* gamma, const float* beta, float* run_mean,
                                              float* run_var, float momentum, float eps, float* y, float* save_mean,
                                              float* save_inv_std, int64_t n, int64_t c, int64_t s) {
    jgan_bn_train_channel<JGAN_ACT_NONE>(x, gamma, beta, run_mean, run_var, momentum, eps, 0.f, y, save_mean, save_inv_std, n, c, s);
}

extern "C" __global__ void batch_norm_backward(const float* x, const float* dy, const float* gamma, const float* save_mean,
                                               const float* save_inv_std, float* dx, float* d_gamma, float* d_beta,
                                               int accumulate, int64_t n, int64_t c, int64_t s) {
    jgan_bn_backward_channel<JGAN_ACT_NONE>(x, dy, gamma, nullptr, 0.f, save_mean, save_inv_std, dx, d_gamma, d_beta, accumulate, n, c, s);
}

// x, y: (N, C). Grid ceil(C / 32), block (32, JGAN_TILE_ROWS).
extern "C" __global__ void batch_norm_nc_forward(const float* x, const float* gamma, const float* beta, float* run_mean,
                                                 float* run_var, float momentum, float eps, float* y, float* save_mean,
                                                 float* save_inv_std, int64_t n, int64_t c) {
    jgan_bn_train_nc<JGAN_ACT_NONE>(x, gamma, beta, run_mean, run_var, momentum, eps, 0.f, y, save_mean, save_inv_std, n, c);
}

extern "C" __global__ void batch_norm_nc_backward(const float* x, const float* dy, const float* gamma, const float* save_mean,
                                                  const float* save_inv_std, float* dx, float* d_gamma, float* d_beta,
                                                  int accumulate, int64_t n, int64_t c) {
    jgan_bn_backward_nc<JGAN_ACT_NONE>(x, dy, gamma, nullptr, 0.f, save_mean, save_inv_std, dx, d_gamma, d_beta, accumulate, n, c);
}

// Inference, elementwise over any (N, C, S): y = (x - run_mean) * (gamma / sqrt(run_var + eps)) + beta.
extern "C" __global__ void batch_norm_infer_forward(const float* x, const float* __restrict__ gamma,
                                                    const float* __restrict__ beta, const float* __restrict__ run_mean,
                                                    const float* __restrict__ run_var, float eps, float* y, int64_t n,
                                                    int64_t c, int64_t s) {
    const int64_t total = n * c * s;
    JGAN_FOR_EACH(i, total) {
        int64_t ch = jgan_channel(i, s, c);
        float scale = __fdiv_rn(gamma[ch], __fsqrt_rn(run_var[ch] + eps));
        y[i] = __fmaf_rn(x[i] - run_mean[ch], scale, beta[ch]);
    }
}

// Fused with ReLU: y = max(bn(x), 0); the backward takes dy of y.
extern "C" __global__ void batch_norm_relu_forward(const float* x, const float* gamma, const float* beta, float* run_mean,
                                                   float* run_var, float momentum, float eps, float* y, float* save_mean,
                                                   float* save_inv_std, int64_t n, int64_t c, int64_t s) {
    jgan_bn_train_channel<JGAN_ACT_RELU>(x, gamma, beta, run_mean, run_var, momentum, eps, 0.f, y, save_mean, save_inv_std, n, c, s);
}

extern "C" __global__ void batch_norm_relu_backward(const float* x, const float* dy, const float* gamma, const float* beta,
                                                    const float* save_mean, const float* save_inv_std, float* dx,
                                                    float* d_gamma, float* d_beta, int accumulate, int64_t n, int64_t c,
                                                    int64_t s) {
    jgan_bn_backward_channel<JGAN_ACT_RELU>(x, dy, gamma, beta, 0.f, save_mean, save_inv_std, dx, d_gamma, d_beta, accumulate, n, c, s);
}

extern "C" __global__ void batch_norm_relu_nc_forward(const float* x, const float* gamma, const float* beta, float* run_mean,
                                                      float* run_var, float momentum, float eps, float* y,
                                                      float* save_mean, float* save_inv_std, int64_t n, int64_t c) {
    jgan_bn_train_nc<JGAN_ACT_RELU>(x, gamma, beta, run_mean, run_var, momentum, eps, 0.f, y, save_mean, save_inv_std, n, c);
}

extern "C" __global__ void batch_norm_relu_nc_backward(const float* x, const float* dy, const float* gamma,
                                                       const float* beta, const float* save_mean,
                                                       const float* save_inv_std, float* dx, float* d_gamma,
                                                       float* d_beta, int accumulate, int64_t n, int64_t c) {
    jgan_bn_backward_nc<JGAN_ACT_RELU>(x, dy, gamma, beta, 0.f, save_mean, save_inv_std, dx, d_gamma, d_beta, accumulate, n, c);
}

// Fused with LeakyReLU: y = bn(x) > 0 ? bn(x) : slope * bn(x), slope >= 0.
extern "C" __global__ void batch_norm_leaky_relu_forward(const float* x, const float* gamma, const float* beta,
                                                         float* run_mean, float* run_var, float momentum, float eps,
                                                         float slope, float* y, float* save_mean, float* save_inv_std,
                                                         int64_t n, int64_t c, int64_t s) {
    jgan_bn_train_channel<JGAN_ACT_LEAKY_RELU>(x, gamma, beta, run_mean, run_var, momentum, eps, slope, y, save_mean, save_inv_std, n, c, s);
}

extern "C" __global__ void batch_norm_leaky_relu_backward(const float* x, const float* dy, const float* gamma,
                                                          const float* beta, float slope, const float* save_mean,
                                                          const float* save_inv_std, float* dx, float* d_gamma,
                                                          float* d_beta, int accumulate, int64_t n, int64_t c, int64_t s) {
    jgan_bn_backward_channel<JGAN_ACT_LEAKY_RELU>(x, dy, gamma, beta, slope, save_mean, save_inv_std, dx, d_gamma, d_beta, accumulate, n, c, s);
}

extern "C" __global__ void batch_norm_leaky_relu_nc_forward(const float* x, const float* gamma, const float* beta,
                                                            float* run_mean, float* run_var, float momentum, float eps,
                                                            float slope, float* y, float* save_mean,
                                                            float* save_inv_std, int64_t n, int64_t c) {
    jgan_bn_train_nc<JGAN_ACT_LEAKY_RELU>(x, gamma, beta, run_mean, run_var, momentum, eps, slope, y, save_mean, save_inv_std, n, c);
}

extern "C" __global__ void batch_norm_leaky_relu_nc_backward(const float* x, const float* dy, const float* gamma,
                                                             const float* beta, float slope, const float* save_mean,
                                                             const float* save_inv_std, float* dx, float* d_gamma,
                                                             float* d_beta, int accumulate, int64_t n, int64_t c) {
    jgan_bn_backward_nc<JGAN_ACT_LEAKY_RELU>(x, dy, gamma, beta, slope, save_mean, save_inv_std, dx, d_gamma, d_beta, accumulate, n, c);
}
