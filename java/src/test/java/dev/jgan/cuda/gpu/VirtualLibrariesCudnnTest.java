package dev.jgan.cuda.gpu;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;
import jcuda.jcudnn.JCudnn;
import jcuda.jcudnn.cudnnConvolutionBwdDataAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionBwdFilterAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionDescriptor;
import jcuda.jcudnn.cudnnConvolutionFwdAlgoPerf;
import jcuda.jcudnn.cudnnDeterminism;
import jcuda.jcudnn.cudnnFilterDescriptor;
import jcuda.jcudnn.cudnnHandle;
import jcuda.jcudnn.cudnnStatus;
import jcuda.jcudnn.cudnnTensorDescriptor;
import jcuda.runtime.cudaStream_t;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The virtual GPU's cuDNN (libcudnn.so.8, native/vgpu/cudnn*.cpp) through JCudnn: descriptor
 * validation, the shape consistency of the workspace queries (swapped filter dimensions are
 * BAD_PARAM), every implemented algorithm of the three directions against a plain-Java loop with
 * alpha and beta, find's results (times, memory, determinism), the non-deterministic ALGO_0s
 * really differing between calls, and the injected "cudnn" fault.
 *
 * <p>Layouts: x (N, C, H, W), w (K, C, R, S), y (N, K, P, Q), packed NCHW float. The reference
 * below is this test's own (THE REFERENCE has neither dilation nor CUDNN_CONVOLUTION's flipped
 * kernel): a double loop that also sums |terms|, which bounds the float rounding of any summation
 * order.
 */
class VirtualLibrariesCudnnTest extends VirtualLibrariesTest {
    // cuDNN 8's enumerants
    private static final int NCHW = 0, NHWC = 1, FLOAT = 0, HALF = 2, CONVOLUTION = 0, CROSS_CORRELATION = 1, FMA_MATH = 3;
    private static final int FWD_COUNT = 8, BWD_DATA_COUNT = 6, BWD_FILTER_COUNT = 7;
    /**
     * Float sums of n terms err by at most about n * 2^-24 of the sum of |terms|; the sums here
     * have at most a few hundred terms, so 1e-5 of sum |terms| (plus the blend with beta) holds
     * for every order of summation while a wrong index fails by far more.
     */
    private static final double RTOL = 1e-5;

    private final cudnnHandle handle = new cudnnHandle();
    private final List<Runnable> destroy = new ArrayList<>();

    enum Direction { FORWARD, BACKWARD_DATA, BACKWARD_FILTER }

    /** One convolution problem: x (n, c, h, w) with filter (k, c, r, s). */
    record Conv(int n, int c, int h, int w, int k, int r, int s, int padH, int padW, int strideH, int strideW, int dilH, int dilW,
                int mode) {
        int p() { return (h + 2 * padH - ((r - 1) * dilH + 1)) / strideH + 1; }
        int q() { return (w + 2 * padW - ((s - 1) * dilW + 1)) / strideW + 1; }
        int xSize() { return n * c * h * w; }
        int wSize() { return k * c * r * s; }
        int ySize() { return n * k * p() * q(); }
        @Override public String toString() {
            return "x " + n + "x" + c + "x" + h + "x" + w + ", w " + k + "x" + c + "x" + r + "x" + s + ", pad " + padH + "," + padW
                    + ", stride " + strideH + "," + strideW + ", dil " + dilH + "," + dilW + (mode == CONVOLUTION ? ", CONVOLUTION" : "");
        }
    }

    static List<Conv> convs() {
        return List.of(
                new Conv(2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, CROSS_CORRELATION),
                new Conv(3, 2, 9, 8, 5, 3, 2, 2, 0, 2, 1, 1, 2, CONVOLUTION),      // odd shapes, dilation, flipped kernel
                new Conv(2, 5, 8, 8, 3, 4, 4, 1, 1, 2, 2, 1, 1, CROSS_CORRELATION), // DCGAN's 4x4 stride 2 pad 1
                new Conv(1, 4, 5, 5, 2, 1, 1, 0, 0, 1, 1, 1, 1, CROSS_CORRELATION), // 1x1, one image
                new Conv(2, 1, 6, 6, 6, 5, 5, 2, 2, 2, 2, 1, 1, CROSS_CORRELATION)); // dcgan-28's 5x5 stride 2
    }

    @BeforeEach
    void create() {
        assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, JCudnn.cudnnCreate(handle));
        assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, JCudnn.cudnnSetStream(handle, new cudaStream_t(stream)));
    }

    @AfterEach
    void destroy() {
        for (Runnable r : destroy) r.run();
        destroy.clear();
        JCudnn.cudnnDestroy(handle);
    }

    // ---- descriptors ---------------------------------------------------------------------------

    private cudnnTensorDescriptor tensor(int n, int c, int h, int w) {
        cudnnTensorDescriptor t = new cudnnTensorDescriptor();
        assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, JCudnn.cudnnCreateTensorDescriptor(t));
        destroy.add(() -> JCudnn.cudnnDestroyTensorDescriptor(t));
        assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, JCudnn.cudnnSetTensor4dDescriptor(t, NCHW, FLOAT, n, c, h, w));
        return t;
    }

    private cudnnFilterDescriptor filter(int k, int c, int r, int s) {
        cudnnFilterDescriptor f = new cudnnFilterDescriptor();
        assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, JCudnn.cudnnCreateFilterDescriptor(f));
        destroy.add(() -> JCudnn.cudnnDestroyFilterDescriptor(f));
        assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, JCudnn.cudnnSetFilter4dDescriptor(f, FLOAT, NCHW, k, c, r, s));
        return f;
    }

    private cudnnConvolutionDescriptor conv(Conv g) {
        cudnnConvolutionDescriptor d = new cudnnConvolutionDescriptor();
        assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, JCudnn.cudnnCreateConvolutionDescriptor(d));
        destroy.add(() -> JCudnn.cudnnDestroyConvolutionDescriptor(d));
        assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, JCudnn.cudnnSetConvolution2dDescriptor(d, g.padH, g.padW, g.strideH, g.strideW,
                g.dilH, g.dilW, g.mode, FLOAT));
        assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, JCudnn.cudnnSetConvolutionMathType(d, FMA_MATH));
        return d;
    }

    /** The descriptors of one problem. */
    private final class Descs {
        final Conv g;
        final cudnnTensorDescriptor x, y;
        final cudnnFilterDescriptor w;
        final cudnnConvolutionDescriptor conv;

        Descs(Conv g) {
            this.g = g;
            x = tensor(g.n, g.c, g.h, g.w);
            y = tensor(g.n, g.k, g.p(), g.q());
            w = filter(g.k, g.c, g.r, g.s);
            conv = conv(g);
        }

        /** Status of the workspace query; bytes[0] its answer. */
        int workspace(Direction d, int algo, long[] bytes) {
            return switch (d) {
                case FORWARD -> JCudnn.cudnnGetConvolutionForwardWorkspaceSize(handle, x, w, conv, y, algo, bytes);
                case BACKWARD_DATA -> JCudnn.cudnnGetConvolutionBackwardDataWorkspaceSize(handle, w, y, conv, x, algo, bytes);
                case BACKWARD_FILTER -> JCudnn.cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, x, y, conv, w, algo, bytes);
            };
        }

        /** Runs direction d: in0/in1 are (x, w), (w, dy) or (x, dy); out is y, dx or dw. */
        int run(Direction d, int algo, float alpha, Pointer in0, Pointer in1, Pointer ws, long wsBytes, float beta, Pointer out) {
            Pointer a = Pointer.to(new float[] {alpha}), b = Pointer.to(new float[] {beta});
            return switch (d) {
                case FORWARD -> JCudnn.cudnnConvolutionForward(handle, a, x, in0, w, in1, conv, algo, ws, wsBytes, b, y, out);
                case BACKWARD_DATA -> JCudnn.cudnnConvolutionBackwardData(handle, a, w, in0, y, in1, conv, algo, ws, wsBytes, b, x, out);
                case BACKWARD_FILTER -> JCudnn.cudnnConvolutionBackwardFilter(handle, a, x, in0, y, in1, conv, algo, ws, wsBytes, b, w, out);
            };
        }
    }

    static int count(Direction d) {
        return switch (d) {
            case FORWARD -> FWD_COUNT;
            case BACKWARD_DATA -> BWD_DATA_COUNT;
            case BACKWARD_FILTER -> BWD_FILTER_COUNT;
        };
    }

    // ---- the reference: a double loop over (n, k, c, r, s, p, q) ------------------------------

    /** result[i] and the sum of |terms| behind it, for direction d on (x, w, dy). */
    record Expected(double[] value, double[] magnitude) {}

    static Expected reference(Direction d, Conv g, float[] x, float[] w, float[] dy) {
        int size = switch (d) {
            case FORWARD -> g.ySize();
            case BACKWARD_DATA -> g.xSize();
            case BACKWARD_FILTER -> g.wSize();
        };
        double[] v = new double[size], m = new double[size];
        int p = g.p(), q = g.q();
        for (int n = 0; n < g.n; n++)
            for (int k = 0; k < g.k; k++)
                for (int c = 0; c < g.c; c++)
                    for (int r = 0; r < g.r; r++)
                        for (int s = 0; s < g.s; s++)
                            for (int pp = 0; pp < p; pp++)
                                for (int qq = 0; qq < q; qq++) {
                                    int ih = pp * g.strideH - g.padH + r * g.dilH, iw = qq * g.strideW - g.padW + s * g.dilW;
                                    if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) continue;
                                    // CUDNN_CONVOLUTION applies the kernel reversed
                                    int rr = g.mode == CONVOLUTION ? g.r - 1 - r : r, ss = g.mode == CONVOLUTION ? g.s - 1 - s : s;
                                    int xi = ((n * g.c + c) * g.h + ih) * g.w + iw, wi = ((k * g.c + c) * g.r + rr) * g.s + ss;
                                    int yi = ((n * g.k + k) * p + pp) * q + qq;
                                    int at;
                                    double term;
                                    switch (d) {
                                        case FORWARD -> { at = yi; term = (double) x[xi] * w[wi]; }
                                        case BACKWARD_DATA -> { at = xi; term = (double) dy[yi] * w[wi]; }
                                        default -> { at = wi; term = (double) dy[yi] * x[xi]; }
                                    }
                                    v[at] += term;
                                    m[at] += Math.abs(term);
                                }
        return new Expected(v, m);
    }

    /** |got - (alpha ref + beta old)| <= RTOL (|alpha| sum |terms| + |beta old|) + 1e-30, each element. */
    static void assertClose(String what, Expected e, float alpha, float beta, float[] old, float[] got) {
        for (int i = 0; i < got.length; i++) {
            double before = beta == 0 ? 0 : (double) beta * old[i];
            double want = alpha * e.value[i] + before;
            double tol = RTOL * (Math.abs(alpha) * e.magnitude[i] + Math.abs(before)) + 1e-30;
            if (!(Math.abs(got[i] - want) <= tol)) fail(what + ": element " + i + " is " + got[i] + ", expected " + want + " +- " + tol);
        }
    }

    private record Buffers(float[] x, float[] w, float[] dy, float[] out, CUdeviceptr dIn0, CUdeviceptr dIn1) {}

    private Buffers buffers(Direction d, Conv g, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = random(r, g.xSize()), w = random(r, g.wSize()), dy = random(r, g.ySize());
        return switch (d) {
            case FORWARD -> new Buffers(x, w, dy, random(r, g.ySize()), upload(x), upload(w));
            case BACKWARD_DATA -> new Buffers(x, w, dy, random(r, g.xSize()), upload(w), upload(dy));
            case BACKWARD_FILTER -> new Buffers(x, w, dy, random(r, g.wSize()), upload(x), upload(dy));
        };
    }

    // ---- the algorithms ------------------------------------------------------------------------

    static List<Object[]> directionsAndConvs() {
        List<Object[]> out = new ArrayList<>();
        for (Direction d : Direction.values())
            for (Conv g : convs()) out.add(new Object[] {d, g});
        return out;
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("directionsAndConvs")
    void everyImplementedAlgorithmMatchesThePlainJavaLoopWithAlphaAndBeta(Direction d, Conv g) {
        Descs ds = new Descs(g);
        Buffers b = buffers(d, g, g.hashCode() + d.ordinal());
        Expected e = reference(d, g, b.x, b.w, b.dy);
        int implemented = 0;
        List<Long> sizes = new ArrayList<>();
        for (int algo = 0; algo < count(d); algo++) {
            long[] bytes = {-1};
            int rc = ds.workspace(d, algo, bytes);
            if (rc == cudnnStatus.CUDNN_STATUS_NOT_SUPPORTED) continue;
            assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, rc, "workspace query, algo " + algo);
            implemented++;
            sizes.add(bytes[0]);
            CUdeviceptr ws = bytes[0] > 0 ? alloc(bytes[0] / 4 + 1) : null;
            // alpha 1.5, beta 0.5 over an output that holds data
            CUdeviceptr out = upload(b.out);
            assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, ds.run(d, algo, 1.5f, b.dIn0, b.dIn1, ws, bytes[0], 0.5f, out), "algo " + algo);
            assertClose(d + " algo " + algo + " (alpha 1.5, beta 0.5)", e, 1.5f, 0.5f, b.out, download(out, b.out.length));
            // beta 0 does not read the output: NaN there must not propagate
            float[] nan = new float[b.out.length];
            Arrays.fill(nan, Float.NaN);
            CUdeviceptr out0 = upload(nan);
            assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, ds.run(d, algo, 1f, b.dIn0, b.dIn1, ws, bytes[0], 0f, out0), "algo " + algo);
            assertClose(d + " algo " + algo + " (beta 0 over NaN)", e, 1f, 0f, nan, download(out0, nan.length));
        }
        assertTrue(implemented >= 2, d + ": " + implemented + " algorithms");
        assertTrue(sizes.stream().distinct().count() >= 2, d + ": workspace sizes differ per algorithm: " + sizes);
        check("cuStreamSynchronize", JCudaDriver.cuStreamSynchronize(stream));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("directionsAndConvs")
    void theDeterministicAlgorithmsOfADirectionAgreeBitForBit(Direction d, Conv g) {
        // so that whichever of them find ranks first, a run's results do not depend on the timing
        Descs ds = new Descs(g);
        Buffers b = buffers(d, g, 29);
        float[] first = null;
        int compared = 0;
        for (int algo = 0; algo < count(d); algo++) {
            long[] bytes = {-1};
            if (ds.workspace(d, algo, bytes) != cudnnStatus.CUDNN_STATUS_SUCCESS) continue;
            if (d != Direction.FORWARD && algo == 0) continue; // the backward ALGO_0s are the non-deterministic ones
            CUdeviceptr ws = bytes[0] > 0 ? alloc(bytes[0] / 4 + 1) : null, out = alloc(b.out.length);
            assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, ds.run(d, algo, 1f, b.dIn0, b.dIn1, ws, bytes[0], 0f, out));
            float[] got = download(out, b.out.length);
            for (int i = 0; i < got.length; i++) got[i] += 0f; // -0 and +0 alike
            if (first == null) first = got;
            else assertArrayEquals(first, got, d + " algo " + algo);
            compared++;
        }
        assertTrue(compared >= 1);
    }

    @Test
    void tooSmallAWorkspaceIsBadParamAndAnAlgorithmNotImplementedIsNotSupported() {
        Conv g = convs().get(0);
        Descs ds = new Descs(g);
        Buffers b = buffers(Direction.FORWARD, g, 1);
        long[] bytes = {0};
        assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, ds.workspace(Direction.FORWARD, 2, bytes)); // GEMM: im2col in the workspace
        assertTrue(bytes[0] > 0);
        CUdeviceptr ws = alloc(bytes[0] / 4);
        CUdeviceptr out = alloc(g.ySize());
        assertEquals(cudnnStatus.CUDNN_STATUS_BAD_PARAM, ds.run(Direction.FORWARD, 2, 1f, b.dIn0, b.dIn1, ws, bytes[0] - 4, 0f, out));
        assertEquals(cudnnStatus.CUDNN_STATUS_BAD_PARAM, ds.run(Direction.FORWARD, 2, 1f, b.dIn0, b.dIn1, null, 0, 0f, out));
        assertEquals(cudnnStatus.CUDNN_STATUS_NOT_SUPPORTED, ds.workspace(Direction.FORWARD, 4, bytes)); // FFT
        assertEquals(cudnnStatus.CUDNN_STATUS_NOT_SUPPORTED, ds.run(Direction.FORWARD, 4, 1f, b.dIn0, b.dIn1, ws, bytes[0], 0f, out));
        for (Direction d : Direction.values()) {
            assertEquals(cudnnStatus.CUDNN_STATUS_BAD_PARAM, ds.workspace(d, count(d), bytes), d + ": algo == count");
            assertEquals(cudnnStatus.CUDNN_STATUS_BAD_PARAM, ds.workspace(d, -1, bytes), d + ": algo -1");
        }
        check("cuStreamSynchronize", JCudaDriver.cuStreamSynchronize(stream));
    }

    // ---- find ----------------------------------------------------------------------------------

    /** find's results as (algo, status, time, memory, determinism) rows; its status in rc[0]. */
    private record Found(int algo, int status, float time, long memory, int determinism) {}

    private List<Found> find(Descs ds, Direction d, Pointer in0, Pointer in1, Pointer out, int requested, Pointer ws, long wsBytes,
                             int[] rc) {
        int[] returned = {-1};
        List<Found> found = new ArrayList<>();
        int n = Math.max(requested, 1);
        switch (d) {
            case FORWARD -> {
                cudnnConvolutionFwdAlgoPerf[] perf = new cudnnConvolutionFwdAlgoPerf[n];
                for (int i = 0; i < n; i++) perf[i] = new cudnnConvolutionFwdAlgoPerf();
                rc[0] = JCudnn.cudnnFindConvolutionForwardAlgorithmEx(handle, ds.x, in0, ds.w, in1, ds.conv, ds.y, out, requested,
                        returned, perf, ws, wsBytes);
                for (int i = 0; i < returned[0]; i++)
                    found.add(new Found(perf[i].algo, perf[i].status, perf[i].time, perf[i].memory, perf[i].determinism));
            }
            case BACKWARD_DATA -> {
                cudnnConvolutionBwdDataAlgoPerf[] perf = new cudnnConvolutionBwdDataAlgoPerf[n];
                for (int i = 0; i < n; i++) perf[i] = new cudnnConvolutionBwdDataAlgoPerf();
                rc[0] = JCudnn.cudnnFindConvolutionBackwardDataAlgorithmEx(handle, ds.w, in0, ds.y, in1, ds.conv, ds.x, out, requested,
                        returned, perf, ws, wsBytes);
                for (int i = 0; i < returned[0]; i++)
                    found.add(new Found(perf[i].algo, perf[i].status, perf[i].time, perf[i].memory, perf[i].determinism));
            }
            case BACKWARD_FILTER -> {
                cudnnConvolutionBwdFilterAlgoPerf[] perf = new cudnnConvolutionBwdFilterAlgoPerf[n];
                for (int i = 0; i < n; i++) perf[i] = new cudnnConvolutionBwdFilterAlgoPerf();
                rc[0] = JCudnn.cudnnFindConvolutionBackwardFilterAlgorithmEx(handle, ds.x, in0, ds.y, in1, ds.conv, ds.w, out, requested,
                        returned, perf, ws, wsBytes);
                for (int i = 0; i < returned[0]; i++)
                    found.add(new Found(perf[i].algo, perf[i].status, perf[i].time, perf[i].memory, perf[i].determinism));
            }
        }
        if (rc[0] != cudnnStatus.CUDNN_STATUS_SUCCESS) assertEquals(0, returned[0], "returned count after a failed find");
        return found;
    }

    @ParameterizedTest
    @EnumSource(Direction.class)
    void findRunsEveryAlgorithmAndReturnsThemFastestFirstWithTheirDeterminism(Direction d) {
        Conv g = convs().get(2);
        Descs ds = new Descs(g);
        Buffers b = buffers(d, g, 7);
        long wsBytes = 1 << 20;
        CUdeviceptr ws = alloc(wsBytes / 4);
        float[] nan = new float[b.out.length];
        Arrays.fill(nan, Float.NaN);
        CUdeviceptr out = upload(nan);
        int[] rc = {-1};
        List<Found> found = find(ds, d, b.dIn0, b.dIn1, out, count(d), ws, wsBytes, rc);
        assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, rc[0]);
        assertEquals(count(d), found.size(), found.toString());
        List<Found> ok = found.stream().filter(f -> f.status == cudnnStatus.CUDNN_STATUS_SUCCESS).toList();
        assertTrue(ok.size() >= 2, found.toString());
        // the successful ones first, fastest first; each with the memory the workspace query gives
        assertEquals(ok, found.subList(0, ok.size()));
        for (int i = 0; i < ok.size(); i++) {
            assertTrue(ok.get(i).time >= 0 && (i == 0 || ok.get(i - 1).time <= ok.get(i).time), found.toString());
            long[] bytes = {-1};
            assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, ds.workspace(d, ok.get(i).algo, bytes));
            assertEquals(bytes[0], ok.get(i).memory, found.toString());
        }
        assertEquals(count(d), found.stream().mapToInt(Found::algo).distinct().count(), "each algorithm once: " + found);
        // backward algorithms include the documented non-deterministic ALGO_0; forward ones are all deterministic
        boolean nondeterministic = ok.stream().anyMatch(f -> f.determinism == cudnnDeterminism.CUDNN_NON_DETERMINISTIC);
        assertEquals(d != Direction.FORWARD, nondeterministic, found.toString());
        assertTrue(ok.stream().anyMatch(f -> f.determinism == cudnnDeterminism.CUDNN_DETERMINISTIC), found.toString());
        if (d != Direction.FORWARD)
            assertEquals(cudnnDeterminism.CUDNN_NON_DETERMINISTIC, ok.stream().filter(f -> f.algo == 0).findFirst().orElseThrow().determinism);
        // the output operand is overwritten with a result
        assertClose(d + " after find", reference(d, g, b.x, b.w, b.dy), 1f, 0f, nan, download(out, nan.length));

        // with no workspace, the algorithms that need one cannot run and say so
        List<Found> bare = find(ds, d, b.dIn0, b.dIn1, out, count(d), null, 0, rc);
        assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, rc[0]);
        for (Found f : bare)
            if (f.memory > 0) assertNotEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, f.status, bare.toString());
        assertTrue(bare.get(0).status == cudnnStatus.CUDNN_STATUS_SUCCESS && bare.get(0).memory == 0, bare.toString());

        // fewer requested, fewer returned; fewer than one is BAD_PARAM
        assertEquals(1, find(ds, d, b.dIn0, b.dIn1, out, 1, ws, wsBytes, rc).size());
        assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, rc[0]);
        find(ds, d, b.dIn0, b.dIn1, out, 0, ws, wsBytes, rc);
        assertEquals(cudnnStatus.CUDNN_STATUS_BAD_PARAM, rc[0]);
        check("cuStreamSynchronize", JCudaDriver.cuStreamSynchronize(stream));
    }

    @ParameterizedTest
    @EnumSource(value = Direction.class, names = {"BACKWARD_DATA", "BACKWARD_FILTER"})
    void theNonDeterministicAlgorithmDiffersBetweenCallsWhileAgreeingToRounding(Direction d) {
        int differing = 0;
        for (Conv g : convs()) {
            Descs ds = new Descs(g);
            Buffers b = buffers(d, g, 11);
            long[] bytes = {0};
            assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, ds.workspace(d, 0, bytes));
            CUdeviceptr ws = alloc(bytes[0] / 4 + 1), first = alloc(b.out.length), second = alloc(b.out.length);
            assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, ds.run(d, 0, 1f, b.dIn0, b.dIn1, ws, bytes[0], 0f, first));
            assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, ds.run(d, 0, 1f, b.dIn0, b.dIn1, ws, bytes[0], 0f, second));
            float[] one = download(first, b.out.length), two = download(second, b.out.length);
            Expected e = reference(d, g, b.x, b.w, b.dy);
            assertClose(d + " ALGO_0 first call, " + g, e, 1f, 0f, b.out, one);
            assertClose(d + " ALGO_0 second call, " + g, e, 1f, 0f, b.out, two);
            for (int i = 0; i < one.length; i++) {
                double scale = Math.max(Math.abs(one[i]), Math.abs(two[i]));
                assertTrue(Math.abs(one[i] - two[i]) <= 1e-5 * scale + 1e-6, d + " " + g + ": element " + i + ": " + one[i] + " vs " + two[i]);
            }
            if (!Arrays.equals(one, two)) differing++;
        }
        assertTrue(differing > 0, d + " ALGO_0 gave identical bits in every case of the sweep");
        check("cuStreamSynchronize", JCudaDriver.cuStreamSynchronize(stream));
    }

    // ---- validation ----------------------------------------------------------------------------

    @Test
    void swappedFilterDimensionsOfATransposedConvolutionAreBadParam() {
        // a transposed convolution 4 -> 2 channels runs as backward data of the convolution 2 -> 4:
        // dx (2, 2, 8, 8) from dy (2, 4, 4, 4) through w (K 4, C 2, 4, 4); the mistake is w (2, 4, 4, 4)
        Conv g = new Conv(2, 2, 8, 8, 4, 4, 4, 1, 1, 2, 2, 1, 1, CROSS_CORRELATION);
        Descs ds = new Descs(g);
        cudnnFilterDescriptor swapped = filter(g.c, g.k, g.r, g.s);
        long[] bytes = {0};
        int bad = cudnnStatus.CUDNN_STATUS_BAD_PARAM;
        assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, JCudnn.cudnnGetConvolutionBackwardDataWorkspaceSize(handle, ds.w, ds.y, ds.conv, ds.x, 1,
                bytes));
        assertEquals(bad, JCudnn.cudnnGetConvolutionBackwardDataWorkspaceSize(handle, swapped, ds.y, ds.conv, ds.x, 1, bytes));
        CUdeviceptr w = alloc(g.wSize()), dy = alloc(g.ySize()), dx = alloc(g.xSize());
        assertEquals(cudnnStatus.CUDNN_STATUS_BAD_PARAM, JCudnn.cudnnConvolutionBackwardData(handle, Pointer.to(new float[] {1f}), swapped, w,
                ds.y, dy, ds.conv, 1, null, 0, Pointer.to(new float[] {0f}), ds.x, dx));
        int[] returned = {0};
        cudnnConvolutionBwdDataAlgoPerf[] perf = {new cudnnConvolutionBwdDataAlgoPerf()};
        assertEquals(cudnnStatus.CUDNN_STATUS_BAD_PARAM, JCudnn.cudnnFindConvolutionBackwardDataAlgorithmEx(handle, swapped, w, ds.y, dy,
                ds.conv, ds.x, dx, 1, returned, perf, null, 0));
        // the other shape checks: x's C against the filter's, y's dimensions against the output's
        assertEquals(bad, JCudnn.cudnnGetConvolutionForwardWorkspaceSize(handle, ds.x, swapped, ds.conv, ds.y, 0, bytes));
        cudnnTensorDescriptor tall = tensor(g.n, g.k, g.p() + 1, g.q());
        assertEquals(bad, JCudnn.cudnnGetConvolutionForwardWorkspaceSize(handle, ds.x, ds.w, ds.conv, tall, 0, bytes));
        cudnnTensorDescriptor otherBatch = tensor(g.n + 1, g.k, g.p(), g.q());
        assertEquals(bad, JCudnn.cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, ds.x, otherBatch, ds.conv, ds.w, 0, bytes));
        check("cuStreamSynchronize", JCudaDriver.cuStreamSynchronize(stream));
    }

    @Test
    void descriptorsAreValidatedAsDocumented() {
        int bad = cudnnStatus.CUDNN_STATUS_BAD_PARAM, unsupported = cudnnStatus.CUDNN_STATUS_NOT_SUPPORTED;
        cudnnTensorDescriptor t = tensor(1, 1, 1, 1);
        assertEquals(bad, JCudnn.cudnnSetTensor4dDescriptor(t, NCHW, FLOAT, 0, 1, 1, 1), "n 0");
        assertEquals(bad, JCudnn.cudnnSetTensor4dDescriptor(t, NCHW, FLOAT, 1, -1, 1, 1), "c -1");
        assertEquals(bad, JCudnn.cudnnSetTensor4dDescriptor(t, NCHW, FLOAT, 1, 1, 0, 1), "h 0");
        assertEquals(bad, JCudnn.cudnnSetTensor4dDescriptor(t, NCHW, FLOAT, 1, 1, 1, 0), "w 0");
        assertEquals(bad, JCudnn.cudnnSetTensor4dDescriptor(t, 9, FLOAT, 1, 1, 1, 1), "format 9");
        assertEquals(bad, JCudnn.cudnnSetTensor4dDescriptor(t, NCHW, 99, 1, 1, 1, 1), "data type 99");
        assertEquals(unsupported, JCudnn.cudnnSetTensor4dDescriptor(t, NHWC, FLOAT, 1, 1, 1, 1), "NHWC");
        assertEquals(unsupported, JCudnn.cudnnSetTensor4dDescriptor(t, NCHW, HALF, 1, 1, 1, 1), "half");
        cudnnFilterDescriptor f = filter(1, 1, 1, 1);
        assertEquals(bad, JCudnn.cudnnSetFilter4dDescriptor(f, FLOAT, NCHW, 0, 1, 1, 1), "k 0");
        assertEquals(bad, JCudnn.cudnnSetFilter4dDescriptor(f, FLOAT, NCHW, 1, 1, -2, 1), "r -2");
        assertEquals(bad, JCudnn.cudnnSetFilter4dDescriptor(f, -1, NCHW, 1, 1, 1, 1), "data type -1");
        assertEquals(unsupported, JCudnn.cudnnSetFilter4dDescriptor(f, FLOAT, NHWC, 1, 1, 1, 1), "NHWC");
        cudnnConvolutionDescriptor c = conv(convs().get(0));
        assertEquals(bad, JCudnn.cudnnSetConvolution2dDescriptor(c, -1, 0, 1, 1, 1, 1, CROSS_CORRELATION, FLOAT), "pad -1");
        assertEquals(bad, JCudnn.cudnnSetConvolution2dDescriptor(c, 0, 0, 0, 1, 1, 1, CROSS_CORRELATION, FLOAT), "stride 0");
        assertEquals(bad, JCudnn.cudnnSetConvolution2dDescriptor(c, 0, 0, 1, 1, 1, 0, CROSS_CORRELATION, FLOAT), "dilation 0");
        assertEquals(bad, JCudnn.cudnnSetConvolution2dDescriptor(c, 0, 0, 1, 1, 1, 1, 2, FLOAT), "mode 2");
        assertEquals(bad, JCudnn.cudnnSetConvolutionMathType(c, 4), "math type 4");
        // a filter larger than the padded input has no output
        Conv g = convs().get(0);
        cudnnTensorDescriptor small = tensor(1, g.c, 1, 1);
        cudnnTensorDescriptor y = tensor(1, g.k, 1, 1);
        long[] bytes = {0};
        assertEquals(bad, JCudnn.cudnnGetConvolutionForwardWorkspaceSize(handle, small, filter(g.k, g.c, 5, 5), conv(g), y, 0, bytes));
    }

    @Test
    void versionIsCudnn89InCudnn8Encoding() {
        long v = JCudnn.cudnnGetVersion(); // major * 1000 + minor * 100 + patch
        assertEquals(8, v / 1000);
        assertEquals(9, v / 100 % 10);
    }

    // ---- faults --------------------------------------------------------------------------------

    @Test
    void anInjectedFaultFailsThatConvolutionOrFind() {
        Conv g = convs().get(0);
        Descs ds = new Descs(g);
        Buffers b = buffers(Direction.FORWARD, g, 5);
        CUdeviceptr out = alloc(g.ySize());
        VirtualGpu.setFaults("cudnn:2");
        assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, ds.run(Direction.FORWARD, 0, 1f, b.dIn0, b.dIn1, null, 0, 0f, out));
        assertEquals(cudnnStatus.CUDNN_STATUS_EXECUTION_FAILED, ds.run(Direction.FORWARD, 0, 1f, b.dIn0, b.dIn1, null, 0, 0f, out));
        assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, ds.run(Direction.FORWARD, 0, 1f, b.dIn0, b.dIn1, null, 0, 0f, out));
        VirtualGpu.setFaults("cudnn:1");
        int[] rc = {-1};
        assertTrue(find(ds, Direction.FORWARD, b.dIn0, b.dIn1, out, FWD_COUNT, null, 0, rc).isEmpty());
        assertEquals(cudnnStatus.CUDNN_STATUS_EXECUTION_FAILED, rc[0]);
        assertFalse(find(ds, Direction.FORWARD, b.dIn0, b.dIn1, out, FWD_COUNT, null, 0, rc).isEmpty());
        assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, rc[0]);
        check("cuStreamSynchronize", JCudaDriver.cuStreamSynchronize(stream));
    }

    @Test
    void theNullStreamIsRefusedWhenStrict() {
        Conv g = convs().get(0);
        Descs ds = new Descs(g);
        Buffers b = buffers(Direction.FORWARD, g, 13);
        CUdeviceptr out = alloc(g.ySize());
        boolean was = VirtualGpu.setStrict(true);
        try {
            assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, JCudnn.cudnnSetStream(handle, new cudaStream_t()));
            assertEquals(cudnnStatus.CUDNN_STATUS_EXECUTION_FAILED, ds.run(Direction.FORWARD, 0, 1f, b.dIn0, b.dIn1, null, 0, 0f, out));
            assertTrue(VirtualGpu.lastError().contains("NULL stream"), VirtualGpu.lastError());
            int[] rc = {-1};
            find(ds, Direction.FORWARD, b.dIn0, b.dIn1, out, FWD_COUNT, null, 0, rc);
            assertEquals(cudnnStatus.CUDNN_STATUS_EXECUTION_FAILED, rc[0]);
        } finally {
            VirtualGpu.setStrict(was);
        }
    }

    @Test
    void anOperandPastItsAllocationIsAStickyIllegalAddress() {
        Conv g = convs().get(0);
        Descs ds = new Descs(g);
        Buffers b = buffers(Direction.FORWARD, g, 9);
        CUdeviceptr shortOut = alloc(g.ySize() - 1);
        assertEquals(cudnnStatus.CUDNN_STATUS_SUCCESS, ds.run(Direction.FORWARD, 0, 1f, b.dIn0, b.dIn1, null, 0, 0f, shortOut));
        assertEquals(CUresult.CUDA_ERROR_ILLEGAL_ADDRESS, status(() -> JCudaDriver.cuStreamSynchronize(stream)));
        assertTrue(VirtualGpu.lastError().contains("cudnnConvolutionForward"), VirtualGpu.lastError());
    }
}
