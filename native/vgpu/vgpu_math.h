// Host arithmetic the cuBLAS and cuDNN stand-ins share (header-only: each stand-in compiles its
// own copy, with -ffp-contract=off, so no multiply-add is fused).
#pragma once

#include <cstdint>
#include <cstring>

namespace jgan_vgpu {

// y[i] += a * x[i] for 0 <= i < n: per element one multiply and one add, in the order the caller
// gives (four lanes at a time with GCC's vector extension; the build's -O2 does not vectorize).
typedef float Lanes __attribute__((vector_size(16)));
inline void axpy(float* y, const float* x, float a, int64_t n) {
    int64_t i = 0;
    const Lanes av = {a, a, a, a};
    for (; i + 4 <= n; i += 4) {
        Lanes xv, yv;
        std::memcpy(&xv, x + i, sizeof xv);
        std::memcpy(&yv, y + i, sizeof yv);
        yv += xv * av;
        std::memcpy(y + i, &yv, sizeof yv);
    }
    for (; i < n; i++) y[i] += x[i] * a;
}

}  // namespace jgan_vgpu
