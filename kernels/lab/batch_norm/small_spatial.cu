// Kernel lab, batch_norm: small-spatial. Status: experiment (verified on the host emulation and
// the virtual GPU; its GPU timing is open until it runs on a GPU).
//
// Tries: batch norm at small spatial extent S (4x4, 3x3, 2x2 planes: 2 <= S <= 32) with a
// layout-aware reduction. Production (kernels/batch_norm.cu) gives each channel a block that
// strides over the channel's M = N * S values: a warp reads 32 / S runs of S floats, items C * S
// apart (S = 16: two 64-byte runs; S = 9: four or five 36-byte runs that straddle sectors), with a 32-bit
// division per element and grid C. Here a block is a tile of T = blockDim.x / S whole channels:
// channels c0..c0+T-1 of item n are one contiguous run of T * S floats, so a row of blockDim.x
// lanes reads a run of item n (a warp: 32 consecutive floats, fully coalesced), and the block's
// blockDim.y rows take items y, y + rows, ... Lane x always holds position x of the run, that is
// one channel (x / S), so it accumulates in registers with no division; a segmented reduction
// (shared memory, one warp per channel) then sums each channel's S * rows partials. Lanes past
// T * S idle; Java picks blockDim.x (a multiple of 32) so that they are at most 1/8 of the row.
//
// Semantics are production's, as kernels/batch_norm.cu states them: two-pass statistics in
// double (the mean, then the centred sum of squares; a channel of mean 1e4 and std 1 keeps its
// variance), float normalisation y = fma(x - mean, gamma * invStd, beta), PyTorch's momentum with
// the unbiased running variance (left alone when M == 1), dGamma and dBeta written or accumulated,
// dx written; y may alias x and dx may alias dy (a block's tile is its own, and a thread writes
// only elements it has read, after its last read of them). Fused ReLU and LeakyReLU as
// production. The parameters are exactly those of the production kernels each replaces.
//
// Bytes per element: when a thread's items fit in its registers (n <= JGAN_LAB_BN_CACHE * rows,
// e.g. (64, 512, 4, 4): 8 items a thread) x is read once: training forward 1 read + 1 write (8 B,
// production 16), backward x and dy once + dx (12 B, production 20). Larger batches read as
// production (16 and 20 B). Besides, reads are whole 128-byte lines per warp, with no division per
// element, and the backward has one block reduction for both sums (production: two).
// FLOPs per element: forward 1 (sum) + 3 (centred square, in double) + 3 (subtract, fma) = 7;
// backward 4 (the sums of dz and dz (x - mean)) + 5 (dx) = 9; the fused kernels 3 more (z) per
// pass that computes dz (one pass when cached, else two).
//
// Launch (dev.jgan.lab.cuda.BatchNormSmallSpatial): block (lanes, rows), lanes a multiple of 32
// with S <= lanes and lanes / S <= JGAN_LAB_BN_MAX_TILE, lanes * rows <= JGAN_LAB_BN_MAX_THREADS;
// grid ceil(C / (lanes / S)); no dynamic shared memory.
#include "common.cuh"

#define JGAN_LAB_BN_MAX_THREADS 256
#define JGAN_LAB_BN_MAX_TILE 128
// Items a thread keeps in registers between passes (see jgan_lab_bn_train_tile).
#define JGAN_LAB_BN_CACHE 8

// Sums per channel of the tile, V values at once: thread (x, y) holds v[] of channel x / s (lanes
// of no channel hold 0), every thread gets its channel's sums in out[]. Warp w reduces channels
// w, w + warps, ... (each channel's s * rows partials), so every lane of a warp takes the same
// iterations and the shuffles are full-warp. Starts with a barrier, as jgan_block_sum, so that
// consecutive calls reuse the shared arrays safely.
template <int V>
__device__ __forceinline__ void jgan_lab_bn_tile_sums(const double (&v)[V], double (&out)[V], int s, int channels) {
    __shared__ double partial[V][JGAN_LAB_BN_MAX_THREADS];
    __shared__ double sums[V][JGAN_LAB_BN_MAX_TILE];
    const int lanes = blockDim.x, rows = blockDim.y;
    const int t = threadIdx.y * lanes + threadIdx.x;
    __syncthreads();  // the previous call's readers are done with partial[] and sums[]
    for (int i = 0; i < V; i++) partial[i][t] = v[i];
    __syncthreads();
    const int lane = t & 31, warp = t >> 5, warps = (lanes * rows) >> 5;
    const int terms = s * rows;  // a channel's partials: s positions in each row
    for (int k = warp; k < channels; k += warps) {
        double acc[V];
        for (int i = 0; i < V; i++) acc[i] = 0;
        for (int j = lane; j < terms; j += 32) {
            int row = j / s, at = row * lanes + k * s + (j - row * s);
            for (int i = 0; i < V; i++) acc[i] += partial[i][at];
        }
        for (int i = 0; i < V; i++) acc[i] = jgan_warp_sum(acc[i]);
        if (lane == 0)
            for (int i = 0; i < V; i++) sums[i][k] = acc[i];
    }
    __syncthreads();
    const int k = threadIdx.x / s;
    for (int i = 0; i < V; i++) out[i] = k < channels ? sums[i][k] : 0.0;
}

// A thread's place in the tile: its channel ch (k-th of the tile), and the offset of its
// position in item 0's run; inactive lanes (past the tile's channels) still reach every barrier.
struct JganLabBnLane {
    int64_t ch, offset;
    int k, channels;
    bool active, leader;  // leader: the first thread of its channel, which writes the per-channel outputs
};

__device__ __forceinline__ JganLabBnLane jgan_lab_bn_lane(int64_t c, int s) {
    JganLabBnLane l;
    const int per_tile = blockDim.x / s;
    const int64_t c0 = (int64_t)blockIdx.x * per_tile;
    l.channels = (int)(c - c0 < per_tile ? c - c0 : per_tile);
    l.k = threadIdx.x / s;
    l.active = l.k < l.channels;
    l.ch = c0 + l.k;
    l.offset = c0 * s + threadIdx.x;
    l.leader = l.active && threadIdx.y == 0 && threadIdx.x == l.k * s;
    return l;
}

// The forward: three passes over the thread's items i = threadIdx.y + j * rows. When they are at
// most JGAN_LAB_BN_CACHE (n <= JGAN_LAB_BN_CACHE * rows: dcgan-64's 4x4 planes at batch 64), the
// first pass keeps them in registers (xs[], constant indices once the loops unroll) and the
// others read those: x is read once. Both ways sum in the same order, so they agree to the bit.
template <int ACT>
__device__ __forceinline__ void jgan_lab_bn_train_tile(const float* __restrict__ x, const float* __restrict__ gamma,
                                                       const float* __restrict__ beta, float* __restrict__ run_mean,
                                                       float* __restrict__ run_var, float momentum, float eps, float slope,
                                                       float* y, float* __restrict__ save_mean,
                                                       float* __restrict__ save_inv_std, int64_t n, int64_t c, int64_t s64) {
    const int s = (int)s64;  // <= 32: the launch rule routes only small planes here
    const JganLabBnLane l = jgan_lab_bn_lane(c, s);
    const int64_t m = n * s64, stride = c * s64, rows = blockDim.y;
    const bool cached = n <= JGAN_LAB_BN_CACHE * rows;
    float xs[JGAN_LAB_BN_CACHE];

    double v[1] = {0}, total[1];
    if (l.active && cached) {
        for (int j = 0; j < JGAN_LAB_BN_CACHE; j++) {
            int64_t i = threadIdx.y + j * rows;
            xs[j] = i < n ? x[l.offset + i * stride] : 0.f;
            if (i < n) v[0] += xs[j];
        }
    } else if (l.active) {
        for (int64_t i = threadIdx.y; i < n; i += rows) v[0] += x[l.offset + i * stride];
    }
    jgan_lab_bn_tile_sums<1>(v, total, s, l.channels);
    const double mean = total[0] / (double)m;

    v[0] = 0;
    if (l.active && cached) {
        for (int j = 0; j < JGAN_LAB_BN_CACHE; j++) {
            double d = (double)xs[j] - mean;
            if (threadIdx.y + j * rows < n) v[0] += d * d;
        }
    } else if (l.active) {
        for (int64_t i = threadIdx.y; i < n; i += rows) {
            double d = (double)x[l.offset + i * stride] - mean;
            v[0] += d * d;
        }
    }
    jgan_lab_bn_tile_sums<1>(v, total, s, l.channels);
    if (!l.active) return;  // no barrier follows
    const double var = total[0] / (double)m;
    const float inv_std = (float)(1.0 / sqrt(var + (double)eps));
    const float mean_f = (float)mean;
    const int64_t ch = l.ch;

    if (l.leader) {
        double keep = 1.0 - (double)momentum;
        save_mean[ch] = mean_f;
        save_inv_std[ch] = inv_std;
        run_mean[ch] = (float)(keep * run_mean[ch] + (double)momentum * mean);
        if (m > 1) run_var[ch] = (float)(keep * run_var[ch] + (double)momentum * var * ((double)m / (double)(m - 1)));
    }

    const float scale = __fmul_rn(gamma[ch], inv_std), shift = beta[ch];
    if (cached) {
        for (int j = 0; j < JGAN_LAB_BN_CACHE; j++) {
            int64_t i = threadIdx.y + j * rows;
            if (i < n) y[l.offset + i * stride] = jgan_activate<ACT>(__fmaf_rn(xs[j] - mean_f, scale, shift), slope);
        }
    } else {
        for (int64_t i = threadIdx.y; i < n; i += rows) {
            int64_t at = l.offset + i * stride;
            y[at] = jgan_activate<ACT>(__fmaf_rn(x[at] - mean_f, scale, shift), slope);
        }
    }
}

// The backward: two passes, the second from registers (xs[], gs[]: x and dz) when the thread's
// items fit, as the forward; dz of the fused kernels is then computed once, not twice.
template <int ACT>
__device__ __forceinline__ void jgan_lab_bn_backward_tile(const float* x, const float* dy, const float* __restrict__ gamma,
                                                          const float* __restrict__ beta, float slope,
                                                          const float* __restrict__ save_mean,
                                                          const float* __restrict__ save_inv_std, float* dx,
                                                          float* __restrict__ d_gamma, float* __restrict__ d_beta,
                                                          int accumulate, int64_t n, int64_t c, int64_t s64) {
    const int s = (int)s64;
    const JganLabBnLane l = jgan_lab_bn_lane(c, s);
    const int64_t m = n * s64, stride = c * s64, ch = l.ch, rows = blockDim.y;
    const bool cached = n <= JGAN_LAB_BN_CACHE * rows;
    const float mean_f = l.active ? save_mean[ch] : 0.f, inv_std = l.active ? save_inv_std[ch] : 0.f;
    const float scale = l.active ? __fmul_rn(gamma[ch], inv_std) : 0.f;
    const float shift = l.active && beta ? beta[ch] : 0.f;
    float xs[JGAN_LAB_BN_CACHE], gs[JGAN_LAB_BN_CACHE];

    double v[2] = {0, 0}, total[2];  // sum dz, sum dz (x - mean)
    if (l.active && cached) {
        for (int j = 0; j < JGAN_LAB_BN_CACHE; j++) {
            int64_t i = threadIdx.y + j * rows;
            float xv = 0.f, g = 0.f;
            if (i < n) {
                xv = x[l.offset + i * stride];
                g = dy[l.offset + i * stride];
                if (ACT != JGAN_ACT_NONE)
                    g = jgan_activation_grad<ACT>(__fmaf_rn(xv - mean_f, scale, shift), g, slope);
                v[0] += g;
                v[1] += (double)g * ((double)xv - mean_f);
            }
            xs[j] = xv;
            gs[j] = g;
        }
    } else if (l.active) {
        for (int64_t i = threadIdx.y; i < n; i += rows) {
            int64_t at = l.offset + i * stride;
            float xv = x[at], g = dy[at];
            if (ACT != JGAN_ACT_NONE)
                g = jgan_activation_grad<ACT>(__fmaf_rn(xv - mean_f, scale, shift), g, slope);
            v[0] += g;
            v[1] += (double)g * ((double)xv - mean_f);
        }
    }
    jgan_lab_bn_tile_sums<2>(v, total, s, l.channels);
    if (!l.active) return;  // no barrier follows
    const double a = total[0], new_d_gamma = total[1] * inv_std;
    if (l.leader) {
        d_beta[ch] = (float)(accumulate ? d_beta[ch] + a : a);
        d_gamma[ch] = (float)(accumulate ? d_gamma[ch] + new_d_gamma : new_d_gamma);
    }

    // dx = (dz - mean dz - (x - mean) * slope_x) * gamma invStd
    const float mean_dz = (float)(a / (double)m), slope_x = (float)(new_d_gamma * inv_std / (double)m);
    if (cached) {
        for (int j = 0; j < JGAN_LAB_BN_CACHE; j++) {
            int64_t i = threadIdx.y + j * rows;
            if (i < n) dx[l.offset + i * stride] = (gs[j] - mean_dz - (xs[j] - mean_f) * slope_x) * scale;
        }
    } else {
        for (int64_t i = threadIdx.y; i < n; i += rows) {
            int64_t at = l.offset + i * stride;
            float xv = x[at], g = dy[at];
            if (ACT != JGAN_ACT_NONE)
                g = jgan_activation_grad<ACT>(__fmaf_rn(xv - mean_f, scale, shift), g, slope);
            dx[at] = (g - mean_dz - (xv - mean_f) * slope_x) * scale;
        }
    }
}

// kernels

// x, y: (N, C, S), 2 <= S <= 32; gamma, beta, run_mean, run_var, save_mean, save_inv_std: (C).
// Replace batch_norm_forward and batch_norm_backward, with their parameters.
extern "C" __global__ void lab_batch_norm_small_spatial_forward(const float* x, const float* gamma, const float* beta, float* run_mean,
                                                                float* run_var, float momentum, float eps, float* y, float* save_mean,
                                                                float* save_inv_std, int64_t n, int64_t c, int64_t s) {
    jgan_lab_bn_train_tile<JGAN_ACT_NONE>(x, gamma, beta, run_mean, run_var, momentum, eps, 0.f, y, save_mean, save_inv_std, n, c, s);
}

extern "C" __global__ void lab_batch_norm_small_spatial_backward(const float* x, const float* dy, const float* gamma, const float* save_mean,
                                                                 const float* save_inv_std, float* dx, float* d_gamma, float* d_beta,
                                                                 int accumulate, int64_t n, int64_t c, int64_t s) {
    jgan_lab_bn_backward_tile<JGAN_ACT_NONE>(x, dy, gamma, nullptr, 0.f, save_mean, save_inv_std, dx, d_gamma, d_beta, accumulate, n, c, s);
}

// Replace batch_norm_relu_forward and batch_norm_relu_backward.
extern "C" __global__ void lab_batch_norm_small_spatial_relu_forward(const float* x, const float* gamma, const float* beta, float* run_mean,
                                                                     float* run_var, float momentum, float eps, float* y, float* save_mean,
                                                                     float* save_inv_std, int64_t n, int64_t c, int64_t s) {
    jgan_lab_bn_train_tile<JGAN_ACT_RELU>(x, gamma, beta, run_mean, run_var, momentum, eps, 0.f, y, save_mean, save_inv_std, n, c, s);
}

extern "C" __global__ void lab_batch_norm_small_spatial_relu_backward(const float* x, const float* dy, const float* gamma, const float* beta,
                                                                      const float* save_mean, const float* save_inv_std, float* dx,
                                                                      float* d_gamma, float* d_beta, int accumulate, int64_t n, int64_t c,
                                                                      int64_t s) {
    jgan_lab_bn_backward_tile<JGAN_ACT_RELU>(x, dy, gamma, beta, 0.f, save_mean, save_inv_std, dx, d_gamma, d_beta, accumulate, n, c, s);
}

// Replace batch_norm_leaky_relu_forward and batch_norm_leaky_relu_backward.
extern "C" __global__ void lab_batch_norm_small_spatial_leaky_relu_forward(const float* x, const float* gamma, const float* beta,
                                                                           float* run_mean, float* run_var, float momentum, float eps,
                                                                           float slope, float* y, float* save_mean, float* save_inv_std,
                                                                           int64_t n, int64_t c, int64_t s) {
    jgan_lab_bn_train_tile<JGAN_ACT_LEAKY_RELU>(x, gamma, beta, run_mean, run_var, momentum, eps, slope, y, save_mean, save_inv_std, n, c, s);
}

extern "C" __global__ void lab_batch_norm_small_spatial_leaky_relu_backward(const float* x, const float* dy, const float* gamma,
                                                                            const float* beta, float slope, const float* save_mean,
                                                                            const float* save_inv_std, float* dx, float* d_gamma,
                                                                            float* d_beta, int accumulate, int64_t n, int64_t c, int64_t s) {
    jgan_lab_bn_backward_tile<JGAN_ACT_LEAKY_RELU>(x, dy, gamma, beta, slope, save_mean, save_inv_std, dx, d_gamma, d_beta, accumulate, n, c, s);
}
