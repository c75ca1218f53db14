// Shared device helpers of jgan's kernels. Conventions: float32, NCHW, dense; n is an element
// count (64-bit: a tensor may exceed 2^31 elements); every kernel is extern "C" and named
// <op>_<forward|backward> so that Java finds it by name. Launch settings live in Java (Kernels):
// kernels that reduce over a block require a 1-D block whose size is a multiple of 32 (at most
// 1024), and the (N, C) tile kernels a (32, JGAN_TILE_ROWS) block; Kernels checks both.
// These sources also compile for the host with native/cuda_emulation.h (CI has no GPU), so they
// use only what that header provides.
#pragma once
#include <cstdint>

// Grid-stride loop over [0, n): correct for any grid size, so Java may cap the grid.
#define JGAN_FOR_EACH(i, n) \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

// Rows of the (N, C) tile kernels: a block is 32 channels (threadIdx.x, one warp reads 32
// consecutive floats of a row) by JGAN_TILE_ROWS row stripes (threadIdx.y).
#define JGAN_TILE_ROWS 8

#define JGAN_FULL_MASK 0xffffffffu

// Channel of element i of an (N, C, S) tensor: (i / S) % C; 32-bit division when i fits (it is
// several times cheaper on the GPU than 64-bit division).
__device__ __forceinline__ int64_t jgan_channel(int64_t i, int64_t s, int64_t c) {
    if (i < 4294967296LL && s < 4294967296LL && c < 4294967296LL)
        return (int64_t)(((uint32_t)i / (uint32_t)s) % (uint32_t)c);
    return (i / s) % c;
}

// Offset of element j of one channel's values from the channel's first element, in an
// (N, C, S) tensor: item j / S, position j % S, items item_stride = C * S apart.
__device__ __forceinline__ int64_t jgan_channel_offset(int64_t j, int64_t s, int64_t item_stride) {
    if (j < 4294967296LL && s < 4294967296LL) {
        uint32_t item = (uint32_t)j / (uint32_t)s;
        return (int64_t)item * item_stride + ((uint32_t)j - item * (uint32_t)s);
    }
    return j / s * item_stride + j % s;
}

template <typename T> __device__ __forceinline__ T jgan_warp_sum(T v) {
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(JGAN_FULL_MASK, v, offset);
    return v;
}

// Sum of v over the block (1-D, blockDim.x a multiple of 32), returned to every thread. Each call
// starts with a barrier, so that consecutive calls can reuse the partial sums safely.
template <typename T> __device__ __forceinline__ T jgan_block_sum(T v) {
    __shared__ T partial[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = jgan_warp_sum(v);
    __syncthreads();  // the previous call's readers are done with partial[]
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    T total = lane < warps ? partial[lane] : (T)0;
    return jgan_warp_sum(total);  // every warp reduces the partials itself: no third barrier
}

// Column sums of a (32, JGAN_TILE_ROWS) block: v of thread (x, y) summed over y, returned to
// every thread of column x. Starts with a barrier, as jgan_block_sum.
template <typename T> __device__ __forceinline__ T jgan_tile_column_sum(T v) {
    __shared__ T partial[JGAN_TILE_ROWS][33];
    __syncthreads();
    partial[threadIdx.y][threadIdx.x] = v;
    __syncthreads();
    T total = 0;
    for (int r = 0; r < JGAN_TILE_ROWS; r++) total += partial[r][threadIdx.x];
    return total;
}

// Philox 4x32-10 (Salmon et al., SC'11), exactly as dev.jgan.random.Philox: counter
// (lo32(b), hi32(b), 0, 0) for block b, key (lo32(seed), hi32(seed)).
struct JganPhilox4 {
    uint32_t w[4];
};

__device__ __forceinline__ JganPhilox4 jgan_philox(uint64_t seed, uint64_t block) {
    uint32_t c0 = (uint32_t)block, c1 = (uint32_t)(block >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        uint32_t hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        uint32_t hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    JganPhilox4 out;
    out.w[0] = c0;
    out.w[1] = c1;
    out.w[2] = c2;
    out.w[3] = c3;
    return out;
}

// A word as a uniform in (0, 1]: ((word >> 8) + 1) * 2^-24, exact in float.
__device__ __forceinline__ float jgan_uniform(uint32_t word) {
    return __fmul_rn((float)((word >> 8) + 1u), 5.9604644775390625e-8f);
}

// Activations that batch norm fuses: y = act(z). The backward's factor comes from the output:
// with slope >= 0, sign(y) == sign(z).
#define JGAN_ACT_NONE 0
#define JGAN_ACT_RELU 1
#define JGAN_ACT_LEAKY_RELU 2

template <int ACT> __device__ __forceinline__ float jgan_activate(float z, float slope) {
    if (ACT == JGAN_ACT_RELU) return z > 0.f ? z : 0.f;
    if (ACT == JGAN_ACT_LEAKY_RELU) return z > 0.f ? z : __fmul_rn(slope, z);
    return z;
}

template <int ACT> __device__ __forceinline__ float jgan_activation_grad(float y, float dy, float slope) {
    if (ACT == JGAN_ACT_RELU) return y > 0.f ? dy : 0.f;
    if (ACT == JGAN_ACT_LEAKY_RELU) return y > 0.f ? dy : __fmul_rn(slope, dy);
    return dy;
}
