package dev.jgan.cuda.ffm;

import dev.jgan.backend.DeviceException;
import dev.jgan.cuda.Dim3;
import dev.jgan.cuda.KernelArgs;
import dev.jgan.cuda.KernelImages;
import dev.jgan.cuda.KernelLauncher;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Runs jgan's kernels through the CUDA driver API bound with FFM: the same calls, in the same
 * order, as the JNI CudaLauncher. The kernel image is loaded with cuModuleLoadData
 * ({@link KernelImages#forDriver}: the fatbin, or the PTX for a CUDA 12.x driver), each kernel found once by name
 * (cuModuleGetFunction), and launched with cuLaunchKernel on the launcher's stream
 * (CU_STREAM_NON_BLOCKING: it does not synchronise with the legacy NULL stream, which jgan never
 * uses; every copy, memset, event, launch, cuBLAS and cuDNN call names this stream).
 *
 * <p>kernelParams: per launch site, an off-heap array of one pointer per argument into the site's
 * direct buffer of packed values ({@link KernelArgs#values}, which never moves), built at the
 * site's first launch and kept in this launcher's arena. A launch in the steady state looks up the
 * function and the array (no allocation) and makes one downcall with values only, so it allocates
 * nothing on the Java heap. cuLaunchKernel copies the argument values when called, so the site may
 * be rewritten for the next launch as soon as it returns.
 *
 * <p>Not thread-safe beyond what the JNI launcher is: the function and site maps belong to the
 * backend's Kernels, used by one thread at a time.
 */
public final class FfmLauncher implements KernelLauncher {
    private final Driver driver;
    private final int device;
    private final FfmContext context;
    private final MemorySegment module;
    private final MemorySegment stream;
    private final String deviceName;
    private final int multiprocessors;
    private final int driverVersion;
    /** Which kernel image the driver loaded (KernelImages.forDriver's description). */
    private final String image;
    /** Holds the kernelParams arrays and the kernel names; closed with the launcher. */
    private final Arena arena = Arena.ofShared();
    private final Map<String, MemorySegment> functions = new HashMap<>();
    /** Each launch site's kernelParams array, built at its first launch. */
    private final Map<KernelArgs, MemorySegment> prepared = new IdentityHashMap<>();
    /** False for a kernel-lab launcher ({@link #lab}): it borrows the context and stream and owns only its module. */
    private final boolean ownsContext;

    private FfmLauncher(Driver driver, int device, MemorySegment context, MemorySegment module, MemorySegment stream,
                        String deviceName, int multiprocessors, int driverVersion, String image) {
        this(driver, device, new FfmContext(driver, context), module, stream, deviceName, multiprocessors, driverVersion, image, true);
    }

    private FfmLauncher(Driver driver, int device, FfmContext context, MemorySegment module, MemorySegment stream,
                        String deviceName, int multiprocessors, int driverVersion, String image, boolean ownsContext) {
        this.ownsContext = ownsContext;
        this.image = image;
        this.driver = driver;
        this.device = device;
        this.context = context;
        this.module = module;
        this.stream = stream;
        this.deviceName = deviceName;
        this.multiprocessors = multiprocessors;
        this.driverVersion = driverVersion;
    }

    /**
     * Opens GPU {@code ordinal} through the driver at {@code driverLocation} (soname or path):
     * retains its primary context, makes it current on this thread, loads the kernels, creates the
     * stream; a failure after the context was retained releases what this open acquired.
     */
    public static FfmLauncher open(int ordinal, String driverLocation) {
        Driver d = new Driver(driverLocation);
        try (Arena a = Arena.ofConfined()) {
            d.check("cuInit", d.cuInit(0));
            MemorySegment version = a.allocate(JAVA_INT), count = a.allocate(JAVA_INT);
            d.check("cuDriverGetVersion", d.cuDriverGetVersion(version));
            // the fatbin from a CUDA 13 driver on, the PTX for CUDA 12.x drivers; older ones get one line
            KernelImages.Image image = KernelImages.forDriver(version.get(JAVA_INT, 0));
            d.check("cuDeviceGetCount", d.cuDeviceGetCount(count));
            if (ordinal < 0 || ordinal >= count.get(JAVA_INT, 0))
                throw new IllegalStateException("CUDA launcher (ffm): no GPU " + ordinal + " (the driver sees " + count.get(JAVA_INT, 0) + ")");
            MemorySegment dev = a.allocate(JAVA_INT);
            d.check("cuDeviceGet", d.cuDeviceGet(dev, ordinal));
            int device = dev.get(JAVA_INT, 0);
            MemorySegment ctx = a.allocate(ADDRESS);
            d.check("cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain(ctx, device));
            MemorySegment context = ctx.get(ADDRESS, 0);
            MemorySegment module = null, stream = null;
            try {
                d.check("cuCtxSetCurrent", d.cuCtxSetCurrent(context));
                MemorySegment m = a.allocate(ADDRESS);
                d.check("cuModuleLoadData", d.cuModuleLoadData(m, a.allocateFrom(JAVA_BYTE, image.bytes())));
                module = m.get(ADDRESS, 0);
                MemorySegment s = a.allocate(ADDRESS);
                // CU_STREAM_NON_BLOCKING, as the JNI launcher (see its comment): no ordering with the NULL stream
                d.check("cuStreamCreate", d.cuStreamCreate(s, Driver.STREAM_NON_BLOCKING));
                stream = s.get(ADDRESS, 0);
                MemorySegment sms = a.allocate(JAVA_INT);
                d.check("cuDeviceGetAttribute", d.cuDeviceGetAttribute(sms, Driver.ATTRIBUTE_MULTIPROCESSOR_COUNT, device));
                MemorySegment name = a.allocate(256);
                d.check("cuDeviceGetName", d.cuDeviceGetName(name, 256, device));
                return new FfmLauncher(d, device, context, module, stream, name.getString(0), sms.get(JAVA_INT, 0),
                        version.get(JAVA_INT, 0), image.description());
            } catch (RuntimeException e) {
                // release what this open acquired, so a failed open leaves the device as it was
                try {
                    if (stream != null) d.check("cuStreamDestroy", d.cuStreamDestroy(stream));
                    if (module != null) d.check("cuModuleUnload", d.cuModuleUnload(module));
                    d.check("cuDevicePrimaryCtxRelease", d.cuDevicePrimaryCtxRelease(device));
                } catch (RuntimeException second) {
                    e.addSuppressed(second);
                }
                throw e;
            }
        } catch (DeviceException e) {
            throw new IllegalStateException("CUDA launcher (ffm): " + e.getMessage(), e);
        }
    }

    @Override public String describe() {
        return "cuda: " + deviceName + " (" + multiprocessors + " SMs), ffm binding of " + driver.library() + " (CUDA driver "
                + driverVersion / 1000 + "." + driverVersion % 1000 / 10 + "), jgan kernels: " + image;
    }

    @Override public int multiprocessors() { return multiprocessors; }

    /** The kernel lab's image (KernelImages.forDriver(version, true)) loaded into this launcher's context, launching on its stream. */
    @Override public KernelLauncher lab() {
        KernelImages.Image labImage = KernelImages.forDriver(driverVersion, true);
        context.makeCurrent();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(ADDRESS);
            driver.check("cuModuleLoadData(kernel lab)", driver.cuModuleLoadData(m, a.allocateFrom(JAVA_BYTE, labImage.bytes())));
            return new FfmLauncher(driver, device, context, m.get(ADDRESS, 0), stream, deviceName, multiprocessors, driverVersion,
                    labImage.description(), false);
        }
    }

    /** The one stream of the backend: kernels, copies, cuBLAS and cuDNN. */
    MemorySegment stream() { return stream; }

    FfmContext context() { return context; }

    Driver driver() { return driver; }

    String deviceName() { return deviceName; }

    /**
     * Queues {@code kernel} on the stream. A site's kernelParams array is built at its first launch
     * and reused; a one-off argument list ({@link KernelArgs#builder}) gets a temporary one.
     */
    @Override public void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {
        context.makeCurrent();
        MemorySegment f = functions.get(kernel);
        if (f == null) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment out = a.allocate(ADDRESS);
                driver.check("cuModuleGetFunction(" + kernel + ")", driver.cuModuleGetFunction(out, module, a.allocateFrom(kernel)));
                f = out.get(ADDRESS, 0);
            }
            functions.put(kernel, f);
        }
        int rc;
        if (args.isSite()) {
            MemorySegment params = prepared.get(args);
            if (params == null) prepared.put(args, params = kernelParams(args, arena));
            rc = driver.cuLaunchKernel(f, grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(), sharedBytes, stream,
                    params, MemorySegment.NULL);
        } else {
            try (Arena a = Arena.ofConfined()) {
                rc = driver.cuLaunchKernel(f, grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(), sharedBytes, stream,
                        kernelParams(args, a), MemorySegment.NULL);
            }
        }
        if (rc != CuResult.SUCCESS)
            throw new DeviceException("cuLaunchKernel(" + kernel + ", grid " + grid + ", block " + block + ") failed: " + driver.describe(rc));
    }

    @Override public void synchronize() {
        context.makeCurrent();
        // an asynchronous failure of queued work (a kernel's illegal address) surfaces here
        driver.check("cuStreamSynchronize", driver.cuStreamSynchronize(stream));
    }

    /** Releases the stream, the module and the primary context, each even when an earlier one fails (a faulted device). */
    @Override public void close() {
        context.makeCurrent();
        if (!ownsContext) {
            prepared.clear();
            functions.clear();
            arena.close();
            driver.check("cuModuleUnload", driver.cuModuleUnload(module));
            return;
        }
        DeviceException first = null;
        for (Runnable r : new Runnable[] {
                () -> driver.check("cuStreamSynchronize", driver.cuStreamSynchronize(stream)),
                () -> driver.check("cuStreamDestroy", driver.cuStreamDestroy(stream)),
                () -> driver.check("cuModuleUnload", driver.cuModuleUnload(module)),
                () -> driver.check("cuDevicePrimaryCtxRelease", driver.cuDevicePrimaryCtxRelease(device))}) {
            try {
                r.run();
            } catch (DeviceException e) {
                if (first == null) first = e;
            }
        }
        prepared.clear();
        functions.clear();
        arena.close();
        if (first != null) throw first;
    }

    /**
     * cuLaunchKernel's kernelParams (void**) for {@code args}, allocated in {@code arena}: one native
     * address per argument, the base of the site's packed values plus the argument's offset. It holds
     * addresses, not values, so it stays valid as the values are rewritten.
     */
    static MemorySegment kernelParams(KernelArgs args, Arena arena) {
        long base = MemorySegment.ofBuffer(args.values()).address();
        MemorySegment array = arena.allocate(JAVA_LONG, Math.max(1, args.count()));
        for (int i = 0; i < args.count(); i++) array.setAtIndex(JAVA_LONG, i, base + args.offset(i));
        return array;
    }

    @Override public String toString() { return describe(); }
}
