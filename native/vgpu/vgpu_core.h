// The virtual GPU's core (libjgan_vgpu.so): what the three stand-ins (libcuda.so.1,
// libcublas.so.12, libcudnn.so.8) share. Device memory is tracked host memory, streams are
// queues run in order by worker threads, faults are injected on request. The stand-ins export
// only NVIDIA's names; this library exports jgan_vgpu::* (C++) and the jgan_vgpu_* C hooks that
// the tests call through the FFM API.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace jgan_vgpu {

// ---- driver state ------------------------------------------------------------------------------
// cuInit has been called (else calls return CUDA_ERROR_NOT_INITIALIZED / NOT_INITIALIZED statuses).
bool initialized();
// A context is current on the calling thread (cuCtxSetCurrent with the primary context).
bool context_current();

// ---- streams -----------------------------------------------------------------------------------
// Stream handles are what cuStreamCreate hands out (CUstream, the same value as cudaStream_t).
// nullptr, CU_STREAM_LEGACY (0x1) and CU_STREAM_PER_THREAD (0x2) name the NULL stream.
// Whether `stream` is the NULL stream or a live stream of cuStreamCreate.
bool valid_stream(void* stream);
bool is_null_stream(void* stream);
// Queues `work` on `stream` after everything queued on it before (and, for the NULL stream and
// blocking streams, the legacy NULL-stream ordering). `call` names the API call for messages.
// work returns "" on success or what went wrong; a failure becomes the context's sticky error
// (CUDA_ERROR_ILLEGAL_ADDRESS or CUDA_ERROR_LAUNCH_FAILED at the next synchronising call) and is
// printed once to stderr as "jgan virtual GPU: <call>: <what>".
enum class Fault { illegal_address, launch_failed };
// Returns the work's position on its stream (1, 2, ...), for wait_for.
uint64_t enqueue(void* stream, const char* call, std::function<std::string()> work, Fault fault = Fault::illegal_address);
// Waits until everything queued on `stream` so far has run (in lazy mode, runs it).
void synchronize(void* stream);
// The sticky error of the context: 0 (CUDA_SUCCESS) or the CUresult a synchronising call returns.
int sticky_error();

// ---- device memory -----------------------------------------------------------------------------
// "" when [address, address + bytes) lies inside one live device allocation, else why not
// (outside any allocation, in freed memory, past the end of an allocation of n bytes).
std::string check_device(uint64_t address, uint64_t bytes);

// ---- the rest of the core's state, for the stand-ins ------------------------------------------
// CUresult values the core hands back (cuda.h's numbers).
enum Status : int {
    kSuccess = 0, kInvalidValue = 1, kOutOfMemory = 2, kNotInitialized = 3, kInvalidImage = 200,
    kInvalidContext = 201, kNoBinaryForGpu = 209, kUnsupportedPtxVersion = 222, kInvalidHandle = 400, kNotFound = 500, kNotReady = 600,
    kIllegalAddress = 700, kLaunchFailed = 719
};

// cuInit: the first call starts the fault counts.
void mark_initialized();
// The one device's primary context (cuDevicePrimaryCtxRetain's handle) and its reference count.
void* primary_context();
int primary_retain();   // the count after
int primary_release();  // the count after, -1 when it was not retained
// The calling thread's current context (nullptr: none).
void* current_context();
void set_current_context(void* context);

// Device memory: 256-byte aligned host memory, every byte 0xFF (NaN) until written; nullptr when
// `bytes` exceed the free device memory (JGAN_VGPU_MEMORY_MIB, default 16384).
void* device_alloc(uint64_t bytes);
bool is_allocation_base(uint64_t address);
// Poisons the allocation at `base` (0xFF) and quarantines it (bounded), so a stale pointer reads
// as freed memory; false when base is not a live allocation's base. Does not wait for streams.
bool device_free(uint64_t base);
// Live allocations stay live until device_free; a pending cuMemFreeAsync marks them so that a
// second free of the same base is refused.
bool mark_free_pending(uint64_t base);
uint64_t device_capacity();
uint64_t device_used();
// Like check_device for a pointer kernel argument: inside a live allocation or one past its end.
std::string check_pointer(uint64_t address);
// Page-locked host memory (cuMemHostAlloc); is_pinned: [p, p + bytes) inside one such allocation.
void* host_alloc(uint64_t bytes);
bool host_free(void* p);
bool is_pinned(const void* p, uint64_t bytes);

// Streams: a blocking stream (flags 0) is ordered with the legacy NULL stream, a non-blocking one
// (CU_STREAM_NON_BLOCKING) is not. stream_destroy runs what is queued first.
void* stream_create(bool blocking);
bool stream_destroy(void* stream);
// Waits until work `position` (enqueue's result) of `stream` has run (in lazy mode, runs it).
void wait_for(void* stream, uint64_t position);
// Waits for every stream (cuCtxSynchronize, cuMemFree's implicit synchronisation).
void synchronize_all();
// Every call that names the NULL stream calls this: it counts the use (counter 0) and, under
// JGAN_VGPU_STRICT=1, refuses it (true; the last error says "<call>: ... the NULL stream ...").
bool refuse_null_stream(void* stream, const char* call);
bool strict();
// The last error message (jgan_vgpu_last_error) for a call refused at once; not sticky, not printed.
void note_error(const std::string& what);
// Makes `status` the context's sticky error (unless one is set): an injected launch failure.
void make_sticky(int status);

// Events (cuEvent*): flags as cuEventCreate's; the int results are Status values.
void* event_create(unsigned flags);
bool valid_event(void* event);
bool event_destroy(void* event);
int event_record(void* event, void* stream);
int event_synchronize(void* event);
int event_query(void* event);
int event_elapsed(float* ms, void* start, void* stop);

// cuDriverGetVersion's answer: 13000 (CUDA 13.0), or JGAN_VGPU_DRIVER_VERSION at load, or
// jgan_vgpu_set_driver_version's. Module loads hold images to it (what that driver would load).
int driver_version();

// Modules (cuModuleLoadData) and their functions; the int results are Status values, `why` says
// what is wrong for the last error message.
int module_load(const void* image, void** module, std::string* why);
bool module_unload(void* module);
int module_function(void* module, const char* name, void** function, std::string* why);
bool valid_function(void* function);
const char* function_name(void* function);
// Reads kernelParams[i] (one per parameter of the kernel's signature) now, and queues the kernel:
// at execution every non-null pointer argument must lie in a live allocation.
uint64_t launch_kernel(void* function, const unsigned grid[3], const unsigned block[3], unsigned shared_bytes,
                       void* stream, void** kernel_params);

// ---- fault injection ---------------------------------------------------------------------------
// JGAN_VGPU_FAULT="kind:N[,kind:N...]" (or jgan_vgpu_set_faults): the Nth call (1-based, counted
// from cuInit or from the last jgan_vgpu_set_faults) of that kind fails. Kinds: alloc (cuMemAlloc:
// CUDA_ERROR_OUT_OF_MEMORY), launch (cuLaunchKernel: CUDA_ERROR_LAUNCH_FAILED), cublas (a
// cublasSgemm: CUBLAS_STATUS_EXECUTION_FAILED), cudnn (a cuDNN convolution or find:
// CUDNN_STATUS_EXECUTION_FAILED). Returns true when this call must fail, and records
// "injected fault: <call>" as the last message (jgan_vgpu_last_error); nothing is printed, since
// the call returns its status at once and the caller names it.
bool inject(const char* kind, const char* call);

}  // namespace jgan_vgpu

// ---- hooks for tests (FFM) ---------------------------------------------------------------------
extern "C" {
// 0 eager (workers run queued work at once, the default), 1 lazy (queued work runs only when the
// host waits for it: every race between the host and a stream goes the harmful way).
// JGAN_VGPU_SCHEDULE=eager|lazy sets it at load.
void jgan_vgpu_set_schedule(int schedule);
// 1: any use of the NULL stream is refused (JGAN_VGPU_STRICT=1 sets it at load), 0: counted only.
// Returns the previous setting.
int jgan_vgpu_set_strict(int strict);
// Replaces the fault plan ("" for none) and restarts the counts; returns 0, or 1 if spec is malformed.
int jgan_vgpu_set_faults(const char* spec);
// Copies the last error message (sticky error, bad call) into out; returns its length.
int jgan_vgpu_last_error(char* out, int capacity);
// Clears the sticky error and the last message (so one test's provoked fault does not end the JVM's device).
void jgan_vgpu_clear_error();
// cuDriverGetVersion's answer from now on (1000 * major + 10 * minor, e.g. 12000; values below 1000
// are ignored); returns the previous one. JGAN_VGPU_DRIVER_VERSION sets it at load.
int jgan_vgpu_set_driver_version(int version);
// Counters: 0 operations queued on the NULL stream, 1 live device allocations, 2 live device bytes,
// 3 cuMemAlloc calls, 4 cuMemFree calls, 5 kernel launches, 6 live pinned host allocations;
// 8-11 the calls that fault injection counts, per kind (alloc, launch, cublas, cudnn), since load.
int64_t jgan_vgpu_counter(int which);
}
