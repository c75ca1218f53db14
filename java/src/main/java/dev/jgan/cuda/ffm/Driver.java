package dev.jgan.cuda.ffm;

import dev.jgan.backend.DeviceException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The CUDA driver API (libcuda.so.1) through FFM: exactly the entry points the JNI adapters reach
 * through JCuda, under the ABI names cuda.h maps them to (cuMemAlloc is cuMemAlloc_v2, and so on;
 * native/vgpu/libcuda.map lists the same set). Each method is one downcall returning the CUresult;
 * {@link #check} turns a failure into the adapters' one-line {@link DeviceException}.
 *
 * <p>Handles: one {@code static final} per C signature ({@link NativeLibrary#downcall}; named by
 * it, I_PL = int f(pointer, long)), the function's address per opened library. {@code Linker.Option.critical(false)} only for cuGetErrorName and
 * cuGetErrorString: they read a static table, never block and never call back into Java, so the
 * thread may stay in Java state across them. Not for cuLaunchKernel: it blocks when the device's
 * launch queue is full, and a critical call holds off the garbage collector's safepoints while it
 * waits.
 *
 * <p>Error names come from the driver (cuGetErrorName, cuGetErrorString, which every NVIDIA driver
 * and the virtual GPU's stand-in export); a library that lacks them gets {@link CuResult}'s names.
 */
final class Driver {
    /** CU_STREAM_NON_BLOCKING (cuda.h). */
    static final int STREAM_NON_BLOCKING = 0x1;
    /** CU_EVENT_DEFAULT and CU_EVENT_DISABLE_TIMING (cuda.h). */
    static final int EVENT_DEFAULT = 0x0, EVENT_DISABLE_TIMING = 0x2;
    /** CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT (cuda.h). */
    static final int ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;

    private static final MethodHandle
            I_I = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, JAVA_INT)),
            I_P = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS)),
            I_L = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, JAVA_LONG)),
            I_PI = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT)),
            I_PP = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS)),
            I_PL = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG)),
            I_PII = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT)),
            I_PPP = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS)),
            I_PLI = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT)),
            I_LPLP = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS)),
            I_PLLP = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS)),
            I_LLLP = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS)),
            I_LILP = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS)),
            // cuLaunchKernel(f, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedMemBytes, hStream, kernelParams, extra)
            LAUNCH = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT,
                    JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS)),
            // cuGetErrorName / cuGetErrorString(CUresult, const char**): table lookups (see the class comment)
            ERROR_TEXT = NativeLibrary.downcall(FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), Linker.Option.critical(false));

    private final NativeLibrary library;
    private final MemorySegment cuInit, cuDriverGetVersion, cuDeviceGetCount, cuDeviceGet, cuDeviceGetName,
            cuDeviceGetAttribute, cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRelease, cuCtxSetCurrent, cuModuleLoadData,
            cuModuleGetFunction, cuModuleUnload, cuLaunchKernel, cuStreamCreate, cuStreamSynchronize, cuStreamDestroy,
            cuMemGetInfo, cuMemAlloc, cuMemFree, cuMemHostAlloc, cuMemFreeHost, cuMemcpyHtoDAsync, cuMemcpyDtoHAsync,
            cuMemcpyDtoDAsync, cuMemsetD32Async, cuEventCreate, cuEventRecord, cuEventSynchronize, cuEventElapsedTime,
            cuEventDestroy;
    private final Optional<MemorySegment> cuGetErrorName, cuGetErrorString;

    /** Opens the driver at {@code location} (soname or path) and finds every function; one line for what is missing. */
    Driver(String location) {
        library = NativeLibrary.open(location, "install the NVIDIA driver (it provides libcuda.so.1)");
        cuInit = library.function("cuInit");
        cuDriverGetVersion = library.function("cuDriverGetVersion");
        cuDeviceGetCount = library.function("cuDeviceGetCount");
        cuDeviceGet = library.function("cuDeviceGet");
        cuDeviceGetName = library.function("cuDeviceGetName");
        cuDeviceGetAttribute = library.function("cuDeviceGetAttribute");
        cuDevicePrimaryCtxRetain = library.function("cuDevicePrimaryCtxRetain");
        cuDevicePrimaryCtxRelease = library.function("cuDevicePrimaryCtxRelease_v2");
        cuCtxSetCurrent = library.function("cuCtxSetCurrent");
        cuModuleLoadData = library.function("cuModuleLoadData");
        cuModuleGetFunction = library.function("cuModuleGetFunction");
        cuModuleUnload = library.function("cuModuleUnload");
        cuLaunchKernel = library.function("cuLaunchKernel");
        cuStreamCreate = library.function("cuStreamCreate");
        cuStreamSynchronize = library.function("cuStreamSynchronize");
        cuStreamDestroy = library.function("cuStreamDestroy_v2");
        cuMemGetInfo = library.function("cuMemGetInfo_v2");
        cuMemAlloc = library.function("cuMemAlloc_v2");
        cuMemFree = library.function("cuMemFree_v2");
        cuMemHostAlloc = library.function("cuMemHostAlloc");
        cuMemFreeHost = library.function("cuMemFreeHost");
        cuMemcpyHtoDAsync = library.function("cuMemcpyHtoDAsync_v2");
        cuMemcpyDtoHAsync = library.function("cuMemcpyDtoHAsync_v2");
        cuMemcpyDtoDAsync = library.function("cuMemcpyDtoDAsync_v2");
        cuMemsetD32Async = library.function("cuMemsetD32Async");
        cuEventCreate = library.function("cuEventCreate");
        cuEventRecord = library.function("cuEventRecord");
        cuEventSynchronize = library.function("cuEventSynchronize");
        cuEventElapsedTime = library.function("cuEventElapsedTime");
        cuEventDestroy = library.function("cuEventDestroy_v2");
        cuGetErrorName = library.optionalFunction("cuGetErrorName");
        cuGetErrorString = library.optionalFunction("cuGetErrorString");
    }

    NativeLibrary library() { return library; }

    /** Throws the adapters' one-line failure unless {@code rc} is CUDA_SUCCESS: "call failed: CUDA_ERROR_X (text)". */
    void check(String call, int rc) {
        if (rc != CuResult.SUCCESS) throw new DeviceException(call + " failed: " + describe(rc));
    }

    /** The CUresult's name, and the driver's sentence for it when the driver has one ("CUDA_ERROR_OUT_OF_MEMORY (out of memory)"). */
    String describe(int rc) {
        String name = errorText(cuGetErrorName, rc).orElse(CuResult.name(rc));
        return errorText(cuGetErrorString, rc).map(text -> name + " (" + text + ")").orElse(name);
    }

    private static Optional<String> errorText(Optional<MemorySegment> function, int rc) {
        if (function.isEmpty()) return Optional.empty();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int status = (int) ERROR_TEXT.invokeExact(function.get(), rc, out);
            if (status != CuResult.SUCCESS) return Optional.empty();   // CUDA_ERROR_INVALID_VALUE: a code it does not know
            return Optional.of(out.get(ADDRESS, 0).reinterpret(Long.MAX_VALUE).getString(0));
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }

    // ---- the entry points, one downcall each (arguments as cuda.h declares them) ----

    int cuInit(int flags) {
        try { return (int) I_I.invokeExact(cuInit, flags); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuDriverGetVersion(MemorySegment version) {
        try { return (int) I_P.invokeExact(cuDriverGetVersion, version); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuDeviceGetCount(MemorySegment count) {
        try { return (int) I_P.invokeExact(cuDeviceGetCount, count); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuDeviceGet(MemorySegment device, int ordinal) {
        try { return (int) I_PI.invokeExact(cuDeviceGet, device, ordinal); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuDeviceGetName(MemorySegment name, int length, int device) {
        try { return (int) I_PII.invokeExact(cuDeviceGetName, name, length, device); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuDeviceGetAttribute(MemorySegment value, int attribute, int device) {
        try { return (int) I_PII.invokeExact(cuDeviceGetAttribute, value, attribute, device); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuDevicePrimaryCtxRetain(MemorySegment context, int device) {
        try { return (int) I_PI.invokeExact(cuDevicePrimaryCtxRetain, context, device); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuDevicePrimaryCtxRelease(int device) {
        try { return (int) I_I.invokeExact(cuDevicePrimaryCtxRelease, device); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuCtxSetCurrent(MemorySegment context) {
        try { return (int) I_P.invokeExact(cuCtxSetCurrent, context); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuModuleLoadData(MemorySegment module, MemorySegment image) {
        try { return (int) I_PP.invokeExact(cuModuleLoadData, module, image); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuModuleGetFunction(MemorySegment function, MemorySegment module, MemorySegment name) {
        try { return (int) I_PPP.invokeExact(cuModuleGetFunction, function, module, name); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuModuleUnload(MemorySegment module) {
        try { return (int) I_P.invokeExact(cuModuleUnload, module); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuLaunchKernel(MemorySegment f, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ, int sharedBytes,
                       MemorySegment stream, MemorySegment kernelParams, MemorySegment extra) {
        try {
            return (int) LAUNCH.invokeExact(cuLaunchKernel, f, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes, stream,
                    kernelParams, extra);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }

    int cuStreamCreate(MemorySegment stream, int flags) {
        try { return (int) I_PI.invokeExact(cuStreamCreate, stream, flags); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuStreamSynchronize(MemorySegment stream) {
        try { return (int) I_P.invokeExact(cuStreamSynchronize, stream); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuStreamDestroy(MemorySegment stream) {
        try { return (int) I_P.invokeExact(cuStreamDestroy, stream); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuMemGetInfo(MemorySegment free, MemorySegment total) {
        try { return (int) I_PP.invokeExact(cuMemGetInfo, free, total); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuMemAlloc(MemorySegment address, long bytes) {
        try { return (int) I_PL.invokeExact(cuMemAlloc, address, bytes); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuMemFree(long address) {
        try { return (int) I_L.invokeExact(cuMemFree, address); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuMemHostAlloc(MemorySegment pointer, long bytes, int flags) {
        try { return (int) I_PLI.invokeExact(cuMemHostAlloc, pointer, bytes, flags); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuMemFreeHost(MemorySegment pointer) {
        try { return (int) I_P.invokeExact(cuMemFreeHost, pointer); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuMemcpyHtoDAsync(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        try { return (int) I_LPLP.invokeExact(cuMemcpyHtoDAsync, dst, src, bytes, stream); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuMemcpyDtoHAsync(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        try { return (int) I_PLLP.invokeExact(cuMemcpyDtoHAsync, dst, src, bytes, stream); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuMemcpyDtoDAsync(long dst, long src, long bytes, MemorySegment stream) {
        try { return (int) I_LLLP.invokeExact(cuMemcpyDtoDAsync, dst, src, bytes, stream); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuMemsetD32Async(long dst, int value, long count, MemorySegment stream) {
        try { return (int) I_LILP.invokeExact(cuMemsetD32Async, dst, value, count, stream); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuEventCreate(MemorySegment event, int flags) {
        try { return (int) I_PI.invokeExact(cuEventCreate, event, flags); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuEventRecord(MemorySegment event, MemorySegment stream) {
        try { return (int) I_PP.invokeExact(cuEventRecord, event, stream); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuEventSynchronize(MemorySegment event) {
        try { return (int) I_P.invokeExact(cuEventSynchronize, event); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuEventElapsedTime(MemorySegment millis, MemorySegment start, MemorySegment stop) {
        try { return (int) I_PPP.invokeExact(cuEventElapsedTime, millis, start, stop); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    int cuEventDestroy(MemorySegment event) {
        try { return (int) I_P.invokeExact(cuEventDestroy, event); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }
}
