// Spectral normalisation (Miyato et al. 2018), as dev.jgan.backend.Backend's spectralNorm and
// spectralNormBackward. The weight w is read as a matrix M (rows, cols) with an outer block:
//   M[r, o * inner + j] = w[(o * rows + r) * inner + j],   cols = outer * inner
// (outer 1 for a dense or convolution weight (out, in, ...), outer = in channels for a transposed
// convolution's (in, out, k, k), whose rows are its output channels, as PyTorch's dim=1).
// Java (Kernels) runs one power iteration and the scaling as a sequence of launches:
//   v = M^T u (wtu), v /= max(|v|, eps) (dot, normalize), Mv = M v (wv), u = Mv / max(|Mv|, eps),
//   sigma = u . Mv (dot), wsn = w / sigma (scale)
// and the backward as (dot: gw = g . wsn, backward):
//   dw (=|+=) (g - gw u v^T) / sigma     (u and v constants, as PyTorch's no-grad power iteration)
// work holds sigma at [0], a scalar at [1] (|v|^2, |Mv|^2, then g . wsn) and Mv at [2 ..].
// Sums are in double; the reductions (dot: one block; wv: one block per row) do not depend on
// an atomic order, so a launch repeats its bits.
#include "common.cuh"

#define JGAN_SN_EPS 1e-12

// kernels

// v[c] = sum_r M[r, c] u[r], one thread per column (consecutive threads read consecutive floats of a row).
extern "C" __global__ void spectral_norm_wtu_forward(const float* __restrict__ w, const float* __restrict__ u,
                                                     float* __restrict__ v, int64_t rows, int64_t outer, int64_t inner) {
    JGAN_FOR_EACH(c, outer * inner) {
        int64_t o = c / inner, j = c - o * inner;
        const float* col = w + o * rows * inner + j;
        double s = 0;
        for (int64_t r = 0; r < rows; r++) s += (double)col[r * inner] * (double)u[r];
        v[c] = (float)s;
    }
}

// mv[r] = sum_c M[r, c] v[c], one block per row.
extern "C" __global__ void spectral_norm_wv_forward(const float* __restrict__ w, const float* __restrict__ v,
                                                    float* __restrict__ mv, int64_t rows, int64_t outer, int64_t inner) {
    int64_t r = blockIdx.x;
    double s = 0;
    for (int64_t c = threadIdx.x; c < outer * inner; c += blockDim.x) {
        int64_t o = c / inner, j = c - o * inner;
        s += (double)w[(o * rows + r) * inner + j] * (double)v[c];
    }
    s = jgan_block_sum(s);
    if (threadIdx.x == 0) mv[r] = (float)s;
}

// out[0] = sum_i a[i] b[i], one block.
extern "C" __global__ void spectral_norm_dot_forward(const float* __restrict__ a, const float* __restrict__ b,
                                                     float* __restrict__ out, int64_t n) {
    double s = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += (double)a[i] * (double)b[i];
    s = jgan_block_sum(s);
    if (threadIdx.x == 0) out[0] = (float)s;
}

// y = x / max(sqrt(square_norm[0]), eps); y may alias x.
extern "C" __global__ void spectral_norm_normalize_forward(const float* x, const float* __restrict__ square_norm,
                                                           float* y, int64_t n) {
    double norm = sqrt((double)square_norm[0]);
    float scale = (float)(1.0 / (norm > JGAN_SN_EPS ? norm : JGAN_SN_EPS));
    JGAN_FOR_EACH(i, n) y[i] = __fmul_rn(x[i], scale);
}

// wsn = w / sigma[0].
extern "C" __global__ void spectral_norm_scale_forward(const float* __restrict__ w, const float* __restrict__ sigma,
                                                       float* __restrict__ wsn, int64_t n) {
    float s = sigma[0];
    JGAN_FOR_EACH(i, n) wsn[i] = __fdiv_rn(w[i], s);
}

// dw (=|+=) (g - gw u[r] v[c]) / sigma with sigma = work[0], gw = work[1].
extern "C" __global__ void spectral_norm_backward(const float* __restrict__ g, const float* __restrict__ u,
                                                  const float* __restrict__ v, const float* __restrict__ work,
                                                  float* __restrict__ dw, int accumulate, int64_t rows,
                                                  int64_t outer, int64_t inner) {
    float sigma = work[0], gw = work[1];
    JGAN_FOR_EACH(i, outer * rows * inner) {
        int64_t j = i % inner, q = i / inner, r = q % rows, o = q / rows;
        float d = __fdiv_rn(__fsub_rn(g[i], __fmul_rn(gw, __fmul_rn(u[r], v[o * inner + j]))), sigma);
        dw[i] = accumulate ? __fadd_rn(dw[i], d) : d;
    }
}
