package dev.jgan.cuda;

import dev.jgan.backend.ConvGeometry;
import dev.jgan.cuda.emulated.EmulatedDnn;
import dev.jgan.cuda.emulated.EmulatedMemory;
import dev.jgan.tensor.Shape;
import dev.jgan.check.Reference;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The emulated DNN ({@link EmulatedDnn}), both of its algorithms, against the plain-Java reference
 * convolutions ({@link Reference}) with cuDNN's alpha/beta blending, on the cases that expose the
 * classic mistakes: non-square images and kernels with different strides and paddings per axis
 * (a swapped H/W or R/S shows), stride 2 with padding, a dx larger than the minimum (output
 * padding: the extra rows are blended as zero gradient), the data gradient of a transposed
 * convolution (the DCGAN generator's shapes), beta != 0 (output read and blended) and beta 0
 * over NaN (output not read); and the contract's checks: the workspace size, a descriptor of the
 * wrong size, find's undefined output.
 */
class EmulatedDnnTest {
    /** The reference sums in double; im2col + sgemm in float over C R S <= 200 products: 1e-5 relative, 1e-5 absolute. */
    private static final double RTOL = 1e-5, ATOL = 1e-5;
    private static final float ALPHA = 0.75f;

    private final EmulatedMemory memory = new EmulatedMemory();
    private final EmulatedDnn dnn = new EmulatedDnn(memory);

    @AfterEach void free() { memory.close(); }

    /** (x shape, w shape, geometry): image (N, C, H, W), filter (K, C, R, S). */
    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        Object[][] shapes = {
                {Shape.of(2, 3, 9, 7), Shape.of(4, 3, 3, 2), new ConvGeometry(2, 1, 1, 0)},   // non-square, per-axis stride/pad
                {Shape.of(2, 3, 8, 8), Shape.of(5, 3, 4, 4), ConvGeometry.of(2, 1)},           // DCGAN's stride 2, pad 1
                {Shape.of(1, 2, 5, 6), Shape.of(3, 2, 5, 5), new ConvGeometry(1, 2, 2, 2)},    // 5x5, pad 2
                {Shape.of(3, 4, 1, 1), Shape.of(2, 4, 1, 1), ConvGeometry.of(1, 0)},           // a dense layer
        };
        for (Object[] s : shapes)
            for (int algo : new int[] {EmulatedDnn.DIRECT, EmulatedDnn.IM2COL})
                for (float beta : new float[] {0f, 0.5f}) out.add(Arguments.of(s[0], s[1], s[2], algo, beta));
        return out.stream();
    }

    @ParameterizedTest(name = "x {0} w {1} {2} algo {3} beta {4}")
    @MethodSource("cases")
    void forward(Shape xs, Shape ws, ConvGeometry g, int algo, float beta) {
        Shape ys = Shape.of(xs.dim(0), ws.dim(0), g.outH(xs.dim(2), ws.dim(2)), g.outW(xs.dim(3), ws.dim(3)));
        float[] x = TestData.uniform(1, xs.intSize(), -1f, 1f), w = TestData.uniform(2, ws.intSize(), -1f, 1f);
        float[] old = initial(beta, ys.intSize()), expected = new float[ys.intSize()];
        Reference.conv2dForward(x, xs, w, ws, expected, ys, g);
        blend(expected, old, beta);
        Dnn.Problem p = problem(Dnn.Direction.FORWARD, xs, ws, g, ys);
        long y = upload(old), workspace = workspace(p, algo);
        dnn.forward(ALPHA, p.x(), upload(x), p.w(), upload(w), p.conv(), algo, workspace, dnn.workspaceSize(p, algo), beta, p.y(), y);
        check("forward", expected, download(y, ys.intSize()));
    }

    @ParameterizedTest(name = "x {0} w {1} {2} algo {3} beta {4}")
    @MethodSource("cases")
    void backwardDataWithOutputPadding(Shape xs, Shape ws, ConvGeometry g, int algo, float beta) {
        Shape ys = Shape.of(xs.dim(0), ws.dim(0), g.outH(xs.dim(2), ws.dim(2)), g.outW(xs.dim(3), ws.dim(3)));
        // dx one row and column larger wherever the forward output stays ys (output padding)
        int extraH = g.outH(xs.dim(2) + 1, ws.dim(2)) == ys.dim(2) ? 1 : 0, extraW = g.outW(xs.dim(3) + 1, ws.dim(3)) == ys.dim(3) ? 1 : 0;
        Shape dxs = Shape.of(xs.dim(0), xs.dim(1), xs.dim(2) + extraH, xs.dim(3) + extraW);
        if (xs.equals(Shape.of(2, 3, 8, 8))) assertEquals(Shape.of(2, 3, 9, 9), dxs, "the DCGAN case has output padding");
        float[] dy = TestData.uniform(3, ys.intSize(), -1f, 1f), w = TestData.uniform(4, ws.intSize(), -1f, 1f);
        float[] old = initial(beta, dxs.intSize()), expected = new float[dxs.intSize()];
        Reference.conv2dBackwardData(dy, ys, w, ws, expected, dxs, g);
        blend(expected, old, beta);
        Dnn.Problem p = problem(Dnn.Direction.BACKWARD_DATA, dxs, ws, g, ys);
        long dx = upload(old), workspace = workspace(p, algo);
        dnn.backwardData(ALPHA, p.w(), upload(w), p.y(), upload(dy), p.conv(), algo, workspace, dnn.workspaceSize(p, algo), beta,
                p.x(), dx);
        check("backward data", expected, download(dx, dxs.intSize()));
    }

    @ParameterizedTest(name = "x {0} w {1} {2} algo {3} beta {4}")
    @MethodSource("cases")
    void backwardFilter(Shape xs, Shape ws, ConvGeometry g, int algo, float beta) {
        Shape ys = Shape.of(xs.dim(0), ws.dim(0), g.outH(xs.dim(2), ws.dim(2)), g.outW(xs.dim(3), ws.dim(3)));
        float[] x = TestData.uniform(5, xs.intSize(), -1f, 1f), dy = TestData.uniform(6, ys.intSize(), -1f, 1f);
        float[] old = initial(beta, ws.intSize()), expected = new float[ws.intSize()];
        Reference.conv2dBackwardFilter(x, xs, dy, ys, expected, ws, g, false);
        blend(expected, old, beta);
        Dnn.Problem p = problem(Dnn.Direction.BACKWARD_FILTER, xs, ws, g, ys);
        long dw = upload(old), workspace = workspace(p, algo);
        dnn.backwardFilter(ALPHA, p.x(), upload(x), p.y(), upload(dy), p.conv(), algo, workspace, dnn.workspaceSize(p, algo), beta,
                p.w(), dw);
        check("backward filter", expected, download(dw, ws.intSize()));
    }

    /**
     * The DCGAN generator's transposed convolutions run as backward data, with the transposed
     * weight (Cin, Cout, R, S) as the filter (K = Cin): (2, 16, 1, 1) -> (2, 8, 4, 4) at stride 1,
     * pad 0, and (2, 8, 4, 4) -> (2, 4, 8, 8) at stride 2, pad 1.
     */
    @Test
    void transposedConvolutionAsBackwardData() {
        Object[][] layers = {
                {Shape.of(2, 16, 1, 1), Shape.of(16, 8, 4, 4), ConvGeometry.of(1, 0), Shape.of(2, 8, 4, 4)},
                {Shape.of(2, 8, 4, 4), Shape.of(8, 4, 4, 4), ConvGeometry.of(2, 1), Shape.of(2, 4, 8, 8)},
        };
        for (Object[] l : layers) {
            Shape in = (Shape) l[0], ws = (Shape) l[1], out = (Shape) l[3];
            ConvGeometry g = (ConvGeometry) l[2];
            float[] x = TestData.uniform(7, in.intSize(), -1f, 1f), w = TestData.uniform(8, ws.intSize(), -1f, 1f);
            float[] expected = new float[out.intSize()];
            Reference.conv2dBackwardData(x, in, w, ws, expected, out, g);
            for (int algo : new int[] {EmulatedDnn.DIRECT, EmulatedDnn.IM2COL}) {
                Dnn.Problem p = problem(Dnn.Direction.BACKWARD_DATA, out, ws, g, in);
                long y = upload(nanArray(out.intSize()));
                dnn.backwardData(1f, p.w(), upload(w), p.y(), upload(x), p.conv(), algo, workspace(p, algo), dnn.workspaceSize(p, algo),
                        0f, p.x(), y);
                check("transposed " + in + " -> " + out + " algo " + algo, expected, download(y, out.intSize()));
            }
        }
    }

    @Test
    void workspaceQueryFindAndBadParameters() {
        Shape xs = Shape.of(2, 3, 8, 8), ws = Shape.of(5, 3, 4, 4), ys = Shape.of(2, 5, 4, 4);
        ConvGeometry g = ConvGeometry.of(2, 1);
        Dnn.Problem p = problem(Dnn.Direction.FORWARD, xs, ws, g, ys);
        assertEquals(0, dnn.workspaceSize(p, EmulatedDnn.DIRECT));
        assertEquals(4L * 3 * 4 * 4 * 4 * 4, dnn.workspaceSize(p, EmulatedDnn.IM2COL), "im2col columns: C R S x P Q floats");
        assertEquals(-1, dnn.workspaceSize(p, 7), "an algorithm that does not exist");

        long x = upload(TestData.uniform(1, xs.intSize(), -1f, 1f)), w = upload(TestData.uniform(2, ws.intSize(), -1f, 1f));
        long y = upload(new float[ys.intSize()]);
        long need = dnn.workspaceSize(p, EmulatedDnn.IM2COL), small = memory.allocate(need - 4);
        // a workspace one float short of the query
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> dnn.forward(1f, p.x(), x, p.w(), w, p.conv(),
                EmulatedDnn.IM2COL, small, need - 4, 0f, p.y(), y));
        assertTrue(e.getMessage().contains("workspace") && e.getMessage().contains("CUDNN_STATUS_BAD_PARAM"), e.getMessage());
        // y described with H and W swapped for a non-square output
        Dnn.TensorDesc wrong = new Dnn.TensorDesc(2, 5, 4, 3);
        e = assertThrows(IllegalArgumentException.class, () -> dnn.forward(1f, p.x(), x, p.w(), w, p.conv(), EmulatedDnn.DIRECT, 0, 0,
                0f, wrong, y));
        assertTrue(e.getMessage().contains("CUDNN_STATUS_BAD_PARAM") && e.getMessage().contains("(2, 5, 4, 4)"), e.getMessage());
        // the filter's C must be the image's
        assertThrows(IllegalArgumentException.class, () -> dnn.forward(1f, p.x(), x, new Dnn.FilterDesc(5, 2, 4, 4), w, p.conv(),
                EmulatedDnn.DIRECT, 0, 0, 0f, p.y(), y));

        // find: what fits the workspace, im2col first; the output is left undefined (NaN here)
        long big = memory.allocate(need);
        List<Dnn.Algo> found = dnn.find(p, x, w, y, big, need);
        assertEquals(List.of(EmulatedDnn.IM2COL, EmulatedDnn.DIRECT), found.stream().map(Dnn.Algo::id).toList());
        assertTrue(Float.isNaN(download(y, ys.intSize())[0]), "find overwrites the output");
        assertEquals(List.of(EmulatedDnn.DIRECT), dnn.find(p, x, w, y, 0, 0).stream().map(Dnn.Algo::id).toList());
    }

    // ---- helpers ---------------------------------------------------------------------------------

    private static Dnn.Problem problem(Dnn.Direction d, Shape xs, Shape ws, ConvGeometry g, Shape ys) {
        return new Dnn.Problem(d, new Dnn.TensorDesc(xs.dim(0), xs.dim(1), xs.dim(2), xs.dim(3)),
                new Dnn.FilterDesc(ws.dim(0), ws.dim(1), ws.dim(2), ws.dim(3)),
                new Dnn.ConvDesc(g.padH(), g.padW(), g.strideH(), g.strideW(), 1, 1),
                new Dnn.TensorDesc(ys.dim(0), ys.dim(1), ys.dim(2), ys.dim(3)));
    }

    /** A workspace of exactly the queried size (0 when none is needed). */
    private long workspace(Dnn.Problem p, int algo) {
        long bytes = dnn.workspaceSize(p, algo);
        return bytes == 0 ? 0 : memory.allocate(bytes);
    }

    /** The output's prior contents: NaN when beta is 0 (must not be read), else values to blend. */
    private static float[] initial(float beta, int n) {
        return beta == 0f ? nanArray(n) : TestData.uniform(9, n, -1f, 1f);
    }

    private static float[] nanArray(int n) {
        float[] a = new float[n];
        Arrays.fill(a, Float.NaN);
        return a;
    }

    /** expected = ALPHA expected + beta old (old not read when beta is 0), in double as the reference. */
    private static void blend(float[] expected, float[] old, float beta) {
        for (int i = 0; i < expected.length; i++)
            expected[i] = (float) (ALPHA * (double) expected[i] + (beta == 0f ? 0 : (double) beta * old[i]));
    }

    private long upload(float[] data) { return EmulatedBlasTest.upload(memory, data); }

    private float[] download(long address, int n) {
        float[] out = new float[n];
        memory.copyToHost(address, out, 0, n);
        return out;
    }

    private static void check(String what, float[] expected, float[] got) {
        for (int i = 0; i < expected.length; i++)
            if (!(Math.abs(got[i] - expected[i]) <= ATOL + RTOL * Math.abs(expected[i])))
                fail(what + "[" + i + "]: expected " + expected[i] + ", got " + got[i]);
    }
}
