// Kernels that check the emulation itself against the device's documented behaviour; built only
// into libjgan_emu_selftest.so (EmulationSelfTest), never into the fatbin or libjgan_emu.so.
#include "common.cuh"

// kernels

// Thread t of a one-warp block writes, from v = 100 + lane: out[4t] = __shfl_down_sync(v, delta, width),
// out[4t + 1] = __shfl_xor_sync(v, delta, width), out[4t + 2] = __shfl_up_sync(v, delta, width),
// out[4t + 3] = __shfl_sync(v, delta, width).
extern "C" __global__ void selftest_shuffle_forward(int* out, int delta, int width) {
    const int t = threadIdx.x, v = 100 + (t & 31);
    out[4 * t] = __shfl_down_sync(JGAN_FULL_MASK, v, delta, width);
    out[4 * t + 1] = __shfl_xor_sync(JGAN_FULL_MASK, v, delta, width);
    out[4 * t + 2] = __shfl_up_sync(JGAN_FULL_MASK, v, delta, width);
    out[4 * t + 3] = __shfl_sync(JGAN_FULL_MASK, v, delta, width);
}

// Every thread of every block adds 1 to *sum and *count, and 0.5 to *half (float and double atomics).
extern "C" __global__ void selftest_atomic_forward(float* sum, int* count, double* half) {
    atomicAdd(sum, 1.f);
    atomicAdd(count, 1);
    atomicAdd(half, 0.5);
}

// out[w] = ballot over warp w of (threadIdx.x % 3 == 0).
extern "C" __global__ void selftest_ballot_forward(unsigned int* out) {
    unsigned int b = __ballot_sync(JGAN_FULL_MASK, threadIdx.x % 3 == 0);
    if ((threadIdx.x & 31) == 0) out[threadIdx.x >> 5] = b;
}

// Half a warp waits in a shuffle its other half never reaches, which waits at __syncthreads:
// undefined on the device (a hang), a reported deadlock in the emulation.
extern "C" __global__ void selftest_deadlock_forward(int* out) {
    if (threadIdx.x < 16) out[threadIdx.x] = __shfl_xor_sync(JGAN_FULL_MASK, 1, 1);
    else __syncthreads();
}

// Block sum: thread 0 writes the block's sum of in[] to out[blockIdx.x] (blocks share the data).
extern "C" __global__ void selftest_block_sum_forward(const float* in, float* out) {
    float total = jgan_block_sum(in[threadIdx.x]);
    if (threadIdx.x == 0) out[blockIdx.x] = total;
}
