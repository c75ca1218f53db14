// libcudnn.so.8 and libcudnn.so.9 of the virtual GPU: the cuDNN functions jgan calls (the
// README's list), written from cuDNN 8.9's and 9.x's API references; the status codes and the
// version of each (below). Exported under version node libcudnn.so.8 or .9 (libcudnn.map, its node
// renamed for .9 by CMakeLists.txt), as JCudnn's JNI library imports them from .8. The algorithms are in cudnn_conv.cpp.
//
// Conventions (cuDNN's): 4-d NCHW float tensors, filters (K, C, R, S); alpha and beta are host
// floats read when the call is made: out = alpha result + beta out, out not read when beta == 0.
// Work runs on the handle's stream (cudnnSetStream), in order with the kernels and copies queued
// there; the device ranges it reads and writes are checked when it runs (a bad one becomes the
// context's sticky CUDA_ERROR_ILLEGAL_ADDRESS).
#include "cudnn_conv.h"
#include "vgpu_core.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

using jgan_cudnn::AlgoInfo;
using jgan_cudnn::Direction;
using jgan_cudnn::Geometry;

struct cudnnContext {
    void* stream = nullptr; // cudnnSetStream's stream; nullptr: the NULL stream
};
struct cudnnTensorStruct {
    bool set = false;
    int n = 0, c = 0, h = 0, w = 0;
};
struct cudnnFilterStruct {
    bool set = false;
    int k = 0, c = 0, r = 0, s = 0;
};
struct cudnnConvolutionStruct {
    bool set = false;
    int pad_h = 0, pad_w = 0, stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1, mode = 0;
    int math = 0; // cudnnMathType_t, CUDNN_DEFAULT_MATH until cudnnSetConvolutionMathType
};
typedef cudnnContext* cudnnHandle_t;
typedef cudnnTensorStruct* cudnnTensorDescriptor_t;
typedef cudnnFilterStruct* cudnnFilterDescriptor_t;
typedef cudnnConvolutionStruct* cudnnConvolutionDescriptor_t;

// cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t: one layout for the three in cuDNN 8
struct cudnnAlgoPerf {
    int algo;
    int status;
    float time;        // milliseconds
    size_t memory;     // workspace bytes
    int determinism;   // cudnnDeterminism_t
    int mathType;      // cudnnMathType_t
    int reserved[3];
};

namespace {

// cudnnStatus_t. Built twice (CMakeLists.txt): JGAN_CUDNN_MAJOR 8 makes libcudnn.so.8 with cuDNN
// 8.9's flat enum (cudnn_ops_infer.h), 9 makes libcudnn.so.9 with cuDNN 9's (cudnn_graph.h), which
// renumbered it into categories by thousands (CUDNN_STATUS_CATEGORY(s) = s / 1000 * 1000, each
// category's code its general member, sub-codes after it). What the two agree and differ on, for
// what this stand-in answers:
//   status                        8.9   9.x
//   SUCCESS                         0     0
//   NOT_INITIALIZED                 1  1001
//   BAD_PARAM                       3  2000
//   EXECUTION_FAILED                8  5000
//   NOT_SUPPORTED                   9  3000  (9: the whole 3000 category means "not supported")
//   ALLOC_FAILED                    2     -  (not in 9's enum: host allocation failures are
//                                             INTERNAL_ERROR_HOST_ALLOCATION_FAILED 4003, device
//                                             ones INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED 4004)
//   MAPPING_ERROR                   7     -  (not in 9's enum; a stream that is not the context's
//                                             is BAD_PARAM_STREAM_MISMATCH 2007)
//   cudnnGetVersion   major*1000+minor*100+patch (8907)   major*10000+minor*100+patch (91002)
// The same in both: the legacy convolution API's functions and signatures (9 keeps them in
// cudnn_cnn.h behind the libcudnn.so shim), the perf structs (algo, status, time, memory,
// determinism, mathType, reserved[3]: 48 bytes), the enums this file uses (data type FLOAT 0,
// tensor format NCHW 0, CROSS_CORRELATION 1, DEFAULT_MATH 0 / FMA_MATH 3, determinism 0/1) and the
// algorithm counts (forward 8, backward data 6, backward filter 7).
#ifndef JGAN_CUDNN_MAJOR
#define JGAN_CUDNN_MAJOR 8
#endif
#if JGAN_CUDNN_MAJOR == 9
enum : int {
    CUDNN_STATUS_SUCCESS = 0,
    CUDNN_STATUS_NOT_INITIALIZED = 1001,
    CUDNN_STATUS_BAD_PARAM = 2000,
    CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH = 2007,
    CUDNN_STATUS_NOT_SUPPORTED = 3000,
    CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED = 4003,
    CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED = 4004,
    CUDNN_STATUS_EXECUTION_FAILED = 5000,
    // the meanings of 8.9's names that 9 dropped, as 9 spells them
    CUDNN_STATUS_ALLOC_FAILED = CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED,
    CUDNN_STATUS_WORKSPACE_ALLOC_FAILED = CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED,
    CUDNN_STATUS_MAPPING_ERROR = CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH,
};
// The version this stand-in reports: cuDNN 9.10.2.
constexpr size_t kVersion = 9 * 10000 + 10 * 100 + 2;
#elif JGAN_CUDNN_MAJOR == 8
enum : int {
    CUDNN_STATUS_SUCCESS = 0,
    CUDNN_STATUS_NOT_INITIALIZED = 1,
    CUDNN_STATUS_ALLOC_FAILED = 2,
    CUDNN_STATUS_BAD_PARAM = 3,
    CUDNN_STATUS_MAPPING_ERROR = 7,
    CUDNN_STATUS_EXECUTION_FAILED = 8,
    CUDNN_STATUS_NOT_SUPPORTED = 9,
    // an algorithm whose workspace is larger than the one given (find's perf status)
    CUDNN_STATUS_WORKSPACE_ALLOC_FAILED = CUDNN_STATUS_ALLOC_FAILED,
};
// The version this stand-in reports: cuDNN 8.9.7 (libcudnn8=8.9.7.29).
constexpr size_t kVersion = 8 * 1000 + 9 * 100 + 7;
#else
#error "JGAN_CUDNN_MAJOR must be 8 or 9"
#endif
enum : int { CUDNN_DATA_FLOAT = 0, CUDNN_DATA_TYPE_LAST = 14 };  // FLOAT .. FAST_FLOAT_FOR_FP8
enum : int { CUDNN_TENSOR_NCHW = 0, CUDNN_TENSOR_NHWC = 1, CUDNN_TENSOR_NCHW_VECT_C = 2 };
enum : int { CUDNN_CONVOLUTION = 0, CUDNN_CROSS_CORRELATION = 1 };
enum : int { CUDNN_DEFAULT_MATH = 0, CUDNN_FMA_MATH = 3 };
enum : int { CUDNN_NON_DETERMINISTIC = 0, CUDNN_DETERMINISTIC = 1 };


std::mutex registry_mutex; // live handles and descriptors, so a stale or garbage one is refused
std::unordered_set<const void*> registry;

template <typename T> bool live(T* p) {
    std::lock_guard<std::mutex> lock(registry_mutex);
    return p != nullptr && registry.count(p) != 0;
}

template <typename T> int create(T** out) {
    if (out == nullptr) return CUDNN_STATUS_BAD_PARAM;
    T* p = new (std::nothrow) T();
    if (p == nullptr) return CUDNN_STATUS_ALLOC_FAILED;
    std::lock_guard<std::mutex> lock(registry_mutex);
    registry.insert(p);
    *out = p;
    return CUDNN_STATUS_SUCCESS;
}

// Destroying NULL does nothing (cuDNN); a descriptor that is not live is BAD_PARAM.
template <typename T> int destroy(T* p) {
    if (p == nullptr) return CUDNN_STATUS_SUCCESS;
    {
        std::lock_guard<std::mutex> lock(registry_mutex);
        if (registry.erase(p) == 0) return CUDNN_STATUS_BAD_PARAM;
    }
    delete p;
    return CUDNN_STATUS_SUCCESS;
}

void* stream_of(cudnnHandle_t h) {
    std::lock_guard<std::mutex> lock(registry_mutex);
    return h->stream;
}

// Data type and format of a descriptor: FLOAT + NCHW is what this stand-in computes; other valid
// enumerants are NOT_SUPPORTED, invalid ones BAD_PARAM.
int check_type_format(int dataType, int format) {
    if (dataType < 0 || dataType > CUDNN_DATA_TYPE_LAST) return CUDNN_STATUS_BAD_PARAM;
    if (format < CUDNN_TENSOR_NCHW || format > CUDNN_TENSOR_NCHW_VECT_C) return CUDNN_STATUS_BAD_PARAM;
    if (dataType != CUDNN_DATA_FLOAT || format != CUDNN_TENSOR_NCHW) return CUDNN_STATUS_NOT_SUPPORTED;
    return CUDNN_STATUS_SUCCESS;
}

// The shape consistency cuDNN documents for a convolution x (N, C, H, W) * w (K, C, R, S) ->
// y (N, K, P, Q): every descriptor live and set, x's C == w's C, the dilated filter no larger
// than the padded input, and y's dimensions exactly the convolution's output dimensions
// (cudnnGetConvolution2dForwardOutputDim's), else CUDNN_STATUS_BAD_PARAM.
int geometry(cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t conv,
             cudnnTensorDescriptor_t y, Geometry* g) {
    if (!live(x) || !live(w) || !live(conv) || !live(y)) return CUDNN_STATUS_BAD_PARAM;
    if (!x->set || !w->set || !conv->set || !y->set) return CUDNN_STATUS_BAD_PARAM;
    if (x->c != w->c) return CUDNN_STATUS_BAD_PARAM;
    int eh = (w->r - 1) * conv->dil_h + 1, ew = (w->s - 1) * conv->dil_w + 1;
    int hp = x->h + 2 * conv->pad_h, wp = x->w + 2 * conv->pad_w;
    if (eh > hp || ew > wp) return CUDNN_STATUS_BAD_PARAM;
    int p = (hp - eh) / conv->stride_h + 1, q = (wp - ew) / conv->stride_w + 1;
    if (y->n != x->n || y->c != w->k || y->h != p || y->w != q) return CUDNN_STATUS_BAD_PARAM;
    *g = Geometry{x->n, x->c, x->h, x->w, w->k, w->r, w->s, p, q,
                  conv->pad_h, conv->pad_w, conv->stride_h, conv->stride_w, conv->dil_h, conv->dil_w,
                  conv->mode == CUDNN_CONVOLUTION};
    return CUDNN_STATUS_SUCCESS;
}

// What a workspace-size query answers: BAD_PARAM for a bad handle, NULL size, inconsistent shapes
// or an algorithm id outside the enum; NOT_SUPPORTED for an algorithm this stand-in does not
// implement; else the algorithm's workspace for these shapes (different per algorithm).
int workspace_size(Direction d, cudnnHandle_t handle, cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w,
                   cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t y, int algo, size_t* size) {
    if (!live(handle) || size == nullptr) return CUDNN_STATUS_BAD_PARAM;
    Geometry g;
    if (int rc = geometry(x, w, conv, y, &g)) return rc;
    if (algo < 0 || algo >= jgan_cudnn::algo_count(d)) return CUDNN_STATUS_BAD_PARAM;
    AlgoInfo info = jgan_cudnn::algo_info(d, algo, g);
    if (!info.implemented) return CUDNN_STATUS_NOT_SUPPORTED;
    *size = info.workspace;
    return CUDNN_STATUS_SUCCESS;
}

// Sizes (floats) of the operands of direction d: the two inputs and the output.
struct Operands {
    int64_t in0, in1, out;
};
Operands operands(Direction d, const Geometry& g) {
    switch (d) {
        case Direction::forward: return {g.x_size(), g.w_size(), g.y_size()};          // x, w -> y
        case Direction::backward_data: return {g.w_size(), g.y_size(), g.x_size()};    // w, dy -> dx
        default: return {g.x_size(), g.y_size(), g.w_size()};                          // x, dy -> dw
    }
}

std::string check(const char* what, const void* p, uint64_t bytes) {
    std::string why = jgan_vgpu::check_device(reinterpret_cast<uint64_t>(p), bytes);
    return why.empty() ? why : std::string(what) + ": " + why;
}

const char* const kInputNames[3][2] = {{"x", "w"}, {"w", "dy"}, {"x", "dy"}};
const char* const kOutputNames[3] = {"y", "dx", "dw"};

// The device ranges of one execution: both inputs and the output whole, the workspace as far as
// the algorithm uses it.
std::string check_ranges(Direction d, const Geometry& g, const void* in0, const void* in1, const void* out,
                         const void* workspace, uint64_t workspace_used) {
    const int i = int(d);
    Operands o = operands(d, g);
    std::string why = check(kInputNames[i][0], in0, 4 * uint64_t(o.in0));
    if (why.empty()) why = check(kInputNames[i][1], in1, 4 * uint64_t(o.in1));
    if (why.empty()) why = check(kOutputNames[i], out, 4 * uint64_t(o.out));
    if (why.empty() && workspace_used > 0) why = check("workspace", workspace, workspace_used);
    return why;
}

std::atomic<uint64_t> executions{0}; // the call counter the non-deterministic algorithms rotate by

// Runs algorithm `algo` and blends into out: alpha result + beta out (out unread when beta == 0).
void execute(Direction d, int algo, const Geometry& g, const float* in0, const float* in1, float* workspace,
             float alpha, float beta, float* out) {
    std::vector<float> result(operands(d, g).out);
    jgan_cudnn::run(d, algo, g, in0, in1, workspace, result.data(), executions.fetch_add(1));
    for (size_t i = 0; i < result.size(); i++) out[i] = alpha * result[i] + (beta == 0.0f ? 0.0f : beta * out[i]);
}

// cudnnConvolution{Forward,BackwardData,BackwardFilter}: BAD_PARAM for a bad handle, NULL alpha or
// beta, inconsistent shapes, an algorithm id outside the enum, or a workspace smaller than the
// algorithm needs (or NULL while it needs one); NOT_SUPPORTED for an algorithm not implemented;
// EXECUTION_FAILED when the work cannot be launched (an injected "cudnn" fault, a dead stream,
// the NULL stream under JGAN_VGPU_STRICT=1).
int convolution(Direction d, const char* call, cudnnHandle_t handle, const void* alpha, cudnnTensorDescriptor_t x,
                cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t y, int algo,
                void* workspace, size_t workspace_bytes, const void* beta, const void* in0, const void* in1, void* out) {
    if (!live(handle) || alpha == nullptr || beta == nullptr) return CUDNN_STATUS_BAD_PARAM;
    Geometry g;
    if (int rc = geometry(x, w, conv, y, &g)) return rc;
    if (algo < 0 || algo >= jgan_cudnn::algo_count(d)) return CUDNN_STATUS_BAD_PARAM;
    AlgoInfo info = jgan_cudnn::algo_info(d, algo, g);
    if (!info.implemented) return CUDNN_STATUS_NOT_SUPPORTED;
    if (info.workspace > 0 && (workspace == nullptr || workspace_bytes < info.workspace)) return CUDNN_STATUS_BAD_PARAM;
    if (jgan_vgpu::inject("cudnn", call)) return CUDNN_STATUS_EXECUTION_FAILED;
    void* stream = stream_of(handle);
    if (!jgan_vgpu::valid_stream(stream) || jgan_vgpu::refuse_null_stream(stream, call)) return CUDNN_STATUS_EXECUTION_FAILED;
    const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
    const uint64_t used = info.workspace;
    jgan_vgpu::enqueue(stream, call, [=]() -> std::string {
        std::string why = check_ranges(d, g, in0, in1, out, workspace, used);
        if (!why.empty()) return why;
        execute(d, algo, g, static_cast<const float*>(in0), static_cast<const float*>(in1),
                static_cast<float*>(workspace), a, b, static_cast<float*>(out));
        return "";
    });
    return CUDNN_STATUS_SUCCESS;
}

// cudnnFindConvolution{Forward,BackwardData,BackwardFilter}AlgorithmEx: runs every algorithm on
// the given buffers (after the work queued on the handle's stream, waiting for it), timing each,
// and returns up to requestedAlgoCount results, the successful ones fastest first, then those
// that could not run (CUDNN_STATUS_ALLOC_FAILED, 9: INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED: the workspace given is too small, with the
// memory it would need; CUDNN_STATUS_NOT_SUPPORTED: not implemented here, time -1). The output
// operand is overwritten (it holds the last algorithm's result). BAD_PARAM for a bad handle,
// inconsistent shapes, requestedAlgoCount < 1 or NULL returnedAlgoCount/perfResults;
// EXECUTION_FAILED for an injected "cudnn" fault, the NULL stream under JGAN_VGPU_STRICT=1, or a failure while running (the context's
// sticky error says which range was bad). On failure *returnedAlgoCount is 0.
int find(Direction d, const char* call, cudnnHandle_t handle, cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w,
         cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t y, const void* in0, const void* in1, void* out,
         int requested, int* returned, cudnnAlgoPerf* perf, void* workspace, size_t workspace_bytes) {
    if (returned != nullptr) *returned = 0;
    if (!live(handle) || returned == nullptr || perf == nullptr || requested < 1) return CUDNN_STATUS_BAD_PARAM;
    Geometry g;
    if (int rc = geometry(x, w, conv, y, &g)) return rc;
    if (jgan_vgpu::inject("cudnn", call)) return CUDNN_STATUS_EXECUTION_FAILED;
    void* stream = stream_of(handle);
    if (!jgan_vgpu::valid_stream(stream) || jgan_vgpu::refuse_null_stream(stream, call)) return CUDNN_STATUS_EXECUTION_FAILED;
    const uint64_t available = workspace == nullptr ? 0 : workspace_bytes;
    const int math = conv->math;
    const int count = jgan_cudnn::algo_count(d);
    auto results = std::make_shared<std::vector<cudnnAlgoPerf>>();
    auto failed = std::make_shared<std::atomic<bool>>(false);
    jgan_vgpu::enqueue(stream, call, [=]() -> std::string {
        std::string why = check_ranges(d, g, in0, in1, out, workspace, 0);
        for (int algo = 0; algo < count && why.empty(); algo++) {
            AlgoInfo info = jgan_cudnn::algo_info(d, algo, g);
            cudnnAlgoPerf r{algo, CUDNN_STATUS_SUCCESS, -1.0f, info.workspace,
                            info.deterministic ? CUDNN_DETERMINISTIC : CUDNN_NON_DETERMINISTIC, math, {0, 0, 0}};
            if (!info.implemented) {
                r.status = CUDNN_STATUS_NOT_SUPPORTED;
                r.memory = 0;
            } else if (info.workspace > available) {
                r.status = CUDNN_STATUS_WORKSPACE_ALLOC_FAILED;
            } else {
                if (info.workspace > 0) why = check("workspace", workspace, info.workspace);
                if (!why.empty()) break;
                auto start = std::chrono::steady_clock::now();
                execute(d, algo, g, static_cast<const float*>(in0), static_cast<const float*>(in1),
                        static_cast<float*>(workspace), 1.0f, 0.0f, static_cast<float*>(out));
                r.time = std::chrono::duration<float, std::milli>(std::chrono::steady_clock::now() - start).count();
            }
            results->push_back(r);
        }
        if (!why.empty()) failed->store(true);
        return why;
    });
    jgan_vgpu::synchronize(stream);
    if (failed->load() || int(results->size()) != count) return CUDNN_STATUS_EXECUTION_FAILED;
    std::stable_sort(results->begin(), results->end(), [](const cudnnAlgoPerf& a, const cudnnAlgoPerf& b) {
        bool ra = a.status == CUDNN_STATUS_SUCCESS, rb = b.status == CUDNN_STATUS_SUCCESS;
        if (ra != rb) return ra;
        return ra && a.time < b.time;
    });
    const int n = std::min(requested, count);
    for (int i = 0; i < n; i++) perf[i] = (*results)[i];
    *returned = n;
    return CUDNN_STATUS_SUCCESS;
}

} // namespace

#define CUDNN_API extern "C" __attribute__((visibility("default")))

// cudnnGetVersion: CUDNN_VERSION of the library, in its major's encoding (the table above).
CUDNN_API size_t cudnnGetVersion() { return kVersion; }

// cudnnGetErrorString: the status's name, as cuDNN gives it, for the codes this stand-in answers
// (in its major's numbering); another code is "CUDNN_UNKNOWN_STATUS", as cuDNN says for one it
// does not know. The string is static.
CUDNN_API const char* cudnnGetErrorString(int status) {
    switch (status) {
        case CUDNN_STATUS_SUCCESS: return "CUDNN_STATUS_SUCCESS";
        case CUDNN_STATUS_NOT_INITIALIZED: return "CUDNN_STATUS_NOT_INITIALIZED";
        case CUDNN_STATUS_BAD_PARAM: return "CUDNN_STATUS_BAD_PARAM";
        case CUDNN_STATUS_EXECUTION_FAILED: return "CUDNN_STATUS_EXECUTION_FAILED";
        case CUDNN_STATUS_NOT_SUPPORTED: return "CUDNN_STATUS_NOT_SUPPORTED";
#if JGAN_CUDNN_MAJOR == 9
        case CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH: return "CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH";
        case CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED: return "CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED";
        case CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED: return "CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED";
#else
        case CUDNN_STATUS_ALLOC_FAILED: return "CUDNN_STATUS_ALLOC_FAILED";
        case CUDNN_STATUS_MAPPING_ERROR: return "CUDNN_STATUS_MAPPING_ERROR";
#endif
        default: return "CUDNN_UNKNOWN_STATUS";
    }
}

// cudnnCreate: a handle on the current device, bound to the NULL stream. BAD_PARAM for a NULL
// pointer, NOT_INITIALIZED when CUDA (here: the driver) is not initialised.
CUDNN_API int cudnnCreate(cudnnHandle_t* handle) {
    if (handle == nullptr) return CUDNN_STATUS_BAD_PARAM;
    if (!jgan_vgpu::initialized()) return CUDNN_STATUS_NOT_INITIALIZED;
    return create(handle);
}

// cudnnDestroy: releases the handle; it implicitly waits for the work it queued (cuDNN: "implicitly
// calls cudaDeviceSynchronize"). BAD_PARAM for a NULL or dead handle.
CUDNN_API int cudnnDestroy(cudnnHandle_t handle) {
    if (!live(handle)) return CUDNN_STATUS_BAD_PARAM;
    void* stream = stream_of(handle);
    if (jgan_vgpu::valid_stream(stream)) jgan_vgpu::synchronize(stream);
    return destroy(handle);
}

// cudnnSetStream: later calls of the handle run on streamId. BAD_PARAM for a bad handle,
// MAPPING_ERROR for a stream that is not one of the context's.
CUDNN_API int cudnnSetStream(cudnnHandle_t handle, void* streamId) {
    if (!live(handle)) return CUDNN_STATUS_BAD_PARAM;
    if (!jgan_vgpu::valid_stream(streamId)) return CUDNN_STATUS_MAPPING_ERROR;
    std::lock_guard<std::mutex> lock(registry_mutex);
    handle->stream = streamId;
    return CUDNN_STATUS_SUCCESS;
}

// cudnnCreateTensorDescriptor: a descriptor to be set before use. BAD_PARAM for NULL, ALLOC_FAILED.
CUDNN_API int cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t* desc) { return create(desc); }

// cudnnSetTensor4dDescriptor: a packed 4-d tensor (strides C H W, H W, W, 1 for NCHW). BAD_PARAM
// for n, c, h or w < 1 or an invalid format or data type; NOT_SUPPORTED for more than 2^31
// elements and (in this stand-in) for any layout but NCHW float.
CUDNN_API int cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t desc, int format, int dataType, int n, int c, int h,
                                         int w) {
    if (!live(desc) || n < 1 || c < 1 || h < 1 || w < 1) return CUDNN_STATUS_BAD_PARAM;
    if (int rc = check_type_format(dataType, format)) return rc;
    if (int64_t(n) * c * h * w > (int64_t(1) << 31)) return CUDNN_STATUS_NOT_SUPPORTED;
    *desc = cudnnTensorStruct{true, n, c, h, w};
    return CUDNN_STATUS_SUCCESS;
}

// cudnnDestroyTensorDescriptor: NULL does nothing.
CUDNN_API int cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t desc) { return destroy(desc); }

// cudnnCreateFilterDescriptor: a descriptor to be set before use.
CUDNN_API int cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t* desc) { return create(desc); }

// cudnnSetFilter4dDescriptor: k output maps, c input maps, h x w taps. BAD_PARAM for k, c, h or
// w < 1 or an invalid data type or format; NOT_SUPPORTED (here) for any but float NCHW (KCRS).
CUDNN_API int cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t desc, int dataType, int format, int k, int c, int h,
                                         int w) {
    if (!live(desc) || k < 1 || c < 1 || h < 1 || w < 1) return CUDNN_STATUS_BAD_PARAM;
    if (int rc = check_type_format(dataType, format)) return rc;
    *desc = cudnnFilterStruct{true, k, c, h, w};
    return CUDNN_STATUS_SUCCESS;
}

// cudnnDestroyFilterDescriptor: NULL does nothing.
CUDNN_API int cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t desc) { return destroy(desc); }

// cudnnCreateConvolutionDescriptor: a descriptor to be set before use; math type CUDNN_DEFAULT_MATH.
CUDNN_API int cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t* desc) { return create(desc); }

// cudnnSetConvolution2dDescriptor: BAD_PARAM when pad_h or pad_w < 0, u or v (strides) < 1,
// dilation_h or dilation_w < 1, mode is neither CUDNN_CONVOLUTION nor CUDNN_CROSS_CORRELATION, or
// computeType is not a data type; NOT_SUPPORTED (here) for a compute type other than float.
CUDNN_API int cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t desc, int pad_h, int pad_w, int u, int v,
                                              int dilation_h, int dilation_w, int mode, int computeType) {
    if (!live(desc) || pad_h < 0 || pad_w < 0 || u < 1 || v < 1 || dilation_h < 1 || dilation_w < 1)
        return CUDNN_STATUS_BAD_PARAM;
    if (mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION) return CUDNN_STATUS_BAD_PARAM;
    if (computeType < 0 || computeType > CUDNN_DATA_TYPE_LAST) return CUDNN_STATUS_BAD_PARAM;
    if (computeType != CUDNN_DATA_FLOAT) return CUDNN_STATUS_NOT_SUPPORTED;
    const int math = desc->math;
    *desc = cudnnConvolutionStruct{true, pad_h, pad_w, u, v, dilation_h, dilation_w, mode, math};
    return CUDNN_STATUS_SUCCESS;
}

// cudnnSetConvolutionMathType: CUDNN_DEFAULT_MATH, TENSOR_OP_MATH, TENSOR_OP_MATH_ALLOW_CONVERSION
// or FMA_MATH (0..3), else BAD_PARAM. This stand-in computes in full FP32 for every math type.
CUDNN_API int cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t desc, int mathType) {
    if (!live(desc) || mathType < CUDNN_DEFAULT_MATH || mathType > CUDNN_FMA_MATH) return CUDNN_STATUS_BAD_PARAM;
    desc->math = mathType;
    return CUDNN_STATUS_SUCCESS;
}

// cudnnDestroyConvolutionDescriptor: NULL does nothing.
CUDNN_API int cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t desc) { return destroy(desc); }

// cudnnGetConvolutionForwardWorkspaceSize: the workspace algo needs for x * w -> y.
CUDNN_API int cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle, cudnnTensorDescriptor_t xDesc,
                                                      cudnnFilterDescriptor_t wDesc, cudnnConvolutionDescriptor_t convDesc,
                                                      cudnnTensorDescriptor_t yDesc, int algo, size_t* sizeInBytes) {
    return workspace_size(Direction::forward, handle, xDesc, wDesc, convDesc, yDesc, algo, sizeInBytes);
}

// cudnnGetConvolutionBackwardDataWorkspaceSize: the workspace algo needs for dx from w and dy.
CUDNN_API int cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t handle, cudnnFilterDescriptor_t wDesc,
                                                           cudnnTensorDescriptor_t dyDesc,
                                                           cudnnConvolutionDescriptor_t convDesc,
                                                           cudnnTensorDescriptor_t dxDesc, int algo, size_t* sizeInBytes) {
    return workspace_size(Direction::backward_data, handle, dxDesc, wDesc, convDesc, dyDesc, algo, sizeInBytes);
}

// cudnnGetConvolutionBackwardFilterWorkspaceSize: the workspace algo needs for dw from x and dy.
CUDNN_API int cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t handle, cudnnTensorDescriptor_t xDesc,
                                                             cudnnTensorDescriptor_t dyDesc,
                                                             cudnnConvolutionDescriptor_t convDesc,
                                                             cudnnFilterDescriptor_t dwDesc, int algo, size_t* sizeInBytes) {
    return workspace_size(Direction::backward_filter, handle, xDesc, dwDesc, convDesc, dyDesc, algo, sizeInBytes);
}

// cudnnConvolutionForward: y = alpha conv(x, w) + beta y.
CUDNN_API int cudnnConvolutionForward(cudnnHandle_t handle, const void* alpha, cudnnTensorDescriptor_t xDesc, const void* x,
                                      cudnnFilterDescriptor_t wDesc, const void* w, cudnnConvolutionDescriptor_t convDesc,
                                      int algo, void* workSpace, size_t workSpaceSizeInBytes, const void* beta,
                                      cudnnTensorDescriptor_t yDesc, void* y) {
    return convolution(Direction::forward, "cudnnConvolutionForward", handle, alpha, xDesc, wDesc, convDesc, yDesc, algo,
                       workSpace, workSpaceSizeInBytes, beta, x, w, y);
}

// cudnnConvolutionBackwardData: dx = alpha (the gradient of the convolution with respect to x,
// given dy) + beta dx.
CUDNN_API int cudnnConvolutionBackwardData(cudnnHandle_t handle, const void* alpha, cudnnFilterDescriptor_t wDesc,
                                           const void* w, cudnnTensorDescriptor_t dyDesc, const void* dy,
                                           cudnnConvolutionDescriptor_t convDesc, int algo, void* workSpace,
                                           size_t workSpaceSizeInBytes, const void* beta, cudnnTensorDescriptor_t dxDesc,
                                           void* dx) {
    return convolution(Direction::backward_data, "cudnnConvolutionBackwardData", handle, alpha, dxDesc, wDesc, convDesc,
                       dyDesc, algo, workSpace, workSpaceSizeInBytes, beta, w, dy, dx);
}

// cudnnConvolutionBackwardFilter: dw = alpha (the gradient with respect to w, given x and dy) + beta dw.
CUDNN_API int cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void* alpha, cudnnTensorDescriptor_t xDesc,
                                             const void* x, cudnnTensorDescriptor_t dyDesc, const void* dy,
                                             cudnnConvolutionDescriptor_t convDesc, int algo, void* workSpace,
                                             size_t workSpaceSizeInBytes, const void* beta, cudnnFilterDescriptor_t dwDesc,
                                             void* dw) {
    return convolution(Direction::backward_filter, "cudnnConvolutionBackwardFilter", handle, alpha, xDesc, dwDesc,
                       convDesc, dyDesc, algo, workSpace, workSpaceSizeInBytes, beta, x, dy, dw);
}

// cudnnFindConvolutionForwardAlgorithmEx: see find() above; y is overwritten.
CUDNN_API int cudnnFindConvolutionForwardAlgorithmEx(cudnnHandle_t handle, cudnnTensorDescriptor_t xDesc, const void* x,
                                                     cudnnFilterDescriptor_t wDesc, const void* w,
                                                     cudnnConvolutionDescriptor_t convDesc, cudnnTensorDescriptor_t yDesc,
                                                     void* y, int requestedAlgoCount, int* returnedAlgoCount,
                                                     cudnnAlgoPerf* perfResults, void* workSpace,
                                                     size_t workSpaceSizeInBytes) {
    return find(Direction::forward, "cudnnFindConvolutionForwardAlgorithmEx", handle, xDesc, wDesc, convDesc, yDesc, x, w,
                y, requestedAlgoCount, returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes);
}

// cudnnFindConvolutionBackwardDataAlgorithmEx: see find() above; dx is overwritten.
CUDNN_API int cudnnFindConvolutionBackwardDataAlgorithmEx(cudnnHandle_t handle, cudnnFilterDescriptor_t wDesc, const void* w,
                                                          cudnnTensorDescriptor_t dyDesc, const void* dy,
                                                          cudnnConvolutionDescriptor_t convDesc,
                                                          cudnnTensorDescriptor_t dxDesc, void* dx, int requestedAlgoCount,
                                                          int* returnedAlgoCount, cudnnAlgoPerf* perfResults,
                                                          void* workSpace, size_t workSpaceSizeInBytes) {
    return find(Direction::backward_data, "cudnnFindConvolutionBackwardDataAlgorithmEx", handle, dxDesc, wDesc, convDesc,
                dyDesc, w, dy, dx, requestedAlgoCount, returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes);
}

// cudnnFindConvolutionBackwardFilterAlgorithmEx: see find() above; dw is overwritten.
CUDNN_API int cudnnFindConvolutionBackwardFilterAlgorithmEx(cudnnHandle_t handle, cudnnTensorDescriptor_t xDesc,
                                                            const void* x, cudnnTensorDescriptor_t dyDesc, const void* dy,
                                                            cudnnConvolutionDescriptor_t convDesc,
                                                            cudnnFilterDescriptor_t dwDesc, void* dw, int requestedAlgoCount,
                                                            int* returnedAlgoCount, cudnnAlgoPerf* perfResults,
                                                            void* workSpace, size_t workSpaceSizeInBytes) {
    return find(Direction::backward_filter, "cudnnFindConvolutionBackwardFilterAlgorithmEx", handle, xDesc, dwDesc,
                convDesc, dyDesc, x, dy, dw, requestedAlgoCount, returnedAlgoCount, perfResults, workSpace,
                workSpaceSizeInBytes);
}
