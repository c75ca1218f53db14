// libcuda.so.1 of the virtual GPU: the CUDA driver API functions jgan calls (libcuda.map lists
// them; nothing else is exported), written from NVIDIA's CUDA Driver API reference, each with the
// documented behaviour it implements beside it. All state is in the core (vgpu_core.h).
//
// Common to all: before cuInit every call but cuDriverGetVersion returns CUDA_ERROR_NOT_INITIALIZED;
// a call that works in a context returns CUDA_ERROR_INVALID_CONTEXT on a thread where none is
// current; a call that queues or waits for work returns the context's sticky error (an earlier
// asynchronous failure) instead of queuing. A refused call leaves its reason as the last error.
#include "vgpu_core.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace jgan_vgpu;

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef void* CUcontext;
typedef void* CUmodule;
typedef void* CUfunction;
typedef void* CUstream;
typedef void* CUevent;

#define EXPORT extern "C" __attribute__((visibility("default")))

namespace {

constexpr int kInvalidDevice = 101;
constexpr unsigned kStreamNonBlocking = 0x1;                 // CU_STREAM_NON_BLOCKING
constexpr unsigned kEventFlags = 0x1 | 0x2;                  // CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING
constexpr unsigned kHostAllocFlags = 0x1 | 0x2 | 0x4;        // PORTABLE | DEVICEMAP | WRITECOMBINED
constexpr unsigned kMaxSharedPerBlock = 48 * 1024;           // without cuFuncSetAttribute's opt-in

std::string hex(uint64_t v) {
    char b[32];
    std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
    return b;
}

CUresult refuse(CUresult rc, const std::string& what) {
    note_error(what);
    return rc;
}

CUresult need_init(const char* call) {
    if (!initialized()) return refuse(kNotInitialized, std::string(call) + ": cuInit has not been called");
    return kSuccess;
}

CUresult need_context(const char* call) {
    if (CUresult rc = need_init(call)) return rc;
    if (!context_current())
        return refuse(kInvalidContext, std::string(call) + ": no CUDA context is current on this thread (cuCtxSetCurrent)");
    return kSuccess;
}

// A stream argument: a live stream, or the NULL stream (refused under JGAN_VGPU_STRICT=1).
CUresult need_stream(CUstream stream, const char* call) {
    if (!valid_stream(stream)) return refuse(kInvalidHandle, std::string(call) + ": " + hex(reinterpret_cast<uintptr_t>(stream)) + " is not a live stream");
    if (refuse_null_stream(stream, call)) return kInvalidHandle;
    return kSuccess;
}

CUresult need_device_range(CUdeviceptr address, size_t bytes, const char* call, const char* what) {
    std::string why = check_device(address, bytes);
    if (!why.empty()) return refuse(kInvalidValue, std::string(call) + ": " + what + " " + why);
    return kSuccess;
}

CUresult need_device(CUdevice dev, const char* call) {
    if (dev != 0) return refuse(kInvalidDevice, std::string(call) + ": no device " + std::to_string(dev) + " (the virtual GPU is device 0)");
    return kSuccess;
}

#define CHECK(expr)                       \
    do {                                  \
        if (CUresult rc_ = (expr)) return rc_; \
    } while (0)

}  // namespace

// ---- initialisation, version, device -----------------------------------------------------------

// cuGetErrorName / cuGetErrorString: the CUresult's enum name ("CUDA_ERROR_OUT_OF_MEMORY") or its
// description, for every code this stand-in returns; another code gets CUDA_ERROR_INVALID_VALUE and
// *pStr NULL, as cuda.h documents for an unrecognised error. Need no cuInit; the strings are static.
namespace {
struct ErrorText { int code; const char* name; const char* text; };
constexpr ErrorText kErrorTexts[] = {
    {jgan_vgpu::kSuccess, "CUDA_SUCCESS", "no error"},
    {jgan_vgpu::kInvalidValue, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {jgan_vgpu::kOutOfMemory, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {jgan_vgpu::kNotInitialized, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {jgan_vgpu::kInvalidImage, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {jgan_vgpu::kInvalidContext, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {jgan_vgpu::kNoBinaryForGpu, "CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device"},
    {jgan_vgpu::kUnsupportedPtxVersion, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION", "the provided PTX was compiled with an unsupported toolchain."},
    {jgan_vgpu::kInvalidHandle, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {jgan_vgpu::kNotFound, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {jgan_vgpu::kNotReady, "CUDA_ERROR_NOT_READY", "device not ready"},
    {jgan_vgpu::kIllegalAddress, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"},
    {jgan_vgpu::kLaunchFailed, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
};
CUresult error_text(int error, const char** out, bool name) {
    if (out == nullptr) return jgan_vgpu::kInvalidValue;
    for (const ErrorText& e : kErrorTexts)
        if (e.code == error) {
            *out = name ? e.name : e.text;
            return jgan_vgpu::kSuccess;
        }
    *out = nullptr;
    return jgan_vgpu::kInvalidValue;
}
}  // namespace

EXPORT CUresult cuGetErrorName(int error, const char** pStr) { return error_text(error, pStr, true); }

EXPORT CUresult cuGetErrorString(int error, const char** pStr) { return error_text(error, pStr, false); }

// cuInit: Flags must be 0 (else CUDA_ERROR_INVALID_VALUE); initialises the driver API, which must be
// called before any other function but cuDriverGetVersion. Calling it again is harmless.
EXPORT CUresult cuInit(unsigned int Flags) {
    if (Flags != 0) return refuse(kInvalidValue, "cuInit: Flags must be 0, was " + std::to_string(Flags));
    mark_initialized();
    return kSuccess;
}

// cuDriverGetVersion: the latest CUDA version the driver supports (1000 * major + 10 * minor):
// 13.0 unless the tests play an older driver (JGAN_VGPU_DRIVER_VERSION, jgan_vgpu_set_driver_version);
// CUDA_ERROR_INVALID_VALUE for a NULL pointer. Needs no cuInit.
EXPORT CUresult cuDriverGetVersion(int* driverVersion) {
    if (!driverVersion) return refuse(kInvalidValue, "cuDriverGetVersion: driverVersion is NULL");
    *driverVersion = driver_version();
    return kSuccess;
}

// cuDeviceGetCount: the number of compute-capable devices (one: the virtual GPU).
EXPORT CUresult cuDeviceGetCount(int* count) {
    CHECK(need_init("cuDeviceGetCount"));
    if (!count) return refuse(kInvalidValue, "cuDeviceGetCount: count is NULL");
    *count = 1;
    return kSuccess;
}

// cuDeviceGet: the device handle for ordinal in [0, cuDeviceGetCount); CUDA_ERROR_INVALID_DEVICE otherwise.
EXPORT CUresult cuDeviceGet(CUdevice* device, int ordinal) {
    CHECK(need_init("cuDeviceGet"));
    if (!device) return refuse(kInvalidValue, "cuDeviceGet: device is NULL");
    CHECK(need_device(ordinal, "cuDeviceGet"));
    *device = 0;
    return kSuccess;
}

// cuDeviceGetName: the device's name as a NUL-terminated ASCII string of at most len bytes.
EXPORT CUresult cuDeviceGetName(char* name, int len, CUdevice dev) {
    CHECK(need_init("cuDeviceGetName"));
    if (!name || len <= 0) return refuse(kInvalidValue, "cuDeviceGetName: no room for the name");
    CHECK(need_device(dev, "cuDeviceGetName"));
    static const char kName[] = "jgan virtual GPU";
    size_t n = std::min<size_t>(sizeof kName - 1, static_cast<size_t>(len - 1));
    std::memcpy(name, kName, n);
    name[n] = 0;
    return kSuccess;
}

// cuDeviceGetAttribute: the value of a CUdevice_attribute; CUDA_ERROR_INVALID_VALUE for an attribute
// the device does not report. A compute capability 9.0 device whose multiprocessors are the host's
// cores (the kernels run on them, so grids sized by SMs stay as small as the emulation's).
EXPORT CUresult cuDeviceGetAttribute(int* pi, int attrib, CUdevice dev) {
    CHECK(need_init("cuDeviceGetAttribute"));
    if (!pi) return refuse(kInvalidValue, "cuDeviceGetAttribute: pi is NULL");
    CHECK(need_device(dev, "cuDeviceGetAttribute"));
    int v;
    switch (attrib) {
    case 1: v = 1024; break;                 // MAX_THREADS_PER_BLOCK
    case 2: case 3: v = 1024; break;         // MAX_BLOCK_DIM_X, _Y
    case 4: v = 64; break;                   // MAX_BLOCK_DIM_Z
    case 5: v = 2147483647; break;           // MAX_GRID_DIM_X
    case 6: case 7: v = 65535; break;        // MAX_GRID_DIM_Y, _Z
    case 8: v = 48 * 1024; break;            // MAX_SHARED_MEMORY_PER_BLOCK
    case 9: v = 64 * 1024; break;            // TOTAL_CONSTANT_MEMORY
    case 10: v = 32; break;                  // WARP_SIZE
    case 12: v = 65536; break;               // MAX_REGISTERS_PER_BLOCK
    case 13: v = 1980000; break;             // CLOCK_RATE (kHz)
    case 14: v = 512; break;                 // TEXTURE_ALIGNMENT
    case 15: v = 1; break;                   // GPU_OVERLAP
    case 16: v = static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); break;  // MULTIPROCESSOR_COUNT
    case 17: v = 0; break;                   // KERNEL_EXEC_TIMEOUT
    case 18: v = 0; break;                   // INTEGRATED
    case 19: v = 1; break;                   // CAN_MAP_HOST_MEMORY
    case 20: v = 0; break;                   // COMPUTE_MODE (default)
    case 31: v = 1; break;                   // CONCURRENT_KERNELS
    case 32: v = 0; break;                   // ECC_ENABLED
    case 39: v = 2048; break;                // MAX_THREADS_PER_MULTIPROCESSOR
    case 40: v = 2; break;                   // ASYNC_ENGINE_COUNT
    case 41: v = 1; break;                   // UNIFIED_ADDRESSING
    case 75: v = 9; break;                   // COMPUTE_CAPABILITY_MAJOR
    case 76: v = 0; break;                   // COMPUTE_CAPABILITY_MINOR
    case 81: v = 228 * 1024; break;          // MAX_SHARED_MEMORY_PER_MULTIPROCESSOR
    case 82: v = 65536; break;               // MAX_REGISTERS_PER_MULTIPROCESSOR
    case 97: v = 227 * 1024; break;          // MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
    default: return refuse(kInvalidValue, "cuDeviceGetAttribute: attribute " + std::to_string(attrib) + " is not reported by the virtual GPU");
    }
    *pi = v;
    return kSuccess;
}

// cuDeviceTotalMem_v2: the total device memory in bytes (JGAN_VGPU_MEMORY_MIB).
EXPORT CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice dev) {
    CHECK(need_init("cuDeviceTotalMem"));
    if (!bytes) return refuse(kInvalidValue, "cuDeviceTotalMem: bytes is NULL");
    CHECK(need_device(dev, "cuDeviceTotalMem"));
    *bytes = device_capacity();
    return kSuccess;
}

// ---- contexts ----------------------------------------------------------------------------------

// cuDevicePrimaryCtxRetain: the device's primary context, its reference count increased; it is not
// made current.
EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext* pctx, CUdevice dev) {
    CHECK(need_init("cuDevicePrimaryCtxRetain"));
    if (!pctx) return refuse(kInvalidValue, "cuDevicePrimaryCtxRetain: pctx is NULL");
    CHECK(need_device(dev, "cuDevicePrimaryCtxRetain"));
    primary_retain();
    *pctx = primary_context();
    return kSuccess;
}

// cuDevicePrimaryCtxRelease_v2: decreases the primary context's reference count (at zero it is no
// longer usable: threads where it is current have no usable context); CUDA_ERROR_INVALID_CONTEXT
// when it was not retained. (The virtual GPU keeps the context's memory and streams.)
EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
    CHECK(need_init("cuDevicePrimaryCtxRelease"));
    CHECK(need_device(dev, "cuDevicePrimaryCtxRelease"));
    if (primary_release() < 0) return refuse(kInvalidContext, "cuDevicePrimaryCtxRelease: the primary context is not retained");
    return kSuccess;
}

// cuCtxSetCurrent: binds ctx to the calling CPU thread (NULL unbinds); CUDA_ERROR_INVALID_CONTEXT for
// a context that is not live.
EXPORT CUresult cuCtxSetCurrent(CUcontext ctx) {
    CHECK(need_init("cuCtxSetCurrent"));
    if (ctx && ctx != primary_context())
        return refuse(kInvalidContext, "cuCtxSetCurrent: " + hex(reinterpret_cast<uintptr_t>(ctx)) + " is not a context");
    set_current_context(ctx);
    if (ctx && !context_current()) {
        set_current_context(nullptr);
        return refuse(kInvalidContext, "cuCtxSetCurrent: the primary context is not retained (cuDevicePrimaryCtxRetain)");
    }
    return kSuccess;
}

// cuCtxGetCurrent: the context bound to the calling CPU thread, or NULL when there is none.
EXPORT CUresult cuCtxGetCurrent(CUcontext* pctx) {
    CHECK(need_init("cuCtxGetCurrent"));
    if (!pctx) return refuse(kInvalidValue, "cuCtxGetCurrent: pctx is NULL");
    *pctx = current_context();
    return kSuccess;
}

// ---- modules and launches ----------------------------------------------------------------------

// cuModuleLoadData: loads a module from an image in memory: a fatbin, a cubin or NUL-terminated
// PTX text. The container is checked (CUDA_ERROR_INVALID_IMAGE when malformed) and must hold code
// the device can run, sm_90 machine code or compute_90 (or older) PTX, else
// CUDA_ERROR_NO_BINARY_FOR_GPU; PTX of an ISA newer than the driver's own CUDA version gets
// CUDA_ERROR_UNSUPPORTED_PTX_VERSION (a fatbin too, when that is all it has the driver can read).
// The kernels of PTX text are its `.entry` names.
EXPORT CUresult cuModuleLoadData(CUmodule* module, const void* image) {
    CHECK(need_context("cuModuleLoadData"));
    if (!module || !image) return refuse(kInvalidValue, "cuModuleLoadData: module or image is NULL");
    std::string why;
    CUresult rc = module_load(image, module, &why);
    if (rc) return refuse(rc, "cuModuleLoadData: " + why);
    return kSuccess;
}

// cuModuleGetFunction: the kernel `name` of the module; CUDA_ERROR_NOT_FOUND when it has none
// (resolved in the virtual GPU's kernel table and, when the image is uncompressed, in the image).
EXPORT CUresult cuModuleGetFunction(CUfunction* hfunc, CUmodule hmod, const char* name) {
    CHECK(need_context("cuModuleGetFunction"));
    if (!hfunc || !name) return refuse(kInvalidValue, "cuModuleGetFunction: hfunc or name is NULL");
    std::string why;
    CUresult rc = module_function(hmod, name, hfunc, &why);
    if (rc) return refuse(rc, "cuModuleGetFunction: " + why);
    return kSuccess;
}

// cuModuleUnload: unloads the module; its functions are no longer valid handles
// (CUDA_ERROR_INVALID_HANDLE for a module that is not loaded).
EXPORT CUresult cuModuleUnload(CUmodule hmod) {
    CHECK(need_context("cuModuleUnload"));
    if (!module_unload(hmod)) return refuse(kInvalidHandle, "cuModuleUnload: " + hex(reinterpret_cast<uintptr_t>(hmod)) + " is not a loaded module");
    return kSuccess;
}

// cuLaunchKernel: queues f on a grid of blocks on hStream. Block at most 1024 threads (x, y <= 1024,
// z <= 64), grid y and z at most 65535, dynamic shared memory at most 48 KiB, else
// CUDA_ERROR_INVALID_VALUE; an invalid function or stream is CUDA_ERROR_INVALID_HANDLE. kernelParams[i]
// points at the i-th parameter, whose value is copied now (the caller may reuse its memory at
// once); `extra` is not supported (CUDA_ERROR_INVALID_VALUE). The launch's failure (a pointer
// argument outside live device memory, an error in the kernel) is asynchronous and sticky.
EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ,
                               unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ,
                               unsigned int sharedMemBytes, CUstream hStream, void** kernelParams, void** extra) {
    CHECK(need_context("cuLaunchKernel"));
    if (!valid_function(f)) return refuse(kInvalidHandle, "cuLaunchKernel: " + hex(reinterpret_cast<uintptr_t>(f)) + " is not a function of a loaded module");
    std::string call = std::string("cuLaunchKernel(") + function_name(f) + ")";
    if (extra) return refuse(kInvalidValue, call + ": `extra` is not supported by the virtual GPU; pass kernelParams");
    uint64_t threads = uint64_t(blockDimX) * blockDimY * blockDimZ;
    if (!blockDimX || !blockDimY || !blockDimZ || threads > 1024 || blockDimX > 1024 || blockDimY > 1024 || blockDimZ > 64)
        return refuse(kInvalidValue, call + ": block (" + std::to_string(blockDimX) + ", " + std::to_string(blockDimY) + ", "
                                         + std::to_string(blockDimZ) + ") is empty or exceeds 1024 threads (x, y <= 1024, z <= 64)");
    if (!gridDimX || !gridDimY || !gridDimZ || gridDimX > 2147483647u || gridDimY > 65535 || gridDimZ > 65535)
        return refuse(kInvalidValue, call + ": grid (" + std::to_string(gridDimX) + ", " + std::to_string(gridDimY) + ", "
                                         + std::to_string(gridDimZ) + ") is empty or exceeds (2^31 - 1, 65535, 65535)");
    if (sharedMemBytes > kMaxSharedPerBlock)
        return refuse(kInvalidValue, call + ": " + std::to_string(sharedMemBytes) + " bytes of dynamic shared memory exceed 48 KiB");
    if (!kernelParams) return refuse(kInvalidValue, call + ": kernelParams is NULL");
    CHECK(need_stream(hStream, call.c_str()));
    if (int sticky = sticky_error()) return sticky;
    if (inject("launch", call.c_str())) {
        make_sticky(kLaunchFailed);
        return kLaunchFailed;
    }
    const unsigned grid[3] = {gridDimX, gridDimY, gridDimZ}, block[3] = {blockDimX, blockDimY, blockDimZ};
    launch_kernel(f, grid, block, sharedMemBytes, hStream, kernelParams);
    return kSuccess;
}

// ---- streams -----------------------------------------------------------------------------------

// cuStreamCreate: a new stream. Flags CU_STREAM_DEFAULT (0): its work is ordered with the legacy NULL
// stream (waits for it and is waited for by it); CU_STREAM_NON_BLOCKING (1): no such ordering.
// Other flags: CUDA_ERROR_INVALID_VALUE.
EXPORT CUresult cuStreamCreate(CUstream* phStream, unsigned int Flags) {
    CHECK(need_context("cuStreamCreate"));
    if (!phStream) return refuse(kInvalidValue, "cuStreamCreate: phStream is NULL");
    if (Flags & ~kStreamNonBlocking) return refuse(kInvalidValue, "cuStreamCreate: unknown flags " + hex(Flags));
    *phStream = stream_create((Flags & kStreamNonBlocking) == 0);
    return kSuccess;
}

// cuStreamSynchronize: waits until all work queued on the stream has completed; returns the
// error of an earlier asynchronous launch, if any.
EXPORT CUresult cuStreamSynchronize(CUstream hStream) {
    CHECK(need_context("cuStreamSynchronize"));
    CHECK(need_stream(hStream, "cuStreamSynchronize"));
    synchronize(hStream);
    return sticky_error();
}

// cuStreamDestroy_v2: destroys the stream; work queued on it still completes first (here the call
// waits for it). The NULL stream cannot be destroyed (CUDA_ERROR_INVALID_HANDLE).
EXPORT CUresult cuStreamDestroy_v2(CUstream hStream) {
    CHECK(need_context("cuStreamDestroy"));
    if (is_null_stream(hStream) || !stream_destroy(hStream))
        return refuse(kInvalidHandle, "cuStreamDestroy: " + hex(reinterpret_cast<uintptr_t>(hStream)) + " is not a stream of cuStreamCreate");
    return kSuccess;
}

// ---- memory ------------------------------------------------------------------------------------

// cuMemGetInfo_v2: free and total device memory in bytes.
EXPORT CUresult cuMemGetInfo_v2(size_t* free, size_t* total) {
    CHECK(need_context("cuMemGetInfo"));
    if (!free || !total) return refuse(kInvalidValue, "cuMemGetInfo: free or total is NULL");
    *total = device_capacity();
    *free = *total - device_used();
    return kSuccess;
}

// cuMemAlloc_v2: bytesize bytes of device memory, aligned for any kind of variable (256 bytes), not
// cleared (here: 0xFF, NaN); bytesize 0 is CUDA_ERROR_INVALID_VALUE, more than is free
// CUDA_ERROR_OUT_OF_MEMORY (also the Nth call under JGAN_VGPU_FAULT=alloc:N).
EXPORT CUresult cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytesize) {
    CHECK(need_context("cuMemAlloc"));
    if (!dptr || bytesize == 0) return refuse(kInvalidValue, "cuMemAlloc: dptr is NULL or bytesize is 0");
    std::string call = "cuMemAlloc(" + std::to_string(bytesize) + " bytes)";
    if (inject("alloc", call.c_str())) return kOutOfMemory;
    void* p = device_alloc(bytesize);
    if (!p) return refuse(kOutOfMemory, call + ": out of device memory (" + std::to_string(device_used()) + " of "
                                            + std::to_string(device_capacity()) + " bytes in use)");
    *dptr = reinterpret_cast<uintptr_t>(p);
    return kSuccess;
}

// cuMemFree_v2: frees memory of cuMemAlloc; dptr must be an allocation's base address (else
// CUDA_ERROR_INVALID_VALUE). Synchronises implicitly: waits for the work of all streams first. The
// bytes are then poisoned (0xFF) and kept from reuse for a while, so a stale pointer is reported.
EXPORT CUresult cuMemFree_v2(CUdeviceptr dptr) {
    CHECK(need_context("cuMemFree"));
    if (!is_allocation_base(dptr))
        return refuse(kInvalidValue, "cuMemFree: " + check_device(dptr, 1) + " (not the base of a live allocation)");
    synchronize_all();
    device_free(dptr);
    return sticky_error();
}

// cuMemFreeAsync: frees dptr in stream order: the memory is released when the work queued on
// hStream before the call has completed; work after that must not use it. dptr must be an
// allocation's base (CUDA_ERROR_INVALID_VALUE), hStream a stream (CUDA_ERROR_INVALID_HANDLE).
EXPORT CUresult cuMemFreeAsync(CUdeviceptr dptr, CUstream hStream) {
    CHECK(need_context("cuMemFreeAsync"));
    CHECK(need_stream(hStream, "cuMemFreeAsync"));
    if (!mark_free_pending(dptr))
        return refuse(kInvalidValue, "cuMemFreeAsync: " + check_device(dptr, 1) + " (not the base of a live allocation)");
    enqueue(hStream, "cuMemFreeAsync", [dptr] {
        device_free(dptr);
        return std::string();
    });
    return sticky_error();
}

// cuMemHostAlloc: bytesize bytes of page-locked host memory (flags PORTABLE, DEVICEMAP,
// WRITECOMBINED; others CUDA_ERROR_INVALID_VALUE). Asynchronous copies from or to it run when the
// stream reaches them, reading or writing it then.
EXPORT CUresult cuMemHostAlloc(void** pp, size_t bytesize, unsigned int Flags) {
    CHECK(need_context("cuMemHostAlloc"));
    if (!pp || bytesize == 0) return refuse(kInvalidValue, "cuMemHostAlloc: pp is NULL or bytesize is 0");
    if (Flags & ~kHostAllocFlags) return refuse(kInvalidValue, "cuMemHostAlloc: unknown flags " + hex(Flags));
    void* p = host_alloc(bytesize);
    if (!p) return refuse(kOutOfMemory, "cuMemHostAlloc(" + std::to_string(bytesize) + " bytes): out of host memory");
    *pp = p;
    return kSuccess;
}

// cuMemFreeHost: frees memory of cuMemHostAlloc (CUDA_ERROR_INVALID_VALUE for any other pointer),
// after the copies queued on it have run.
EXPORT CUresult cuMemFreeHost(void* p) {
    CHECK(need_context("cuMemFreeHost"));
    if (!is_pinned(p, 0)) return refuse(kInvalidValue, "cuMemFreeHost: " + hex(reinterpret_cast<uintptr_t>(p)) + " is not memory of cuMemHostAlloc");
    synchronize_all();
    if (!host_free(p)) return refuse(kInvalidValue, "cuMemFreeHost: " + hex(reinterpret_cast<uintptr_t>(p)) + " is not the base of a cuMemHostAlloc allocation");
    return kSuccess;
}

namespace {

// The device range again when the copy runs (it may have been freed in between).
std::string at_run(uint64_t address, uint64_t bytes, const char* what) {
    std::string why = check_device(address, bytes);
    return why.empty() ? why : std::string(what) + " " + why;
}

}  // namespace

// cuMemcpyHtoDAsync_v2: copies ByteCount bytes from host to device memory on hStream. The device
// range must lie in one allocation (CUDA_ERROR_INVALID_VALUE). From page-locked memory the copy reads
// the host buffer when it runs on the stream (the buffer must stay untouched until then); from
// pageable memory the bytes are staged at the call, so the caller may reuse its buffer at once.
EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void* srcHost, size_t ByteCount, CUstream hStream) {
    CHECK(need_context("cuMemcpyHtoDAsync"));
    CHECK(need_stream(hStream, "cuMemcpyHtoDAsync"));
    if (ByteCount == 0) return kSuccess;
    if (!srcHost) return refuse(kInvalidValue, "cuMemcpyHtoDAsync: srcHost is NULL");
    CHECK(need_device_range(dstDevice, ByteCount, "cuMemcpyHtoDAsync", "destination"));
    if (int sticky = sticky_error()) return sticky;
    if (is_pinned(srcHost, ByteCount)) {
        enqueue(hStream, "cuMemcpyHtoDAsync", [dstDevice, srcHost, ByteCount] {
            std::string why = at_run(dstDevice, ByteCount, "destination");
            if (why.empty()) std::memcpy(reinterpret_cast<void*>(dstDevice), srcHost, ByteCount);
            return why;
        });
    } else {
        auto staged = std::make_shared<std::vector<unsigned char>>(static_cast<const unsigned char*>(srcHost),
                                                                   static_cast<const unsigned char*>(srcHost) + ByteCount);
        enqueue(hStream, "cuMemcpyHtoDAsync", [dstDevice, staged] {
            std::string why = at_run(dstDevice, staged->size(), "destination");
            if (why.empty()) std::memcpy(reinterpret_cast<void*>(dstDevice), staged->data(), staged->size());
            return why;
        });
    }
    return kSuccess;
}

// cuMemcpyDtoHAsync_v2: copies ByteCount bytes from device to host memory on hStream. The device
// range must lie in one allocation (CUDA_ERROR_INVALID_VALUE). Into page-locked memory the copy
// writes when it runs on the stream; into pageable memory the call returns only once the copy
// (after all earlier work of the stream) is done.
EXPORT CUresult cuMemcpyDtoHAsync_v2(void* dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream) {
    CHECK(need_context("cuMemcpyDtoHAsync"));
    CHECK(need_stream(hStream, "cuMemcpyDtoHAsync"));
    if (ByteCount == 0) return kSuccess;
    if (!dstHost) return refuse(kInvalidValue, "cuMemcpyDtoHAsync: dstHost is NULL");
    CHECK(need_device_range(srcDevice, ByteCount, "cuMemcpyDtoHAsync", "source"));
    if (int sticky = sticky_error()) return sticky;
    bool pinned = is_pinned(dstHost, ByteCount);
    uint64_t position = enqueue(hStream, "cuMemcpyDtoHAsync", [dstHost, srcDevice, ByteCount] {
        std::string why = at_run(srcDevice, ByteCount, "source");
        if (why.empty()) std::memcpy(dstHost, reinterpret_cast<const void*>(srcDevice), ByteCount);
        return why;
    });
    if (!pinned) {
        wait_for(hStream, position);
        return sticky_error();
    }
    return kSuccess;
}

// cuMemcpyDtoDAsync_v2: copies ByteCount bytes between device ranges on hStream; both must lie in
// allocations (CUDA_ERROR_INVALID_VALUE).
EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream) {
    CHECK(need_context("cuMemcpyDtoDAsync"));
    CHECK(need_stream(hStream, "cuMemcpyDtoDAsync"));
    if (ByteCount == 0) return kSuccess;
    CHECK(need_device_range(srcDevice, ByteCount, "cuMemcpyDtoDAsync", "source"));
    CHECK(need_device_range(dstDevice, ByteCount, "cuMemcpyDtoDAsync", "destination"));
    if (int sticky = sticky_error()) return sticky;
    enqueue(hStream, "cuMemcpyDtoDAsync", [dstDevice, srcDevice, ByteCount] {
        std::string why = at_run(srcDevice, ByteCount, "source");
        if (why.empty()) why = at_run(dstDevice, ByteCount, "destination");
        if (why.empty()) std::memmove(reinterpret_cast<void*>(dstDevice), reinterpret_cast<const void*>(srcDevice), ByteCount);
        return why;
    });
    return kSuccess;
}

// cuMemsetD32Async: sets N 32-bit values at dstDevice (4-byte aligned, else CUDA_ERROR_INVALID_VALUE)
// to ui on hStream; the range must lie in an allocation (CUDA_ERROR_INVALID_VALUE).
EXPORT CUresult cuMemsetD32Async(CUdeviceptr dstDevice, unsigned int ui, size_t N, CUstream hStream) {
    CHECK(need_context("cuMemsetD32Async"));
    CHECK(need_stream(hStream, "cuMemsetD32Async"));
    if (N == 0) return kSuccess;
    if (dstDevice % 4 != 0) return refuse(kInvalidValue, "cuMemsetD32Async: " + hex(dstDevice) + " is not 4-byte aligned");
    if (N > (UINT64_MAX >> 2)) return refuse(kInvalidValue, "cuMemsetD32Async: N is too large");
    CHECK(need_device_range(dstDevice, N * 4, "cuMemsetD32Async", "destination"));
    if (int sticky = sticky_error()) return sticky;
    enqueue(hStream, "cuMemsetD32Async", [dstDevice, ui, N] {
        std::string why = at_run(dstDevice, N * 4, "destination");
        if (!why.empty()) return why;
        uint32_t* p = reinterpret_cast<uint32_t*>(dstDevice);
        std::fill(p, p + N, ui);
        return std::string();
    });
    return kSuccess;
}

// ---- events ------------------------------------------------------------------------------------

// cuEventCreate: an event with flags CU_EVENT_DEFAULT, CU_EVENT_BLOCKING_SYNC, CU_EVENT_DISABLE_TIMING
// (others CUDA_ERROR_INVALID_VALUE).
EXPORT CUresult cuEventCreate(CUevent* phEvent, unsigned int Flags) {
    CHECK(need_context("cuEventCreate"));
    if (!phEvent) return refuse(kInvalidValue, "cuEventCreate: phEvent is NULL");
    if (Flags & ~kEventFlags) return refuse(kInvalidValue, "cuEventCreate: unsupported flags " + hex(Flags));
    *phEvent = event_create(Flags);
    return kSuccess;
}

// cuEventRecord: captures in the event the work queued on hStream so far; the event completes when
// that work has (its time is taken then). Recording again replaces the earlier capture.
EXPORT CUresult cuEventRecord(CUevent hEvent, CUstream hStream) {
    CHECK(need_context("cuEventRecord"));
    if (!valid_event(hEvent)) return refuse(kInvalidHandle, "cuEventRecord: " + hex(reinterpret_cast<uintptr_t>(hEvent)) + " is not an event");
    CHECK(need_stream(hStream, "cuEventRecord"));
    return event_record(hEvent, hStream);
}

// cuEventSynchronize: waits until the work the event captured has completed; at once CUDA_SUCCESS
// when the event was never recorded. Returns an earlier asynchronous error, if any.
EXPORT CUresult cuEventSynchronize(CUevent hEvent) {
    CHECK(need_context("cuEventSynchronize"));
    CUresult rc = event_synchronize(hEvent);
    if (rc == kInvalidHandle) return refuse(rc, "cuEventSynchronize: " + hex(reinterpret_cast<uintptr_t>(hEvent)) + " is not an event");
    return rc;
}

// cuEventElapsedTime: milliseconds between two completed events. CUDA_ERROR_INVALID_HANDLE when
// either was created with CU_EVENT_DISABLE_TIMING or was never recorded; CUDA_ERROR_NOT_READY when
// either has not completed yet.
EXPORT CUresult cuEventElapsedTime(float* pMilliseconds, CUevent hStart, CUevent hEnd) {
    CHECK(need_context("cuEventElapsedTime"));
    if (!pMilliseconds) return refuse(kInvalidValue, "cuEventElapsedTime: pMilliseconds is NULL");
    CUresult rc = event_elapsed(pMilliseconds, hStart, hEnd);
    if (rc == kInvalidHandle) return refuse(rc, "cuEventElapsedTime: an event is not recorded, has timing disabled or is not an event");
    if (rc == kNotReady) note_error("cuEventElapsedTime: an event has not completed yet");
    return rc;
}

// cuEventDestroy_v2: destroys the event; when it is recorded but not complete yet, the call returns
// at once and its resources go when it completes.
EXPORT CUresult cuEventDestroy_v2(CUevent hEvent) {
    CHECK(need_context("cuEventDestroy"));
    if (!event_destroy(hEvent)) return refuse(kInvalidHandle, "cuEventDestroy: " + hex(reinterpret_cast<uintptr_t>(hEvent)) + " is not an event");
    return kSuccess;
}
