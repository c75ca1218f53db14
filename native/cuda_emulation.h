// CUDA host emulation: with this header force-included (g++ -include cuda_emulation.h), the
// unchanged kernels/*.cu compile as C++ for the host, and native/emu_runtime.cpp runs them.
//
// Model (what a kernel may rely on, as on the device):
//  - A block's threads are user-level fibers on one OS thread. They run concurrently in the sense
//    that matters for correctness: a thread runs until it reaches __syncthreads(), a warp shuffle
//    or __syncwarp(), and there it waits until every thread it synchronises with has arrived.
//    So a read of shared memory that another thread writes without a barrier in between sees the
//    stale value (the schedule runs threads in ascending or descending order, per launch), and a
//    missing __syncthreads gives a wrong result instead of passing by luck.
//  - __syncthreads() waits for every thread of the block that has not exited (sm_70+ semantics).
//  - __shared__ variables are per block: static thread_local storage of the OS worker that runs
//    the block (a worker runs one block at a time). Dynamic shared memory: JGAN_DYNAMIC_SHARED.
//  - Warps are 32 consecutive linear thread ids; shuffles exchange registers among the lanes of
//    the mask, which must all reach the same shuffle.
//  - Blocks run in parallel on a pool of OS threads: atomics are real atomics.
//  - Math: the host's libm; __fmul_rn and friends are single IEEE operations, as on the device
//    (build with -ffp-contract=off so that plain a * b + c is not fused either).
#pragma once

#include <math.h>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __shared__ static thread_local
#define __constant__ static const

struct uint3 { unsigned int x, y, z; };
struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
};

namespace jgan_emu {

// The running thread and block; set by the runtime before it resumes a fiber.
struct ThreadState;
struct BlockState {
    uint3 block_idx;
    dim3 block_dim;
    dim3 grid_dim;
    void* dynamic_shared;
    unsigned int dynamic_shared_bytes;
};
struct ThreadCoords {
    uint3 thread_idx;
    unsigned int linear;
};

extern thread_local ThreadCoords* tls_thread;
extern thread_local BlockState* tls_block;

// Synchronisation points, implemented by the runtime (they switch fibers).
void sync_block();
void sync_warp(unsigned int mask);
// Writes this lane's 8-byte value, waits for the lanes of mask, returns the value of lane src
// (own value when src is outside the mask), as __shfl*_sync do.
uint64_t shuffle(unsigned int mask, uint64_t value, int src_lane);
unsigned int ballot(unsigned int mask, int predicate);
// Records a misuse (reported by the launch as an error).
void fail(const char* what);

template <typename T> inline uint64_t to_bits(T v) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a type larger than 8 bytes");
    uint64_t b = 0;
    std::memcpy(&b, &v, sizeof(T));
    return b;
}
template <typename T> inline T from_bits(uint64_t b) {
    T v;
    std::memcpy(&v, &b, sizeof(T));
    return v;
}
inline unsigned int lane_id() { return tls_thread->linear & 31u; }

}  // namespace jgan_emu

#define threadIdx (::jgan_emu::tls_thread->thread_idx)
#define blockIdx (::jgan_emu::tls_block->block_idx)
#define blockDim (::jgan_emu::tls_block->block_dim)
#define gridDim (::jgan_emu::tls_block->grid_dim)
#define warpSize 32

// Dynamic shared memory (the launch's shared bytes): JGAN_DYNAMIC_SHARED(float, buf) declares
// `float* buf` on the host, `extern __shared__ float buf[]` on the device (see kernels/common.cuh).
#define JGAN_EMU_DYNAMIC_SHARED(type, name) type* name = static_cast<type*>(::jgan_emu::tls_block->dynamic_shared)

#ifdef JGAN_EMU_NO_SYNCTHREADS
// Test build only: every __syncthreads() removed, to show that the emulation catches the race.
inline void __syncthreads() {}
#else
inline void __syncthreads() { ::jgan_emu::sync_block(); }
#endif
inline void __syncwarp(unsigned int mask = 0xffffffffu) { ::jgan_emu::sync_warp(mask); }
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

template <typename T> inline T __shfl_sync(unsigned int mask, T v, int src, int width = 32) {
    unsigned int lane = ::jgan_emu::lane_id();
    int base = (int)(lane & ~(unsigned)(width - 1));
    return ::jgan_emu::from_bits<T>(::jgan_emu::shuffle(mask, ::jgan_emu::to_bits(v), base + (src & (width - 1))));
}
template <typename T> inline T __shfl_down_sync(unsigned int mask, T v, unsigned int delta, int width = 32) {
    int lane = (int)::jgan_emu::lane_id();
    int in_segment = (lane & (width - 1)) + (int)delta;
    return ::jgan_emu::from_bits<T>(::jgan_emu::shuffle(mask, ::jgan_emu::to_bits(v), in_segment < width ? lane + (int)delta : lane));
}
template <typename T> inline T __shfl_up_sync(unsigned int mask, T v, unsigned int delta, int width = 32) {
    int lane = (int)::jgan_emu::lane_id();
    int in_segment = (lane & (width - 1)) - (int)delta;
    return ::jgan_emu::from_bits<T>(::jgan_emu::shuffle(mask, ::jgan_emu::to_bits(v), in_segment >= 0 ? lane - (int)delta : lane));
}
template <typename T> inline T __shfl_xor_sync(unsigned int mask, T v, int lane_mask, int width = 32) {
    int lane = (int)::jgan_emu::lane_id();
    int src = lane ^ lane_mask;
    // as on the device (PTX shfl.bfly): a source in a later segment of width lanes gives the own value
    if ((src & ~(width - 1)) > (lane & ~(width - 1))) src = lane;
    return ::jgan_emu::from_bits<T>(::jgan_emu::shuffle(mask, ::jgan_emu::to_bits(v), src));
}
inline unsigned int __ballot_sync(unsigned int mask, int predicate) { return ::jgan_emu::ballot(mask, predicate); }

// ---- atomics: real atomics, since blocks run in parallel ------------------------------------
inline int atomicAdd(int* a, int v) { return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST); }
inline unsigned int atomicAdd(unsigned int* a, unsigned int v) { return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST); }
inline unsigned long long atomicAdd(unsigned long long* a, unsigned long long v) { return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST); }
template <typename F, typename U> inline F jgan_emu_atomic_add_fp(F* a, F v) {
    U* bits = reinterpret_cast<U*>(a);
    U old = __atomic_load_n(bits, __ATOMIC_SEQ_CST), next;
    do {
        F sum = ::jgan_emu::from_bits<F>(old) + v;
        std::memcpy(&next, &sum, sizeof(F));
    } while (!__atomic_compare_exchange_n(bits, &old, next, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    return ::jgan_emu::from_bits<F>(old);
}
inline float atomicAdd(float* a, float v) { return jgan_emu_atomic_add_fp<float, uint32_t>(a, v); }
inline double atomicAdd(double* a, double v) { return jgan_emu_atomic_add_fp<double, uint64_t>(a, v); }
inline int atomicCAS(int* a, int expected, int desired) {
    __atomic_compare_exchange_n(a, &expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return expected;
}
inline unsigned int atomicCAS(unsigned int* a, unsigned int expected, unsigned int desired) {
    __atomic_compare_exchange_n(a, &expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return expected;
}
inline int atomicExch(int* a, int v) { return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST); }
inline int atomicMax(int* a, int v) {
    int old = __atomic_load_n(a, __ATOMIC_SEQ_CST);
    while (old < v && !__atomic_compare_exchange_n(a, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
    return old;
}

// ---- device math and intrinsics --------------------------------------------------------------
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
inline unsigned int __umulhi(unsigned int a, unsigned int b) { return (unsigned int)(((uint64_t)a * b) >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
    return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
inline int __float_as_int(float f) { return ::jgan_emu::from_bits<int>(::jgan_emu::to_bits(f)); }
inline unsigned int __float_as_uint(float f) { return ::jgan_emu::from_bits<unsigned int>(::jgan_emu::to_bits(f)); }
inline float __int_as_float(int i) { return ::jgan_emu::from_bits<float>(::jgan_emu::to_bits(i)); }
inline float __uint_as_float(unsigned int i) { return ::jgan_emu::from_bits<float>(::jgan_emu::to_bits(i)); }
inline float __double2float_rn(double d) { return (float)d; }
inline int __popc(unsigned int x) { return __builtin_popcount(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned)x); }
template <typename T> inline T __ldg(const T* p) { return *p; }
