// The convolution algorithms of libcudnn.so.8 (the virtual GPU's cuDNN): host loops over NCHW
// float tensors, shared by cudnn.cpp (the API) and cudnn_conv.cpp (the algorithms).
//
// Conventions: x (N, C, H, W), w (K, C, R, S), y (N, K, P, Q), all packed NCHW;
// P = (H + 2 padH - ((R - 1) dilH + 1)) / strideH + 1 (cuDNN's output dimension formula), Q alike.
// CROSS_CORRELATION uses w as stored; CONVOLUTION flips it (w[k][c][R-1-r][S-1-s]).
// Every algorithm writes its whole result into `out` (a host buffer the size of the output
// operand); cudnn.cpp then blends it into the device operand: out = alpha result + beta out.
#pragma once

#include <cstddef>
#include <cstdint>

namespace jgan_cudnn {

struct Geometry {
    int n, c, h, w;        // x
    int k, r, s;           // w (K, C, R, S)
    int p, q;              // y's H and W
    int pad_h, pad_w, stride_h, stride_w, dil_h, dil_w;
    bool flip;             // CUDNN_CONVOLUTION (true) or CUDNN_CROSS_CORRELATION (false)

    int64_t x_size() const { return int64_t(n) * c * h * w; }
    int64_t w_size() const { return int64_t(k) * c * r * s; }
    int64_t y_size() const { return int64_t(n) * k * p * q; }
};

// cudnnConvolutionFwdAlgo_t, cudnnConvolutionBwdDataAlgo_t, cudnnConvolutionBwdFilterAlgo_t (cuDNN 8)
enum { FWD_IMPLICIT_GEMM = 0, FWD_IMPLICIT_PRECOMP_GEMM = 1, FWD_GEMM = 2, FWD_ALGO_COUNT = 8 };
enum { BWD_DATA_ALGO_0 = 0, BWD_DATA_ALGO_1 = 1, BWD_DATA_ALGO_COUNT = 6 };
enum { BWD_FILTER_ALGO_0 = 0, BWD_FILTER_ALGO_1 = 1, BWD_FILTER_ALGO_3 = 3, BWD_FILTER_ALGO_COUNT = 7 };

enum class Direction { forward, backward_data, backward_filter };

struct AlgoInfo {
    bool implemented;      // false: CUDNN_STATUS_NOT_SUPPORTED
    bool deterministic;    // CUDNN_DETERMINISTIC or CUDNN_NON_DETERMINISTIC
    uint64_t workspace;    // bytes it needs for this geometry
};

int algo_count(Direction d);
// What algorithm `algo` (0 <= algo < algo_count(d)) of direction d needs and is, for g.
AlgoInfo algo_info(Direction d, int algo, const Geometry& g);

// Runs an implemented algorithm: forward reads x, w into out (y_size); backward data reads w, dy
// into out (x_size); backward filter reads x, dy into out (w_size). workspace holds at least
// algo_info(...).workspace bytes (device memory, already checked). `call` counts the calls of
// the non-deterministic algorithms, whose summation order it rotates.
void run(Direction d, int algo, const Geometry& g, const float* in0, const float* in1, float* workspace, float* out,
         uint64_t call);

}  // namespace jgan_cudnn
