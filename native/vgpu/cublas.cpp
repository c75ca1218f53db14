// libcublas.so.12 of the virtual GPU: the cuBLAS functions jgan calls, written from the cuBLAS 12
// documentation (cublas_api.h's C ABI names). Exported under version node libcublas.so.12
// (libcublas.map), as JCublas2's JNI library imports them.
//
// Conventions (cuBLAS's): matrices are column-major, A(i, l) = A[i + l * lda]; pointer mode host
// (alpha and beta are read when the call is made); work runs on the handle's stream, in order with
// the kernels and copies queued there. Sums run in float in the natural k order, one rounding per
// multiply and one per add (the build uses -ffp-contract=off), so results match the emulation.
#include "vgpu_core.h"
#include "vgpu_math.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

struct cublasContext {
    void* stream = nullptr; // cublasSetStream's stream; nullptr: the NULL stream
};
typedef cublasContext* cublasHandle_t;

namespace {

// cublasStatus_t (cublas_api.h)
enum : int {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_EXECUTION_FAILED = 13,
};
// cublasOperation_t: N, T, C (for real data C means T)
enum : int { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2 };
// libraryPropertyType (library_types.h)
enum : int { MAJOR_VERSION = 0, MINOR_VERSION = 1, PATCH_LEVEL = 2 };

// The version this stand-in reports. Built twice (CMakeLists.txt): JGAN_CUBLAS_MAJOR 12 makes
// libcublas.so.12, cuBLAS 12.4.5 (libcublas-12-4); 13 makes libcublas.so.13, cuBLAS 13.0.2 (CUDA
// 13.0's). cuBLAS 13 keeps the C API jgan calls (the _v2 entry points, cublasStatus_t's values,
// CUBLAS_VERSION's encoding major * 10000 + minor * 100 + patch), so only the version differs.
#ifndef JGAN_CUBLAS_MAJOR
#define JGAN_CUBLAS_MAJOR 12
#endif
#if JGAN_CUBLAS_MAJOR == 13
constexpr int kMajor = 13, kMinor = 0, kPatch = 2;
#elif JGAN_CUBLAS_MAJOR == 12
constexpr int kMajor = 12, kMinor = 4, kPatch = 5;
#else
#error "JGAN_CUBLAS_MAJOR must be 12 or 13"
#endif

std::mutex handles_mutex;
std::unordered_set<cublasHandle_t> handles; // live handles, so a stale or garbage one is refused

bool live(cublasHandle_t h) {
    std::lock_guard<std::mutex> lock(handles_mutex);
    return h != nullptr && handles.count(h) != 0;
}

// The stream a live handle is bound to.
void* stream_of(cublasHandle_t h) {
    std::lock_guard<std::mutex> lock(handles_mutex);
    return h->stream;
}

// Floats a stored rows x cols column-major matrix spans: (cols - 1) * ld + rows.
uint64_t extent(int rows, int cols, int ld) {
    return static_cast<uint64_t>(cols - 1) * static_cast<uint64_t>(ld) + static_cast<uint64_t>(rows);
}

std::string check(const char* operand, const void* p, uint64_t floats) {
    std::string why = jgan_vgpu::check_device(reinterpret_cast<uint64_t>(p), 4 * floats);
    return why.empty() ? why : std::string(operand) + ": " + why;
}

using jgan_vgpu::axpy;  // vgpu_math.h: acc[i] += x[i] * a, one multiply and one add each

// C = alpha op(A) op(B) + beta C on host memory, column-major; op(A) is m x k, op(B) is k x n.
// Each C(i, j) sums op(A)(i, l) op(B)(l, j) for l = 0 .. k-1 in order into a float, then
// alpha * sum + beta * C(i, j) (beta == 0: C is not read, so NaN in C does not propagate).
void sgemm_host(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
                const float* b, int ldb, float beta, float* c, int ldc) {
    if (k == 0 || alpha == 0.0f) { // C = beta C; A and B are not read
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                float& cij = c[i + static_cast<int64_t>(j) * ldc];
                cij = beta == 0.0f ? 0.0f : beta * cij;
            }
        return;
    }
    // op(A) as a packed m x k column-major copy when transposed, so the inner loop is contiguous
    std::vector<float> packed;
    const float* opa = a;
    int64_t ldopa = lda;
    if (ta) {
        packed.resize(static_cast<size_t>(m) * k);
        for (int l = 0; l < k; l++)
            for (int i = 0; i < m; i++) packed[i + static_cast<size_t>(l) * m] = a[l + static_cast<int64_t>(i) * lda];
        opa = packed.data();
        ldopa = m;
    }
    std::vector<float> acc(m);
    for (int j = 0; j < n; j++) {
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (int l = 0; l < k; l++) {
            float blj = tb ? b[j + static_cast<int64_t>(l) * ldb] : b[l + static_cast<int64_t>(j) * ldb];
            axpy(acc.data(), opa + l * ldopa, blj, m);
        }
        float* cj = c + static_cast<int64_t>(j) * ldc;
        for (int i = 0; i < m; i++) cj[i] = alpha * acc[i] + (beta == 0.0f ? 0.0f : beta * cj[i]);
    }
}

} // namespace

extern "C" {

// cublasCreate: initialises the library and creates a handle bound to the NULL stream.
// CUBLAS_STATUS_NOT_INITIALIZED when the CUDA runtime (here: the driver) is not initialised,
// CUBLAS_STATUS_INVALID_VALUE when handle is NULL, CUBLAS_STATUS_ALLOC_FAILED without memory.
__attribute__((visibility("default"))) int cublasCreate_v2(cublasHandle_t* handle) {
    if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    if (!jgan_vgpu::initialized()) return CUBLAS_STATUS_NOT_INITIALIZED;
    cublasHandle_t h = new (std::nothrow) cublasContext();
    if (h == nullptr) return CUBLAS_STATUS_ALLOC_FAILED;
    {
        std::lock_guard<std::mutex> lock(handles_mutex);
        handles.insert(h);
    }
    *handle = h;
    return CUBLAS_STATUS_SUCCESS;
}

// cublasDestroy: releases the handle's resources; it implicitly waits for the work queued by
// the handle (cuBLAS: "implicitly calls cudaDeviceSynchronize"). NOT_INITIALIZED for a handle
// that is not live.
__attribute__((visibility("default"))) int cublasDestroy_v2(cublasHandle_t handle) {
    if (!live(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
    void* stream = stream_of(handle);
    {
        std::lock_guard<std::mutex> lock(handles_mutex);
        handles.erase(handle);
    }
    if (jgan_vgpu::valid_stream(stream)) jgan_vgpu::synchronize(stream);
    delete handle;
    return CUBLAS_STATUS_SUCCESS;
}

// cublasSetStream: every later function of the handle runs on streamId (NULL: the NULL stream).
// NOT_INITIALIZED for a handle that is not live. (A stream that is invalid when work is queued
// fails that launch: CUBLAS_STATUS_EXECUTION_FAILED from the function that queues it.)
__attribute__((visibility("default"))) int cublasSetStream_v2(cublasHandle_t handle, void* streamId) {
    if (!live(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
    std::lock_guard<std::mutex> lock(handles_mutex);
    handle->stream = streamId;
    return CUBLAS_STATUS_SUCCESS;
}

// cublasGetVersion: the library version, CUBLAS_VERSION's encoding for cuBLAS 12 and 13:
// major * 10000 + minor * 100 + patch. NOT_INITIALIZED for a handle that is not live,
// INVALID_VALUE for a NULL version pointer.
__attribute__((visibility("default"))) int cublasGetVersion_v2(cublasHandle_t handle, int* version) {
    if (!live(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (version == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    *version = kMajor * 10000 + kMinor * 100 + kPatch;
    return CUBLAS_STATUS_SUCCESS;
}

// cublasGetProperty: MAJOR_VERSION, MINOR_VERSION or PATCH_LEVEL of the library, no handle
// needed; CUBLAS_STATUS_INVALID_VALUE for another type or a NULL value pointer.
__attribute__((visibility("default"))) int cublasGetProperty(int type, int* value) {
    if (value == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    switch (type) {
        case MAJOR_VERSION: *value = kMajor; return CUBLAS_STATUS_SUCCESS;
        case MINOR_VERSION: *value = kMinor; return CUBLAS_STATUS_SUCCESS;
        case PATCH_LEVEL: *value = kPatch; return CUBLAS_STATUS_SUCCESS;
        default: return CUBLAS_STATUS_INVALID_VALUE;
    }
}

// cublasSgemm: C = alpha op(A) op(B) + beta C, column-major, op(A) m x k, op(B) k x n, C m x n,
// queued on the handle's stream. Statuses as documented: NOT_INITIALIZED (handle not live);
// INVALID_VALUE when m, n or k < 0, transa/transb is not N, T or C, lda < max(1, m) for op N
// (max(1, k) otherwise), ldb < max(1, k) for op N (max(1, n) otherwise), ldc < max(1, m), or
// alpha/beta is NULL; EXECUTION_FAILED when the work cannot be launched (an injected "cublas"
// fault, an invalid stream, the NULL stream under JGAN_VGPU_STRICT=1). m == 0 or n == 0 returns at once. Pointer mode host: *alpha and
// *beta are read here. When the work runs, the stored extents of A, B and C ((cols - 1) * ld +
// rows floats) must lie inside device allocations, else the context gets a sticky
// CUDA_ERROR_ILLEGAL_ADDRESS; A and B are not read when k == 0 or alpha == 0, C not when beta == 0.
__attribute__((visibility("default"))) int cublasSgemm_v2(cublasHandle_t handle, int transa, int transb, int m, int n,
                                                          int k, const float* alpha, const float* A, int lda,
                                                          const float* B, int ldb, const float* beta, float* C,
                                                          int ldc) {
    if (!live(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
    auto op_ok = [](int op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; };
    if (m < 0 || n < 0 || k < 0 || !op_ok(transa) || !op_ok(transb)) return CUBLAS_STATUS_INVALID_VALUE;
    const bool ta = transa != CUBLAS_OP_N, tb = transb != CUBLAS_OP_N;
    if (lda < std::max(1, ta ? k : m) || ldb < std::max(1, tb ? n : k) || ldc < std::max(1, m))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (alpha == nullptr || beta == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    if (jgan_vgpu::inject("cublas", "cublasSgemm_v2")) return CUBLAS_STATUS_EXECUTION_FAILED;
    if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
    void* stream = stream_of(handle);
    if (!jgan_vgpu::valid_stream(stream)) return CUBLAS_STATUS_EXECUTION_FAILED;
    if (jgan_vgpu::refuse_null_stream(stream, "cublasSgemm_v2")) return CUBLAS_STATUS_EXECUTION_FAILED; // JGAN_VGPU_STRICT
    const float a_ = *alpha, b_ = *beta;
    jgan_vgpu::enqueue(stream, "cublasSgemm_v2", [=]() -> std::string {
        std::string why = check("C", C, extent(m, n, ldc));
        if (why.empty() && k > 0 && a_ != 0.0f) {
            why = check("A", A, ta ? extent(k, m, lda) : extent(m, k, lda));
            if (why.empty()) why = check("B", B, tb ? extent(n, k, ldb) : extent(k, n, ldb));
        }
        if (!why.empty()) return why;
        sgemm_host(ta, tb, m, n, k, a_, A, lda, B, ldb, b_, C, ldc);
        return "";
    });
    return CUBLAS_STATUS_SUCCESS;
}

} // extern "C"
