package dev.jgan.cuda.gpu;

import dev.jgan.cuda.Blas;
import dev.jgan.cuda.DeviceMemory;
import dev.jgan.cuda.Dnn;
import dev.jgan.cuda.gpu.VirtualLibrariesCudnnTest.Conv;
import dev.jgan.cuda.gpu.VirtualLibrariesCudnnTest.Direction;
import dev.jgan.cuda.gpu.VirtualLibrariesCudnnTest.Expected;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * jgan's own GPU adapters, {@link CublasBlas} and {@link CudnnDnn}, over the virtual GPU's
 * libcublas.so.12 and libcudnn.so.8: the paths jgan's JNI calls take (find with its perf arrays,
 * the workspace queries, the three directions, the status checks) run and compute the
 * plain-Java results, and an injected fault surfaces as the adapter's one-line failure.
 */
@Tag("virtual-gpu")
class VirtualLibrariesAdaptersTest {
    private static DeviceMemory memory;
    private static CublasBlas blas;
    private static CudnnDnn dnn;
    private final List<Long> allocations = new ArrayList<>();

    @BeforeAll
    static void open() {
        for (String lib : new String[] {CudaProbe.DRIVER, CudaProbe.CUBLAS, CudaProbe.CUDNN})
            if (VirtualGpu.directory().isEmpty() || !Files.isRegularFile(VirtualGpu.directory().get().resolve(lib)))
                VirtualDriverTest.unavailable("the virtual GPU's " + lib + " was not built (native/vgpu/; the build needs cmake and g++)");
        VirtualGpu.install(); // the stand-ins before any JCublas2 or JCudnn class
        if (memory != null) return;
        memory = VirtualDriverTest.memory();
        blas = new CublasBlas(VirtualDriverTest.launcher());
        dnn = new CudnnDnn(VirtualDriverTest.launcher());
    }

    @AfterEach
    void release() {
        VirtualDriverTest.restore();
        for (long a : allocations) memory.free(a);
        allocations.clear();
    }

    private long upload(float[] values) {
        long a = memory.allocate(4L * Math.max(1, values.length));
        allocations.add(a);
        memory.copyToDevice(values, 0, a, values.length);
        return a;
    }

    private float[] download(long a, int floats) {
        float[] out = new float[floats];
        memory.copyToHost(a, out, 0, floats);
        return out;
    }

    @Test
    void theAdaptersDescribeTheStandIns() {
        assertTrue(blas.describe().startsWith("cuBLAS 12."), blas.describe());
        assertTrue(dnn.describe().startsWith("cuDNN 8.9."), dnn.describe());
        assertEquals(8, dnn.algorithmCount(Dnn.Direction.FORWARD));
    }

    @Test
    void cublasBlasComputesTheColumnMajorSgemmBitForBit() {
        SplittableRandom r = new SplittableRandom(17);
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true}) {
                int m = 9, n = 6, k = 11, lda = ta ? k : m, ldb = tb ? n : k;
                float[] a = VirtualLibrariesTest.random(r, m * k), b = VirtualLibrariesTest.random(r, k * n);
                float[] c = VirtualLibrariesTest.random(r, m * n);
                float[] expected = c.clone();
                VirtualLibrariesCublasTest.sgemmInOrder(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, 1f, expected, m);
                long dc = upload(c);
                blas.sgemm(ta, tb, m, n, k, 0.75f, upload(a), lda, upload(b), ldb, 1f, dc, m);
                assertArrayEquals(expected, download(dc, m * n), "transA " + ta + ", transB " + tb);
            }
    }

    @ParameterizedTest
    @EnumSource(Direction.class)
    void cudnnDnnFindsAndRunsEveryAlgorithmItReturns(Direction d) {
        Conv g = new Conv(2, 3, 8, 8, 4, 4, 4, 1, 1, 2, 2, 1, 1, 1); // DCGAN's 4x4, stride 2, pad 1
        Dnn.TensorDesc x = new Dnn.TensorDesc(g.n(), g.c(), g.h(), g.w()), y = new Dnn.TensorDesc(g.n(), g.k(), g.p(), g.q());
        Dnn.FilterDesc w = new Dnn.FilterDesc(g.k(), g.c(), g.r(), g.s());
        Dnn.ConvDesc conv = new Dnn.ConvDesc(g.padH(), g.padW(), g.strideH(), g.strideW(), g.dilH(), g.dilW());
        Dnn.Direction direction = Dnn.Direction.values()[d.ordinal()];
        Dnn.Problem p = new Dnn.Problem(direction, x, w, conv, y);
        SplittableRandom r = new SplittableRandom(23);
        float[] hx = VirtualLibrariesTest.random(r, g.xSize()), hw = VirtualLibrariesTest.random(r, g.wSize());
        float[] hy = VirtualLibrariesTest.random(r, g.ySize());
        long dx = upload(hx), dw = upload(hw), dy = upload(hy);
        long workspaceBytes = 1 << 20, workspace = memory.allocate(workspaceBytes);
        allocations.add(workspace);
        // find overwrites the operand the direction writes: give it a scratch one
        long scratch = upload(new float[switch (d) { case FORWARD -> g.ySize(); case BACKWARD_DATA -> g.xSize(); default -> g.wSize(); }]);
        List<Dnn.Algo> found = dnn.find(p, d == Direction.BACKWARD_DATA ? scratch : dx, d == Direction.BACKWARD_FILTER ? scratch : dw,
                d == Direction.FORWARD ? scratch : dy, workspace, workspaceBytes);
        assertTrue(found.size() >= 2, found.toString());
        Expected e = VirtualLibrariesCudnnTest.reference(d, g, hx, hw, hy);
        for (Dnn.Algo algo : found) {
            assertEquals(algo.workspaceBytes(), dnn.workspaceSize(p, algo.id()), algo.toString());
            float[] old = VirtualLibrariesTest.random(r, e.value().length);
            long out = upload(old);
            switch (d) {
                case FORWARD -> dnn.forward(2f, x, dx, w, dw, conv, algo.id(), workspace, workspaceBytes, 0.25f, y, out);
                case BACKWARD_DATA -> dnn.backwardData(2f, w, dw, y, dy, conv, algo.id(), workspace, workspaceBytes, 0.25f, x, out);
                case BACKWARD_FILTER -> dnn.backwardFilter(2f, x, dx, y, dy, conv, algo.id(), workspace, workspaceBytes, 0.25f, w, out);
            }
            VirtualLibrariesCudnnTest.assertClose(d + " " + algo, e, 2f, 0.25f, old, download(out, old.length));
        }
        assertEquals(-1, dnn.workspaceSize(p, 4), "an algorithm the stand-in does not implement");
    }

    @Test
    void anInjectedFaultIsTheAdaptersOneLineFailure() {
        Dnn.TensorDesc x = new Dnn.TensorDesc(1, 2, 5, 5), y = new Dnn.TensorDesc(1, 3, 5, 5);
        Dnn.FilterDesc w = new Dnn.FilterDesc(3, 2, 3, 3);
        Dnn.ConvDesc conv = new Dnn.ConvDesc(1, 1, 1, 1, 1, 1);
        long dx = upload(new float[50]), dw = upload(new float[54]), dy = upload(new float[75]);
        VirtualGpu.setFaults("cudnn:1");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> dnn.forward(1f, x, dx, w, dw, conv, 0, 0, 0, 0f, y, dy));
        assertTrue(e.getMessage().contains("cudnnConvolutionForward") && e.getMessage().contains("CUDNN_STATUS_EXECUTION_FAILED"), e.getMessage());
        VirtualGpu.setFaults("cublas:1");
        IllegalStateException f = assertThrows(IllegalStateException.class,
                () -> blas.sgemm(false, false, 2, 2, 2, 1f, dx, 2, dw, 2, 0f, dy, 2));
        assertTrue(f.getMessage().contains("cublasSgemm") && f.getMessage().contains("CUBLAS_STATUS_EXECUTION_FAILED"), f.getMessage());
    }
}
