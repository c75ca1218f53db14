// 2x2 max pooling with stride 2 over (N, C, H, W), as dev.jgan.backend.Backend's
// maxPool2x2Forward/Backward: y (N, C, H / 2, W / 2) (floor: an odd last row or column is not
// read). The backward has cuDNN's semantics, from x and y: dx is dy at the first position of its
// window (row-major) where x equals the window's maximum, 0 elsewhere (odd rows/columns included).
// planes = N * C. Forward: one thread per output, 4 reads and 1 write (20 bytes per output).
// Backward: one thread per element of dx (windows do not overlap, so nothing is accumulated):
// 4 reads of x, 1 of y and 1 of dy for the window, 1 write (28 bytes per element, mostly cached).
#include "common.cuh"

// kernels

extern "C" __global__ void max_pool_2x2_forward(const float* __restrict__ x, float* __restrict__ y, int64_t planes,
                                                int64_t h, int64_t w) {
    const int64_t p = h / 2, q = w / 2;
    JGAN_FOR_EACH(o, planes * p * q) {
        const int64_t plane = o / (p * q), i = (o / q) % p, j = o % q;
        const float* a = x + (plane * h + 2 * i) * w + 2 * j;
        y[o] = fmaxf(fmaxf(a[0], a[1]), fmaxf(a[w], a[w + 1]));
    }
}

extern "C" __global__ void max_pool_2x2_backward(const float* __restrict__ x, const float* __restrict__ y,
                                                 const float* __restrict__ dy, float* __restrict__ dx, int64_t planes,
                                                 int64_t h, int64_t w) {
    const int64_t p = h / 2, q = w / 2;
    JGAN_FOR_EACH(e, planes * h * w) {
        const int64_t plane = e / (h * w), r = (e / w) % h, c = e % w, i = r / 2, j = c / 2;
        float g = 0.f;
        if (i < p && j < q) {
            const int64_t first = (plane * h + 2 * i) * w + 2 * j, o = (plane * p + i) * q + j;
            const float m = y[o];
            // the window's first maximal position, as the CPU backend and the reference choose it
            const int64_t at = x[first] == m ? first : x[first + 1] == m ? first + 1 : x[first + w] == m ? first + w : first + w + 1;
            if (at == e) g = dy[o];
        }
        dx[e] = g;
    }
}
