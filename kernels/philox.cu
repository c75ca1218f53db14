// Philox 4x32-10 fills and dropout, drawing exactly the numbers dev.jgan.random.Philox defines:
// element i of a fill with (seed, offset) takes word i % 4 of counter block offset + i / 4 under
// key (lo32(seed), hi32(seed)); u = ((word >> 8) + 1) 2^-24 in (0, 1]. A thread computes one
// block (four elements). The float mapping is written with __f*_rn so that nvcc does not fuse it
// into an FMA: the bits then equal the CPU backend's.
//   philox_uniform_forward:   t = lo + (hi - lo) u                                (4 bytes written)
//   philox_normal_forward:    t = mean + std z, z Box-Muller in double over the word pairs
//                             (0, 1) and (2, 3): r = sqrt(-2 ln u_a), theta = 2 pi u_b,
//                             even element r cos theta, odd one r sin theta       (4 bytes written)
//   philox_bernoulli_forward: t = u <= p ? if_true : if_false                     (4 bytes written)
//   dropout_forward:          mask = u <= p ? 0 : scale, y = x mask, with scale = 1 / (1 - p)
//                             rounded to float by the caller                      (4 read, 8 written)
//   dropout_backward:         dx = dy mask                                        (8 read, 4 written)
// The normal's double log, cos and sin may differ from Java's in the last bit of the double on a
// GPU; the rounding to float hides that except for about one value in 2^29.
#include "common.cuh"

__device__ __forceinline__ double jgan_uniform_double(uint32_t word) {
    return __dmul_rn((double)((word >> 8) + 1u), 5.9604644775390625e-8);
}

// kernels

extern "C" __global__ void philox_uniform_forward(float* t, int64_t n, float lo, float hi, uint64_t seed, uint64_t offset) {
    const float range = hi - lo;
    const int64_t blocks = (n + 3) >> 2;
    JGAN_FOR_EACH(b, blocks) {
        JganPhilox4 r = jgan_philox(seed, offset + (uint64_t)b);
        int64_t i = b << 2;
        for (int lane = 0; lane < 4 && i + lane < n; lane++) t[i + lane] = __fadd_rn(lo, __fmul_rn(range, jgan_uniform(r.w[lane])));
    }
}

extern "C" __global__ void philox_normal_forward(float* t, int64_t n, float mean, float std, uint64_t seed, uint64_t offset) {
    const int64_t blocks = (n + 3) >> 2;
    JGAN_FOR_EACH(b, blocks) {
        JganPhilox4 r = jgan_philox(seed, offset + (uint64_t)b);
        int64_t i = b << 2;
        for (int pair = 0; pair < 4 && i + pair < n; pair += 2) {
            double radius = sqrt(__dmul_rn(-2.0, log(jgan_uniform_double(r.w[pair]))));
            double theta = __dmul_rn(6.283185307179586, jgan_uniform_double(r.w[pair + 1]));
            t[i + pair] = __fadd_rn(mean, __fmul_rn(std, (float)__dmul_rn(radius, cos(theta))));
            if (i + pair + 1 < n) t[i + pair + 1] = __fadd_rn(mean, __fmul_rn(std, (float)__dmul_rn(radius, sin(theta))));
        }
    }
}

extern "C" __global__ void philox_bernoulli_forward(float* t, int64_t n, float p, float if_true, float if_false,
                                                    uint64_t seed, uint64_t offset) {
    const int64_t blocks = (n + 3) >> 2;
    JGAN_FOR_EACH(b, blocks) {
        JganPhilox4 r = jgan_philox(seed, offset + (uint64_t)b);
        int64_t i = b << 2;
        for (int lane = 0; lane < 4 && i + lane < n; lane++) t[i + lane] = jgan_uniform(r.w[lane]) <= p ? if_true : if_false;
    }
}

extern "C" __global__ void dropout_forward(const float* x, float* __restrict__ mask, float* y, int64_t n, float p,
                                           float scale, uint64_t seed, uint64_t offset) {
    const int64_t blocks = (n + 3) >> 2;
    JGAN_FOR_EACH(b, blocks) {
        JganPhilox4 r = jgan_philox(seed, offset + (uint64_t)b);
        int64_t i = b << 2;
        for (int lane = 0; lane < 4 && i + lane < n; lane++) {
            float keep = jgan_uniform(r.w[lane]) <= p ? 0.f : scale;
            mask[i + lane] = keep;
            y[i + lane] = __fmul_rn(x[i + lane], keep);
        }
    }
}

extern "C" __global__ void dropout_backward(const float* dy, const float* __restrict__ mask, float* dx, int64_t n) {
    JGAN_FOR_EACH(i, n) dx[i] = __fmul_rn(dy[i], mask[i]);
}
