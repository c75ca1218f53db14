package dev.jgan.cuda.ffm;

import dev.jgan.backend.ConvGeometry;
import dev.jgan.backend.DeviceException;
import dev.jgan.cuda.CudaBackend;
import dev.jgan.cuda.DeviceMemory;
import dev.jgan.cuda.Dim3;
import dev.jgan.cuda.Dnn;
import dev.jgan.cuda.KernelArgs;
import dev.jgan.cuda.KernelImages;
import dev.jgan.cuda.gpu.VirtualGpu;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.Approx;
import dev.jgan.check.Reference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The FFM adapters (FfmLauncher, FfmMemory, FfmBlas, FfmDnn, FfmDevice) on the virtual GPU's
 * libcuda.so.1, libcublas.so.12 and libcudnn.so.8, opened by absolute path as
 * {@link FfmDevice.Libraries} hands them over: kernels, copies, fill, timer, GEMM and the three
 * convolution directions compute the plain-Java reference's results; find's algorithms all run;
 * injected faults and out-of-memory surface as the adapters' one-line failures naming the call;
 * a failed open and a close give back every allocation. Runs in the "virtual-gpu" JVM.
 */
@Tag("virtual-gpu")
class VirtualFfmAdaptersTest {
    /**
     * Float results against the double-accumulating reference: a sum of up to 48 products of values
     * in [-1, 1] (a 3-channel 4x4 filter, or k = 11) rounds to within a few ulp of its magnitude,
     * below 1e-5 absolute; alpha 2 and the beta blend add one rounding each.
     */
    private static final double ATOL = 2e-5, RTOL = 1e-5;

    private static FfmLauncher launcher;
    private static FfmMemory memory;
    private static FfmBlas blas;
    private static FfmDnn dnn;
    private final List<Long> allocations = new ArrayList<>();

    /**
     * The virtual GPU's libcuda.so.1, libcublas.so.12 and libcudnn.so.8 by absolute path (this
     * JVM's stack; the FFM binding over libcublas.so.13 and libcudnn.so.9 is the execution
     * virtual-gpu-ffm's, whose stack is cuda13).
     */
    static FfmDevice.Libraries libraries() {
        java.nio.file.Path dir = VirtualGpu.directory().orElseThrow();
        return new FfmDevice.Libraries(dir.resolve("libcuda.so.1").toString(), dir.resolve("libcublas.so.12").toString(),
                dir.resolve("libcudnn.so.8").toString());
    }

    @BeforeAll
    static synchronized void open() {
        if (VirtualGpu.directory().isEmpty()) unavailable("the virtual GPU was not built (native/vgpu/; the build needs cmake and g++)");
        FfmDevice.Libraries libs = libraries();
        for (String lib : new String[] {libs.driver(), libs.cublas(), libs.cudnn()})
            if (!Files.isRegularFile(java.nio.file.Path.of(lib))) unavailable(lib + " was not built (native/vgpu/)");
        if (KernelImages.fatbin().isEmpty()) unavailable("the CUDA kernels' fatbin was not built (the build needs nvcc)");
        VirtualGpu.install(); // its test hooks (faults, counters); the FFM lookups then find the same loaded libraries
        if (launcher != null) return;
        launcher = FfmLauncher.open(0, libs.driver());
        memory = new FfmMemory(launcher);
        blas = new FfmBlas(launcher, libs.cublas());
        dnn = new FfmDnn(launcher, libs.cudnn());
    }

    static void unavailable(String reason) {
        if ("true".equals(System.getenv("CI"))) fail(reason + "; CI=true requires it");
        abort(reason);
    }

    /** The device is the JVM's: faults off, the sticky error of a provoked failure cleared, the schedule back. */
    @AfterEach
    void restore() {
        VirtualGpu.setFaults("");
        VirtualGpu.setSchedule(VirtualGpu.Schedule.initial());
        launcher.driver().cuStreamSynchronize(launcher.stream());
        VirtualGpu.clearError();
        for (long a : allocations) memory.free(a);
        allocations.clear();
    }

    private long upload(float[] values) {
        long a = memory.allocate(4L * Math.max(1, values.length));
        allocations.add(a);
        memory.copyToDevice(values, 0, a, values.length);
        return a;
    }

    private static float[] download(DeviceMemory m, long a, int floats) {
        float[] out = new float[floats];
        m.copyToHost(a, out, 0, floats);
        return out;
    }

    static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextDouble() * 2 - 1);
        return a;
    }

    @Test
    void theAdaptersDescribeTheStandInsAndSayFfm() {
        assertTrue(launcher.describe().startsWith("cuda: jgan virtual GPU (") && launcher.describe().contains("ffm"), launcher.describe());
        assertTrue(memory.describe().contains("ffm"), memory.describe());
        assertTrue(blas.describe().startsWith("cuBLAS 12.") && blas.describe().contains("ffm"), blas.describe());
        assertTrue(dnn.describe().startsWith("cuDNN 8.9.") && dnn.describe().contains("ffm"), dnn.describe());
        assertEquals(8, dnn.status().major(), "cudnnGetVersion's encoding picks the 8.9 status table");
        assertEquals(List.of(8, 6, 7), List.of(dnn.algorithmCount(Dnn.Direction.FORWARD), dnn.algorithmCount(Dnn.Direction.BACKWARD_DATA),
                dnn.algorithmCount(Dnn.Direction.BACKWARD_FILTER)));
    }

    @Test
    void copiesGoBothWaysAndWithinTheDeviceAndFillWritesWords() {
        float[] x = random(new SplittableRandom(3), 1013);
        long a = upload(x), b = upload(new float[1013]), c = upload(new float[1013]);
        assertArrayEquals(x, download(memory, a, x.length), "host -> device -> host");
        memory.copy(a, b, 4L * x.length);
        assertArrayEquals(x, download(memory, b, x.length), "device -> device");
        memory.fill32(c, Float.floatToRawIntBits(-2.5f), 1000);
        float[] filled = download(memory, c, 1013);
        for (int i = 0; i < 1000; i++) assertEquals(-2.5f, filled[i], "word " + i);
        assertEquals(0f, filled[1000], "past the count: untouched");
        // an upload larger than the staging buffer grows it; the earlier contents are unaffected
        float[] big = random(new SplittableRandom(4), 70_000);
        assertArrayEquals(big, download(memory, upload(big), big.length));
        assertArrayEquals(x, download(memory, a, x.length));
    }

    @Test
    void kernelsRunThroughTheSitesKernelParamsAndAOneOffList() {
        float[] x = random(new SplittableRandom(5), 1013);
        long dx = upload(x), dy = upload(new float[x.length]), dz = upload(new float[x.length]);
        KernelArgs site = KernelArgs.site("relu_forward");
        Dim3 grid = new Dim3(4, 1, 1), block = new Dim3(256, 1, 1);
        // relu_forward(const float* x, float* y, int64_t n)
        launcher.launch("relu_forward", grid, block, 0, site.start().pointer(dx).pointer(dy).i64(x.length).build());
        launcher.launch("relu_forward", grid, block, 0, KernelArgs.builder().pointer(dy).pointer(dz).i64(x.length).build());
        launcher.synchronize();
        float[] expected = new float[x.length];
        Reference.relu(x, expected);
        assertArrayEquals(expected, download(memory, dy, x.length), "through the site's prepared kernelParams");
        assertArrayEquals(expected, download(memory, dz, x.length), "through a one-off kernelParams");
    }

    @Test
    void aSteadyStateLaunchAllocatesNothingOnTheJavaHeap() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported(), "this JVM does not count allocations per thread");
        threads.setThreadAllocatedMemoryEnabled(true);
        long dx = upload(new float[32]), dy = upload(new float[32]);
        KernelArgs site = KernelArgs.site("relu_forward");
        Dim3 one = new Dim3(1, 1, 1), block = new Dim3(32, 1, 1);
        Runnable burst = () -> {
            for (int i = 0; i < 64; i++) launcher.launch("relu_forward", one, block, 0, site.start().pointer(dx).pointer(dy).i64(32).build());
            launcher.synchronize();
        };
        for (int i = 0; i < 300; i++) burst.run();   // the site's kernelParams built, the launch path compiled
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 300; i++) burst.run();
        double perLaunch = (double) (threads.getCurrentThreadAllocatedBytes() - before) / (300 * 64);
        assertTrue(perLaunch < 0.5, perLaunch + " bytes allocated per launch");
    }

    @Test
    void theTimerMeasuresTheStreamAndClosesOnce() {
        try (DeviceMemory.DeviceTimer t = memory.timer()) {
            t.start();
            memory.fill32(upload(new float[4096]), 0, 4096);
            double ms = t.stopMillis();
            assertTrue(ms >= 0 && ms < 60_000, ms + " ms");
            t.close();
        }
    }

    @Test
    void sgemmComputesTheColumnMajorProductInEveryTransposition() {
        SplittableRandom r = new SplittableRandom(17);
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true}) {
                int m = 9, n = 6, k = 11, lda = ta ? k : m, ldb = tb ? n : k;
                float[] a = random(r, m * k), b = random(r, k * n), c = random(r, m * n);
                float[] expected = c.clone();
                Reference.sgemmColumnMajor(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, 0.5f, expected, m);
                long dc = upload(c);
                blas.sgemm(ta, tb, m, n, k, 0.75f, upload(a), lda, upload(b), ldb, 0.5f, dc, m);
                Approx.assertClose("transA " + ta + ", transB " + tb, expected, download(memory, dc, m * n), ATOL, RTOL);
            }
    }

    @ParameterizedTest
    @EnumSource(Dnn.Direction.class)
    void findReturnsAlgorithmsThatAllComputeTheReference(Dnn.Direction d) {
        // DCGAN's 4x4 kernel, stride 2, pad 1: x (2, 3, 8, 8), w (4, 3, 4, 4), y (2, 4, 4, 4)
        Dnn.TensorDesc x = new Dnn.TensorDesc(2, 3, 8, 8), y = new Dnn.TensorDesc(2, 4, 4, 4);
        Dnn.FilterDesc w = new Dnn.FilterDesc(4, 3, 4, 4);
        Dnn.ConvDesc conv = new Dnn.ConvDesc(1, 1, 2, 2, 1, 1);
        Shape xs = Shape.of(2, 3, 8, 8), ws = Shape.of(4, 3, 4, 4), ys = Shape.of(2, 4, 4, 4);
        ConvGeometry g = new ConvGeometry(2, 2, 1, 1);
        Dnn.Problem p = new Dnn.Problem(d, x, w, conv, y);
        SplittableRandom r = new SplittableRandom(23);
        float[] hx = random(r, 384), hw = random(r, 192), hy = random(r, 128);
        float[] result = new float[switch (d) { case FORWARD -> 128; case BACKWARD_DATA -> 384; case BACKWARD_FILTER -> 192; }];
        switch (d) {
            case FORWARD -> Reference.conv2dForward(hx, xs, hw, ws, result, ys, g);
            case BACKWARD_DATA -> Reference.conv2dBackwardData(hy, ys, hw, ws, result, xs, g);
            case BACKWARD_FILTER -> Reference.conv2dBackwardFilter(hx, xs, hy, ys, result, ws, g, false);
        }
        long dx = upload(hx), dw = upload(hw), dy = upload(hy);
        long workspaceBytes = 1 << 20, workspace = memory.allocate(workspaceBytes);
        allocations.add(workspace);
        long scratch = upload(new float[result.length]); // find overwrites the operand the direction writes
        List<Dnn.Algo> found = dnn.find(p, d == Dnn.Direction.BACKWARD_DATA ? scratch : dx, d == Dnn.Direction.BACKWARD_FILTER ? scratch : dw,
                d == Dnn.Direction.FORWARD ? scratch : dy, workspace, workspaceBytes);
        assertTrue(found.size() >= 2, found.toString());
        for (Dnn.Algo algo : found) {
            assertEquals(algo.workspaceBytes(), dnn.workspaceSize(p, algo.id()), algo.toString());
            assertEquals(FfmDnn.algorithmNames(d).get(algo.id()), algo.name());
            float[] old = random(r, result.length), expected = new float[result.length];
            for (int i = 0; i < old.length; i++) expected[i] = 2f * result[i] + 0.25f * old[i];
            long out = upload(old);
            switch (d) {
                case FORWARD -> dnn.forward(2f, x, dx, w, dw, conv, algo.id(), workspace, workspaceBytes, 0.25f, y, out);
                case BACKWARD_DATA -> dnn.backwardData(2f, w, dw, y, dy, conv, algo.id(), workspace, workspaceBytes, 0.25f, x, out);
                case BACKWARD_FILTER -> dnn.backwardFilter(2f, x, dx, y, dy, conv, algo.id(), workspace, workspaceBytes, 0.25f, w, out);
            }
            Approx.assertClose(d + " " + algo, expected, download(memory, out, result.length), ATOL, RTOL);
        }
        // the stand-in does not implement algorithm 4 (FFT): its CUDNN_STATUS_NOT_SUPPORTED (9 in 8.9) is -1
        assertEquals(-1, dnn.workspaceSize(p, 4));
    }

    @Test
    void injectedFaultsAreOneLineFailuresNamingTheCallAndStatus() {
        Dnn.TensorDesc x = new Dnn.TensorDesc(1, 2, 5, 5), y = new Dnn.TensorDesc(1, 3, 5, 5);
        Dnn.FilterDesc w = new Dnn.FilterDesc(3, 2, 3, 3);
        Dnn.ConvDesc conv = new Dnn.ConvDesc(1, 1, 1, 1, 1, 1);
        long dx = upload(new float[50]), dw = upload(new float[54]), dy = upload(new float[75]);
        VirtualGpu.setFaults("cudnn:1");
        DeviceException e = assertThrows(DeviceException.class, () -> dnn.forward(1f, x, dx, w, dw, conv, 0, 0, 0, 0f, y, dy));
        assertTrue(e.getMessage().startsWith("cudnnConvolutionForward(") && e.getMessage().contains("CUDNN_STATUS_EXECUTION_FAILED"),
                e.getMessage());
        VirtualGpu.setFaults("cublas:1");
        DeviceException f = assertThrows(DeviceException.class, () -> blas.sgemm(false, false, 2, 2, 2, 1f, dx, 2, dw, 2, 0f, dy, 2));
        assertTrue(f.getMessage().startsWith("cublasSgemm(") && f.getMessage().contains("CUBLAS_STATUS_EXECUTION_FAILED"), f.getMessage());
        VirtualGpu.setFaults("launch:1");
        DeviceException l = assertThrows(DeviceException.class, () -> launcher.launch("relu_forward", new Dim3(1, 1, 1),
                new Dim3(32, 1, 1), 0, KernelArgs.builder().pointer(dx).pointer(dy).i64(32).build()));
        assertTrue(l.getMessage().startsWith("cuLaunchKernel(relu_forward, grid ") && l.getMessage().contains("CUDA_ERROR_LAUNCH_FAILED"),
                l.getMessage());
        // the name and the description come from the driver itself (cuGetErrorName, cuGetErrorString)
        assertTrue(l.getMessage().contains("CUDA_ERROR_LAUNCH_FAILED (unspecified launch failure)"), l.getMessage());
        for (DeviceException each : List.of(e, f, l)) assertFalse(each.getMessage().contains("\n"), "one line: " + each.getMessage());
    }

    @Test
    void outOfMemoryReleasesTheCacheRetriesOnceThenFailsNamingTheCall() {
        long cachedBlock = memory.allocate(1 << 16);
        memory.free(cachedBlock);                          // now cached for its size class
        CachingAllocatorProbe probe = new CachingAllocatorProbe();
        assertTrue(memory.blocks().cachedBytes() > 0);
        VirtualGpu.setFaults("alloc:1");                   // the next cuMemAlloc is out of memory, the retry is not
        long a = memory.allocate(3 << 16);
        allocations.add(a);
        assertEquals(0, memory.blocks().cachedBytes(), "the cache was released before the retry");
        assertEquals(2, probe.allocCalls(), "one refused cuMemAlloc and one retry");
        VirtualGpu.setFaults("alloc:1+");                  // every cuMemAlloc from now on
        DeviceException e = assertThrows(DeviceException.class, () -> memory.allocate(5 << 16));
        assertTrue(e.getMessage().startsWith("cuMemAlloc(") && e.getMessage().contains("CUDA_ERROR_OUT_OF_MEMORY"), e.getMessage());
    }

    /** The virtual GPU's count of cuMemAlloc calls since the probe was made. */
    private static final class CachingAllocatorProbe {
        private final long start = VirtualGpu.counter(VirtualGpu.Counter.ALLOC_CALLS);

        long allocCalls() { return VirtualGpu.counter(VirtualGpu.Counter.ALLOC_CALLS) - start; }
    }

    /**
     * CudaBackend.close() releases only its workspace (the ports stay open for the JVM, in both
     * bindings), so the ports are closed here as FfmDevice closes them after a failed open: last
     * opened first.
     */
    @Test
    void closingThePortsGivesEverythingBackAndAFailedOpenLeaksNothing() {
        long live = VirtualGpu.counter(VirtualGpu.Counter.LIVE_ALLOCATIONS);
        long pinned = VirtualGpu.counter(VirtualGpu.Counter.LIVE_PINNED_ALLOCATIONS);
        FfmDevice.Libraries libs = libraries();
        FfmLauncher l = FfmLauncher.open(0, libs.driver());
        FfmMemory m = new FfmMemory(l);
        FfmBlas bl = new FfmBlas(l, libs.cublas());
        FfmDnn dn = new FfmDnn(l, libs.cudnn());
        CudaBackend b = new CudaBackend(m, l, bl, dn, 64L << 20, false);
        assertTrue(b.describe().contains("ffm"), b.describe());
        float[] hx = random(new SplittableRandom(9), 300);
        Tensor x = b.fromHost(hx, Shape.of(300)), y = b.allocate(Shape.of(300));
        b.relu(x, y);
        float[] got = new float[300], expected = new float[300];
        b.toHost(y, got);
        Reference.relu(hx, expected);
        assertArrayEquals(expected, got);
        Dnn.Problem p = new Dnn.Problem(Dnn.Direction.FORWARD, new Dnn.TensorDesc(1, 2, 5, 5), new Dnn.FilterDesc(3, 2, 3, 3),
                new Dnn.ConvDesc(1, 1, 1, 1, 1, 1), new Dnn.TensorDesc(1, 3, 5, 5));
        assertTrue(dn.workspaceSize(p, 0) >= 0, "descriptors made, for close to destroy");
        assertTrue(VirtualGpu.counter(VirtualGpu.Counter.LIVE_ALLOCATIONS) > live);
        assertTrue(VirtualGpu.counter(VirtualGpu.Counter.LIVE_PINNED_ALLOCATIONS) > pinned);
        b.close();
        dn.close();
        bl.close();
        m.close();
        l.close();
        assertEquals(live, VirtualGpu.counter(VirtualGpu.Counter.LIVE_ALLOCATIONS), "device blocks after close");
        assertEquals(pinned, VirtualGpu.counter(VirtualGpu.Counter.LIVE_PINNED_ALLOCATIONS), "pinned staging after close");

        // cuDNN named by a path that is not there: the launcher, memory and cuBLAS opened before it are closed again
        String missing = VirtualGpu.directory().orElseThrow().resolve("libcudnn.so.0-missing").toString();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> FfmDevice.open(0, 64L << 20, false, new FfmDevice.Libraries(libs.driver(), libs.cublas(), missing)));
        assertTrue(e.getMessage().startsWith("ffm: " + missing + " does not load") && !e.getMessage().contains("\n"), e.getMessage());
        assertEquals(live, VirtualGpu.counter(VirtualGpu.Counter.LIVE_ALLOCATIONS), "device blocks after a failed open");
        assertEquals(pinned, VirtualGpu.counter(VirtualGpu.Counter.LIVE_PINNED_ALLOCATIONS), "pinned memory after a failed open");
    }

    /**
     * A soname instead of a path, as the library search may hand it over: the dynamic linker
     * answers with the library of that SONAME already loaded (the stand-in VirtualGpu.install()
     * loaded), so this opens the same virtual device.
     */
    @Test
    void aSonameFindsTheLoadedLibraryOfThatName() {
        FfmLauncher l = FfmLauncher.open(0, "libcuda.so.1");
        try {
            assertTrue(l.describe().startsWith("cuda: jgan virtual GPU (") && l.describe().contains("ffm binding of libcuda.so.1"),
                    l.describe());
        } finally {
            l.close();
        }
    }

    @Test
    void aLibraryWithoutASymbolIsOneLineNamingBoth() {
        FfmDevice.Libraries libs = libraries();
        // the cuDNN stand-in where cuBLAS should be: it has no cublasCreate_v2
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> FfmDevice.open(0, 64L << 20, false, new FfmDevice.Libraries(libs.driver(), libs.cudnn(), libs.cudnn())));
        assertEquals("ffm: " + libs.cudnn() + " has no symbol cublasCreate_v2 (not the library jgan needs; install cuBLAS 12 or 13 "
                + "(e.g. pip install nvidia-cublas-cu12, or the CUDA toolkit's libcublas))", e.getMessage());
    }

    @Test
    void theBackendRunsFromAnotherThreadByBindingTheContextThere() throws Exception {
        float[] hx = random(new SplittableRandom(11), 64);
        long a = upload(hx);
        float[][] got = new float[1][];
        Thread t = new Thread(() -> got[0] = download(memory, a, 64));
        t.start();
        t.join();
        assertArrayEquals(hx, got[0]);
        assertArrayEquals(hx, download(memory, a, 64), "and back on this thread");
    }
}
