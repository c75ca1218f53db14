// The virtual GPU's core (libjgan_vgpu.so): what the three stand-ins (libcuda.so.1,
// libcublas.so.12, libcudnn.so.8) share. Device memory is tracked host memory, streams are
// queues run in order by worker threads, faults are injected on request. The stand-ins export
// only NVIDIA's names; this library exports jgan_vgpu::* (C++) and the jgan_vgpu_* C hooks that
// the tests call through the FFM API.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

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
void enqueue(void* stream, const char* call, std::function<std::string()> work, Fault fault = Fault::illegal_address);
// Waits until everything queued on `stream` so far has run (in lazy mode, runs it).
void synchronize(void* stream);
// The sticky error of the context: 0 (CUDA_SUCCESS) or the CUresult a synchronising call returns.
int sticky_error();

// ---- device memory -----------------------------------------------------------------------------
// "" when [address, address + bytes) lies inside one live device allocation, else why not
// (outside any allocation, in freed memory, past the end of an allocation of n bytes).
std::string check_device(uint64_t address, uint64_t bytes);

// ---- fault injection ---------------------------------------------------------------------------
// JGAN_VGPU_FAULT="kind:N[,kind:N...]" (or jgan_vgpu_set_faults): the Nth call (1-based, counted
// from cuInit or from the last jgan_vgpu_set_faults) of that kind fails. Kinds: alloc (cuMemAlloc:
// CUDA_ERROR_OUT_OF_MEMORY), launch (cuLaunchKernel: CUDA_ERROR_LAUNCH_FAILED), cublas (a
// cublasSgemm: CUBLAS_STATUS_EXECUTION_FAILED), cudnn (a cuDNN convolution or find:
// CUDNN_STATUS_EXECUTION_FAILED). Returns true when this call must fail, and prints
// "jgan virtual GPU: injected fault: <call>" to stderr.
bool inject(const char* kind, const char* call);

}  // namespace jgan_vgpu

// ---- hooks for tests (FFM) ---------------------------------------------------------------------
extern "C" {
// 0 eager (workers run queued work at once, the default), 1 lazy (queued work runs only when the
// host waits for it: every race between the host and a stream goes the harmful way).
// JGAN_VGPU_SCHEDULE=eager|lazy sets it at load.
void jgan_vgpu_set_schedule(int schedule);
// Replaces the fault plan ("" for none) and restarts the counts; returns 0, or 1 if spec is malformed.
int jgan_vgpu_set_faults(const char* spec);
// Copies the last error message (sticky error, bad call) into out; returns its length.
int jgan_vgpu_last_error(char* out, int capacity);
// Clears the sticky error and the last message (so one test's provoked fault does not end the JVM's device).
void jgan_vgpu_clear_error();
// Counters: 0 operations queued on the NULL stream, 1 live device allocations, 2 live device bytes,
// 3 cuMemAlloc calls, 4 cuMemFree calls, 5 kernel launches.
int64_t jgan_vgpu_counter(int which);
}
