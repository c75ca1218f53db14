package dev.jgan.cuda.gpu;

import dev.jgan.cuda.Dim3;
import dev.jgan.cuda.KernelArgs;
import dev.jgan.cuda.KernelImages;
import dev.jgan.cuda.KernelLauncher;
import dev.jgan.backend.DeviceException;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Runs jgan's kernels on a GPU through the CUDA driver API (JCuda): the kernel image of the jar
 * that the driver can load ({@link KernelImages#forDriver}: the fatbin, or PTX for a CUDA 12.x
 * driver) is loaded with cuModuleLoadData, each kernel found by name once, and launched with
 * cuLaunchKernel on the launcher's stream (CU_STREAM_NON_BLOCKING; jgan never uses the NULL
 * stream). kernelParams points at each argument inside the launch site's direct buffer of
 * {@link KernelArgs}' packed bytes (the same bytes and offsets the emulation library unpacks),
 * an array built once per site, so a launch allocates nothing.
 *
 * <p>Opening fails at once with one line naming what is missing (the NVIDIA driver, a new enough
 * one, a GPU, the kernels in the jar), before any JCuda class that needs the driver is loaded.
 */
public final class CudaLauncher implements KernelLauncher {
    private final CUdevice device;
    private final CudaContext context;
    private final CUmodule module;
    private final CUstream stream;
    private final String deviceName;
    private final int multiprocessors;
    /** Which kernel image the driver loaded (KernelImages.forDriver's description). */
    private final String image;
    private final Map<String, CUfunction> functions = new HashMap<>();
    /** Each launch site's kernelParams array, built at its first launch. */
    private final Map<KernelArgs, Pointer> prepared = new IdentityHashMap<>();

    /** cuDriverGetVersion's value: which lab image {@link #lab} loads. */
    private final int driverVersion;
    /** False for a kernel-lab launcher ({@link #lab}): it borrows the context and stream and owns only its module. */
    private final boolean ownsContext;

    private CudaLauncher(CUdevice device, CudaContext context, CUmodule module, CUstream stream, String deviceName, int multiprocessors,
                         String image, int driverVersion, boolean ownsContext) {
        this.image = image;
        this.driverVersion = driverVersion;
        this.ownsContext = ownsContext;
        this.device = device;
        this.context = context;
        this.module = module;
        this.stream = stream;
        this.deviceName = deviceName;
        this.multiprocessors = multiprocessors;
    }

    /** Opens GPU {@code ordinal}: retains its primary context, makes it current on this thread, loads the kernels. */
    public static CudaLauncher open(int ordinal) {
        if (!CudaProbe.libraryPresent("libcuda.so.1"))
            throw new IllegalStateException("CUDA launcher: no NVIDIA driver (libcuda.so.1 not found; install the NVIDIA driver)");
        try {
            JCudaDriver.setExceptionsEnabled(true);
            // before cuInit (it needs none): a driver below the floor gets its one line, not a failed load
            int[] driverVersion = new int[1];
            JCudaDriver.cuDriverGetVersion(driverVersion);
            KernelImages.Image image = KernelImages.forDriver(driverVersion[0]);
            JCudaDriver.cuInit(0);
            int[] count = new int[1];
            JCudaDriver.cuDeviceGetCount(count);
            if (ordinal < 0 || ordinal >= count[0])
                throw new IllegalStateException("CUDA launcher: no GPU " + ordinal + " (the driver sees " + count[0] + ")");
            CUdevice device = new CUdevice();
            JCudaDriver.cuDeviceGet(device, ordinal);
            CUcontext context = new CUcontext();
            JCudaDriver.cuDevicePrimaryCtxRetain(context, device);
            CUmodule module = null;
            CUstream stream = null;
            try {
                JCudaDriver.cuCtxSetCurrent(context);
                CUmodule m = new CUmodule();
                JCudaDriver.cuModuleLoadData(m, image.bytes());
                module = m;
                CUstream st = new CUstream();
                // CU_STREAM_NON_BLOCKING: the stream does not synchronise with the legacy NULL stream
                // (flags 0 would order it with every NULL-stream operation of the process, which hides
                // any jgan work that strays onto the NULL stream and serialises us with an embedding
                // application's). Nothing of jgan's runs on the NULL stream: every copy, memset, event
                // record and launch names this stream, and cuBLAS and cuDNN are bound to it
                // (cublasSetStream, cudnnSetStream) right after their handles are created, before any work.
                JCudaDriver.cuStreamCreate(st, CUstream_flags.CU_STREAM_NON_BLOCKING);
                stream = st;
                int[] sms = new int[1];
                JCudaDriver.cuDeviceGetAttribute(sms, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device);
                byte[] name = new byte[256];
                JCudaDriver.cuDeviceGetName(name, name.length, device);
                int end = 0;
                while (end < name.length && name[end] != 0) end++;
                return new CudaLauncher(device, new CudaContext(context), module, stream, new String(name, 0, end), sms[0], image.description(),
                        driverVersion[0], true);
            } catch (RuntimeException e) {
                // release what this open acquired, so a failed open leaves the device as it was
                try {
                    if (stream != null) JCudaDriver.cuStreamDestroy(stream);
                    if (module != null) JCudaDriver.cuModuleUnload(module);
                    JCudaDriver.cuDevicePrimaryCtxRelease(device);
                } catch (RuntimeException second) {
                    e.addSuppressed(second);
                }
                throw e;
            }
        } catch (CudaException e) {
            throw new IllegalStateException("CUDA launcher: " + e.getMessage(), e);
        } catch (UnsatisfiedLinkError | ExceptionInInitializerError | NoClassDefFoundError e) {
            throw new IllegalStateException("CUDA launcher: JCuda's native library does not load (" + e.getMessage()
                    + "); the NVIDIA driver or the JCuda natives for this platform are missing", e);
        }
    }

    @Override public String describe() {
        return "cuda: " + deviceName + " (" + multiprocessors + " SMs), jni binding (JCuda), jgan kernels: " + image;
    }

    @Override public int multiprocessors() { return multiprocessors; }

    /** The kernel lab's image (KernelImages.forDriver(version, true)) loaded into this launcher's context, launching on its stream. */
    @Override public KernelLauncher lab() {
        KernelImages.Image labImage = KernelImages.forDriver(driverVersion, true);
        context.makeCurrent();
        CUmodule m = new CUmodule();
        Checked.driver("cuModuleLoadData(kernel lab)", () -> JCudaDriver.cuModuleLoadData(m, labImage.bytes()));
        return new CudaLauncher(device, context, m, stream, deviceName, multiprocessors, labImage.description(), driverVersion, false);
    }

    /** The stream every kernel is launched on: the CUDA backend's one stream, shared by its memory, cuBLAS and cuDNN. */
    CUstream stream() { return stream; }

    /** The backend's context: every adapter makes it current on the calling thread before a call that needs it. */
    CudaContext context() { return context; }

    /** The GPU this launcher opened. */
    CUdevice device() { return device; }

    /** The GPU's name as the driver reports it. */
    String deviceName() { return deviceName; }

    /**
     * Queues {@code kernel} on the stream. kernelParams comes from the site's prepared pointer
     * array (built at its first launch), so a launch allocates nothing on the Java heap; a one-off
     * argument list ({@link KernelArgs#builder}) gets a temporary one. cuLaunchKernel copies the
     * argument values when it is called (the driver API: kernelParams[i] points at "the region of
     * memory from which the actual kernel parameter will be copied"), so the site may be rewritten
     * for the next launch as soon as this returns, while the kernel is still queued.
     */
    @Override public void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {
        context.makeCurrent();
        try {
            CUfunction f = functions.get(kernel);
            if (f == null) {
                f = new CUfunction();
                JCudaDriver.cuModuleGetFunction(f, module, kernel);
                functions.put(kernel, f);
            }
            Pointer params;
            if (args.isSite()) {
                params = prepared.get(args);
                if (params == null) prepared.put(args, params = kernelParams(args));
            } else {
                params = kernelParams(args);
            }
            JCudaDriver.cuLaunchKernel(f, grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(), sharedBytes, stream,
                    params, null);
        } catch (CudaException e) {
            throw new DeviceException("cuLaunchKernel(" + kernel + ", grid " + grid + ", block " + block + ") failed: " + e.getMessage(), e);
        }
    }

    @Override public void synchronize() {
        context.makeCurrent();
        // an asynchronous failure of queued work (a kernel's illegal address) surfaces here
        Checked.driver("cuStreamSynchronize", () -> JCudaDriver.cuStreamSynchronize(stream));
    }

    /** Releases the stream, the module and the primary context, each even when an earlier one fails (a faulted device). */
    @Override public void close() {
        context.makeCurrent();
        if (!ownsContext) {
            Checked.driver("cuModuleUnload", () -> JCudaDriver.cuModuleUnload(module));
            return;
        }
        DeviceException first = null;
        for (Runnable r : new Runnable[] {
                () -> Checked.driver("cuStreamSynchronize", () -> JCudaDriver.cuStreamSynchronize(stream)),
                () -> Checked.driver("cuStreamDestroy", () -> JCudaDriver.cuStreamDestroy(stream)),
                () -> Checked.driver("cuModuleUnload", () -> JCudaDriver.cuModuleUnload(module)),
                () -> Checked.driver("cuDevicePrimaryCtxRelease", () -> JCudaDriver.cuDevicePrimaryCtxRelease(device))}) {
            try {
                r.run();
            } catch (DeviceException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }

    /**
     * cuLaunchKernel's kernelParams (void**) for {@code args}: a direct buffer of one 8-byte native
     * address per argument, each pointing at the argument's offset in the site's own direct buffer
     * of packed values ({@link KernelArgs#values}, which never moves). JCuda passes a Pointer to a
     * direct buffer as the buffer's address, so the driver reads this array as the void** it wants.
     * The array holds addresses, not values: built once per site, it stays valid as the values are
     * rewritten.
     */
    static Pointer kernelParams(KernelArgs args) {
        long base = MemorySegment.ofBuffer(args.values()).address();
        ByteBuffer array = ByteBuffer.allocateDirect(8 * Math.max(1, args.count())).order(ByteOrder.nativeOrder());
        for (int i = 0; i < args.count(); i++) array.putLong(8 * i, base + args.offset(i));
        return Pointer.to(array);
    }

    /** Byte offset of each argument in the packed buffer: where kernelParams[i] points. */
    static long[] parameterOffsets(KernelArgs args) {
        long[] out = new long[args.count()];
        for (int i = 0; i < out.length; i++) out[i] = args.offset(i);
        return out;
    }

    /** The native addresses kernelParams holds (for tests): base of the packed values plus each offset. */
    static long[] parameterAddresses(Pointer kernelParams, int count) {
        ByteBuffer array = kernelParams.getByteBuffer(0, 8L * Math.max(1, count)).order(ByteOrder.nativeOrder());
        long[] out = new long[count];
        for (int i = 0; i < count; i++) out[i] = array.getLong(8 * i);
        return out;
    }

    @Override public String toString() { return describe(); }
}
