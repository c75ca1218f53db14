// DiffAugment (Zhao et al. 2020, arXiv 2006.10738; the official DiffAugment_pytorch.py), as
// dev.jgan.backend.Backend's diffAugment and diffAugmentBackward. x, y: (n, c, h, w) NCHW; params
// (n, k) holds per image k numbers r in [0, 1) (Philox uniforms). An integer uniform in [0, m) is
// jgan_draw: floor(q m / 2^24), q = floor(r 2^24), exact in integers as dev.jgan.backend.DiffAugment.
//   color (r_b, r_s, r_c), one block per image:  x1 = x + (r_b - 0.5); m_p = sum_c x1 / c;
//        x2 = (x1 - m_p) 2 r_s + m_p; M = mean of x2 (double block sum); y = (x2 - M)(r_c + 0.5) + M
//        backward: D = mean dy; g = k dy + (1 - k) D (k = r_c + 0.5); G_p = sum_c g / c;
//        dx = 2 r_s g + (1 - 2 r_s) G_p. Each float operation rounded on its own (__f*_rn), as
//        the CPU backend; only M's and D's double sums are in another order. A thread owns whole
//        pixels (all c channels), so y may alias x and dx dy.   (4 read + 4 written, twice read)
//   translation (r_h, r_w), elementwise over y:  y[c, i, j] = x[c, i + t_h, j + t_w], 0 outside,
//        t = jgan_draw(r, 2 s + 1) - s, s = (extent + 4) / 8; the backward gathers with -t.
//        y must not alias x.                                     (at most 4 read + 4 written)
//   cutout (r_h, r_w), elementwise:  y = 0 in rows [a, a + (h + 1) / 2) x columns [b, ...),
//        a = jgan_draw(r_h, h + 1 - size % 2) - size / 2, clipped; y = x elsewhere. The mask is
//        its own adjoint: the backward is this kernel. y may alias x.   (4 read + 4 written)
#include "common.cuh"

__device__ __forceinline__ int jgan_draw(float r, int m) {
    float q = fminf(fmaxf(__fmul_rn(r, 16777216.f), 0.f), 16777215.f);
    return (int)(((int64_t)(int)q * m) >> 24);
}

__device__ __forceinline__ int jgan_shift(float r, int extent) {
    int s = (extent + 4) / 8;
    return jgan_draw(r, 2 * s + 1) - s;
}

__device__ __forceinline__ int jgan_cut_start(float r, int extent) {
    int size = (extent + 1) / 2;
    return jgan_draw(r, extent + 1 - size % 2) - size / 2;
}

// sum_c (x[c, p] + b) / c in float, channel order: saturation's per-pixel mean.
__device__ __forceinline__ float jgan_pixel_mean(const float* x, int64_t c, int64_t s, float b) {
    float m = 0.f;
    for (int64_t ch = 0; ch < c; ch++) m = __fadd_rn(m, __fadd_rn(x[ch * s], b));
    return __fdiv_rn(m, (float)c);
}

// kernels

extern "C" __global__ void diff_augment_color_forward(const float* x, const float* __restrict__ params, float* y,
                                                      int64_t c, int64_t s) {
    const int64_t base = (int64_t)blockIdx.x * c * s;
    const float* r = params + 3 * (int64_t)blockIdx.x;
    const float b = __fsub_rn(r[0], 0.5f), sat = __fmul_rn(r[1], 2.f), k = __fadd_rn(r[2], 0.5f);
    x += base;
    y += base;
    double sum = 0;
    for (int64_t p = threadIdx.x; p < s; p += blockDim.x) {
        float m = jgan_pixel_mean(x + p, c, s, b);
        for (int64_t ch = 0; ch < c; ch++)
            sum += __fadd_rn(__fmul_rn(__fsub_rn(__fadd_rn(x[ch * s + p], b), m), sat), m);
    }
    sum = jgan_block_sum(sum);  // its barriers also order every read of x before the writes of y
    const float mean = (float)(sum / ((double)c * (double)s));
    for (int64_t p = threadIdx.x; p < s; p += blockDim.x) {
        float m = jgan_pixel_mean(x + p, c, s, b);
        for (int64_t ch = 0; ch < c; ch++) {
            float x2 = __fadd_rn(__fmul_rn(__fsub_rn(__fadd_rn(x[ch * s + p], b), m), sat), m);
            y[ch * s + p] = __fadd_rn(__fmul_rn(__fsub_rn(x2, mean), k), mean);
        }
    }
}

extern "C" __global__ void diff_augment_color_backward(const float* dy, const float* __restrict__ params, float* dx,
                                                       int64_t c, int64_t s) {
    const int64_t base = (int64_t)blockIdx.x * c * s;
    const float* r = params + 3 * (int64_t)blockIdx.x;
    const float sat = __fmul_rn(r[1], 2.f), k = __fadd_rn(r[2], 0.5f);
    const float sat_rest = __fsub_rn(1.f, sat), k_rest = __fsub_rn(1.f, k);
    dy += base;
    dx += base;
    double sum = 0;
    for (int64_t i = threadIdx.x; i < c * s; i += blockDim.x) sum += dy[i];
    sum = jgan_block_sum(sum);
    const float kd = __fmul_rn(k_rest, (float)(sum / ((double)c * (double)s)));
    for (int64_t p = threadIdx.x; p < s; p += blockDim.x) {
        float g = 0.f;
        for (int64_t ch = 0; ch < c; ch++) g = __fadd_rn(g, __fadd_rn(__fmul_rn(dy[ch * s + p], k), kd));
        const float sg = __fmul_rn(sat_rest, __fdiv_rn(g, (float)c));
        for (int64_t ch = 0; ch < c; ch++) {
            float gc = __fadd_rn(__fmul_rn(dy[ch * s + p], k), kd);
            dx[ch * s + p] = __fadd_rn(__fmul_rn(gc, sat), sg);
        }
    }
}

// out[n, c, i, j] = in[n, c, i + dir t_h, j + dir t_w], 0 outside.
__device__ __forceinline__ void jgan_translate(const float* __restrict__ in, const float* __restrict__ params,
                                               float* __restrict__ out, int64_t n, int64_t c, int64_t h, int64_t w, int dir) {
    const int64_t total = n * c * h * w;
    JGAN_FOR_EACH(e, total) {
        int64_t j = e % w, i = (e / w) % h, plane = e / (h * w), img = plane / c;
        int64_t from_i = i + dir * jgan_shift(params[2 * img], (int)h);
        int64_t from_j = j + dir * jgan_shift(params[2 * img + 1], (int)w);
        bool inside = from_i >= 0 && from_i < h && from_j >= 0 && from_j < w;
        out[e] = inside ? in[(plane * h + from_i) * w + from_j] : 0.f;
    }
}

extern "C" __global__ void diff_augment_translation_forward(const float* __restrict__ x, const float* __restrict__ params,
                                                            float* __restrict__ y, int64_t n, int64_t c, int64_t h, int64_t w) {
    jgan_translate(x, params, y, n, c, h, w, 1);
}

extern "C" __global__ void diff_augment_translation_backward(const float* __restrict__ dy, const float* __restrict__ params,
                                                             float* __restrict__ dx, int64_t n, int64_t c, int64_t h, int64_t w) {
    jgan_translate(dy, params, dx, n, c, h, w, -1);
}

extern "C" __global__ void diff_augment_cutout_forward(const float* x, const float* __restrict__ params, float* y,
                                                       int64_t n, int64_t c, int64_t h, int64_t w) {
    const int64_t total = n * c * h * w, size_h = (h + 1) / 2, size_w = (w + 1) / 2;
    JGAN_FOR_EACH(e, total) {
        int64_t j = e % w, i = (e / w) % h, img = e / (h * w) / c;
        int64_t a = jgan_cut_start(params[2 * img], (int)h), b = jgan_cut_start(params[2 * img + 1], (int)w);
        bool cut = i >= a && i < a + size_h && j >= b && j < b + size_w;
        y[e] = cut ? 0.f : x[e];
    }
}
