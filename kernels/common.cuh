// Shared device helpers of jgan's kernels. Conventions: float32, NCHW, dense; n is an element
// count (64-bit: a tensor may exceed 2^31 elements); every kernel is extern "C" and named
// <op>_<forward|backward> so that Java finds it by name. Launch settings live in Java (Kernels).
#pragma once
#include <cstdint>

// Grid-stride loop over [0, n): correct for any grid size, so Java may cap the grid.
#define JGAN_FOR_EACH(i, n) \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)
