package dev.jgan.nn;

import dev.jgan.backend.Backend;
import dev.jgan.nn.Activation.Tanh;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Spectrally normalised layers: the normalised weight's largest singular value is 1 (against a
 * plain-Java power iteration in double), training forwards iterate and inference forwards do not,
 * u and v are checkpoint buffers under PyTorch's names, the initial weights do not move, and the
 * backward matches central finite differences of the inference forward (u, v fixed: exactly the
 * function whose gradient the backward computes, as PyTorch's).
 */
class SpectralNormTest {
    /**
     * Central-difference step of LayerGradientTest, whose tolerances (expectClose) hold here too:
     * w / sigma(w) is smooth with sigma of order 1, and dropping the gradient's (g . wsn) u v^T
     * term moves it by ~0.1 or more.
     */
    private static final float H = LayerGradientTest.H;
    /** sigma after 40 float iterations against 2000 in double, for a matrix with a singular-value gap of 3 to 1. */
    private static final double SIGMA_RTOL = 1e-4;

    record Case(Supplier<Layer> layer, Shape in) {}

    static Stream<Arguments> layers() {
        List<Arguments> out = new ArrayList<>();
        TestBackends.all().forEach(b -> {
            add(out, b, "Dense 7->5", () -> new Dense(7, 5), Shape.of(3, 7));
            add(out, b, "Conv2d 3->4 3x3 s1 p1", () -> new Conv2d(3, 4, 3, 1, 1, true), Shape.of(2, 3, 5, 4));
            add(out, b, "ConvTranspose2d 3->2 4x4 s2 p1", () -> new ConvTranspose2d(3, 2, 4, 2, 1, 0, false), Shape.of(2, 3, 3, 3));
        });
        return out.stream();
    }

    private static void add(List<Arguments> out, Backend b, String name, Supplier<Layer> layer, Shape in) {
        out.add(Arguments.of(Named.of(b.name(), b), Named.of(name, new Case(layer, in))));
    }

    @ParameterizedTest(name = "{1} on {0}")
    @MethodSource("layers")
    void backwardMatchesFiniteDifferences(Backend b, Case c) {
        Sequential net = new Sequential("t", List.of(c.layer().get().spectralNormalized()))
                .build(b, c.in(), Init.GLOROT_UNIFORM, new RngStream(5, 0));
        float[] x = LayerGradientTest.random(c.in().intSize(), 21, 1f), r = LayerGradientTest.random(net.outShape().intSize(), 23, 1f);
        Tensor xt = b.fromHost(x, c.in()), rt = b.fromHost(r, net.outShape());
        net.forward(xt, false);
        float[] dx = net.backward(rt, GradMode.WRITE, true).toHost();
        Parameter weight = net.parameters().getFirst();
        float[] dw = weight.grad().toHost(), w = weight.value().toHost();
        for (int j = 0; j < w.length; j += Math.max(1, w.length / 40)) {
            float keep = w[j], up = keep + H, down = keep - H;
            w[j] = up;
            b.copyFromHost(w, weight.value());
            double lp = loss(net, xt, r);
            w[j] = down;
            b.copyFromHost(w, weight.value());
            double lm = loss(net, xt, r);
            w[j] = keep;
            b.copyFromHost(w, weight.value());
            LayerGradientTest.expectClose("dw[" + j + "]", (lp - lm) / ((double) up - down), dw[j]);
        }
        for (int j = 0; j < x.length; j += Math.max(1, x.length / 20)) {
            float keep = x[j];
            x[j] = keep + H;
            b.copyFromHost(x, xt);
            double lp = loss(net, xt, r);
            x[j] = keep - H;
            b.copyFromHost(x, xt);
            double lm = loss(net, xt, r);
            x[j] = keep;
            b.copyFromHost(x, xt);
            LayerGradientTest.expectClose("dx[" + j + "]", (lp - lm) / ((double) (keep + H) - (keep - H)), dx[j]);
        }
    }

    /**
     * By hand: w = diag(3, 1) with u = v = e1 (its top singular vectors) gives sigma = 3 and
     * wsn = diag(1, 1/3); for g = ones, g . wsn = 4/3 and dw = (g - 4/3 e1 e1^T) / 3 =
     * [[-1/9, 1/3], [1/3, 1/3]], added to dw = 1 with accumulate. An update from u = (1, 1) keeps
     * sigma at 3 only in the limit: one iteration gives v = (3, 1)/sqrt(10), M v = (9, 1)/sqrt(10),
     * sigma = |M v| = sqrt(82/10).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void aDiagonalWeightByHand(Backend b) {
        Tensor w = b.fromHost(new float[] {3, 0, 0, 1}, Shape.of(2, 2)), wsn = b.allocate(Shape.of(2, 2));
        Tensor u = b.fromHost(new float[] {1, 0}, Shape.of(2)), v = b.fromHost(new float[] {1, 0}, Shape.of(2));
        Tensor work = b.allocate(Shape.of(4)), dw = b.fromHost(new float[] {1, 1, 1, 1}, Shape.of(2, 2));
        b.spectralNorm(w, 0, u, v, false, wsn, work);
        assertEquals(3f, work.toHost()[0], 0f, "sigma");
        assertArrayEquals(new float[] {1, 0, 0, 1f / 3}, wsn.toHost(), 1e-7f, "wsn");
        b.spectralNormBackward(b.fromHost(new float[] {1, 1, 1, 1}, Shape.of(2, 2)), wsn, 0, u, v, work, dw, true);
        assertArrayEquals(new float[] {1 - 1f / 9, 1 + 1f / 3, 1 + 1f / 3, 1 + 1f / 3}, dw.toHost(), 1e-6f, "dw += (g - (g . wsn) u v^T) / sigma");
        b.copyFromHost(new float[] {1, 1}, u);
        b.spectralNorm(w, 0, u, v, true, wsn, work);
        assertEquals(Math.sqrt(8.2), work.toHost()[0], 1e-6, "sigma after one iteration from u = (1, 1)");
        assertArrayEquals(new float[] {(float) (3 / Math.sqrt(10)), (float) (1 / Math.sqrt(10))}, v.toHost(), 1e-7f, "v");
        assertArrayEquals(new float[] {(float) (9 / Math.sqrt(82)), (float) (1 / Math.sqrt(82))}, u.toHost(), 1e-7f, "u");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void theNormalisedWeightHasLargestSingularValueOne(Backend b) {
        int in = 6, out = 4;
        Sequential net = new Sequential("t", List.of(new Dense(in, out, false).spectralNormalized()))
                .build(b, Shape.of(in, in), Init.GLOROT_UNIFORM, new RngStream(9, 0));
        // W = 3 a b^T + 1 c d^T + noise-free rest: largest singular value 3 along non-axis directions
        double[][] w = new double[out][in];
        double[] a = unit(1, 2, -1, 1), c = unit(1, -1, 0, 1), bb = unit(1, 0, 2, 0, -1, 1), d = unit(0, 1, 0, 1, 0, 0);
        for (int i = 0; i < out; i++) for (int j = 0; j < in; j++) w[i][j] = 3 * a[i] * bb[j] + 1.0 * c[i] * d[j] + 0.1 * ((i + j) % 3);
        float[] flat = new float[out * in];
        for (int i = 0; i < out; i++) for (int j = 0; j < in; j++) flat[i * in + j] = (float) w[i][j];
        b.copyFromHost(flat, net.parameters().getFirst().value());
        float[] eye = new float[in * in];
        for (int i = 0; i < in; i++) eye[i * in + i] = 1f;
        Tensor x = b.fromHost(eye, Shape.of(in, in));
        float[] y = null;
        for (int k = 0; k < 40; k++) y = net.forward(x, true).toHost();   // y = I wsn^T: y[j, i] = wsn[i, j]
        double sigma = largestSingularValue(w);
        for (int i = 0; i < out; i++)
            for (int j = 0; j < in; j++)
                assertEquals(w[i][j] / sigma, y[j * out + i], SIGMA_RTOL * Math.abs(w[i][j] / sigma) + 1e-6,
                        "wsn[" + i + ", " + j + "] = w / sigma with sigma " + sigma);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void theVectorsAreBuffersUnderPyTorchsNames(Backend b) {
        Sequential net = new Sequential("t", List.of(new Dense(5, 3).spectralNormalized(), new Tanh()))
                .build(b, Shape.of(2, 5), Init.GLOROT_UNIFORM, new RngStream(3, 0));
        Sequential convT = new Sequential("c", List.of(new ConvTranspose2d(3, 2, 2, 1, 0, 0, false).spectralNormalized()))
                .build(b, Shape.of(2, 3, 2, 2), Init.GLOROT_UNIFORM, new RngStream(3, 0));
        assertEquals(List.of("t.0.weight_u", "t.0.weight_v"), List.copyOf(net.buffers().keySet()));
        assertEquals(3, net.buffers().get("t.0.weight_u").size(), "u: one per output feature");
        assertEquals(5, net.buffers().get("t.0.weight_v").size());
        assertEquals(2, convT.buffers().get("c.0.weight_u").size(), "a transposed convolution's rows are its output channels (dim 1)");
        assertEquals(3 * 2 * 2, convT.buffers().get("c.0.weight_v").size());
        // from N(0, 1) draws and 15 iterations: unit vectors already
        float[] u = net.buffers().get("t.0.weight_u").toHost();
        double norm = 0;
        for (float e : u) norm += e * e;
        assertEquals(1, norm, 1e-5, "u is a unit vector after the initial iterations");
    }

    @Test
    void inferenceLeavesTheVectorsAndTrainingMovesThem() {
        Backend b = TestBackends.cpu();
        Sequential net = new Sequential("t", List.of(new Dense(5, 3).spectralNormalized()))
                .build(b, Shape.of(2, 5), Init.GLOROT_UNIFORM, new RngStream(3, 0));
        Tensor x = b.fromHost(LayerGradientTest.random(10, 1, 1f), Shape.of(2, 5));
        Tensor weight = net.parameters().getFirst().value();
        b.copyFromHost(LayerGradientTest.random(15, 2, 1f), weight);   // a new weight: the old u, v are no longer its singular vectors
        float[] v0 = net.buffers().get("t.0.weight_v").toHost();
        net.forward(x, false);
        assertArrayEquals(v0, net.buffers().get("t.0.weight_v").toHost(), 0f, "an inference forward runs no iteration");
        net.forward(x, true);
        assertFalse(java.util.Arrays.equals(v0, net.buffers().get("t.0.weight_v").toHost()), "a training forward runs one");
    }

    @Test
    void theInitialWeightsDoNotDependOnSpectralNorm() {
        Backend b = TestBackends.cpu();
        Sequential plain = new Sequential("t", List.of(new Dense(4, 6), new Dense(6, 2))).build(b, Shape.of(2, 4),
                Init.GLOROT_UNIFORM, new RngStream(3, 0));
        Sequential sn = new Sequential("t", List.of(new Dense(4, 6).spectralNormalized(), new Dense(6, 2).spectralNormalized()))
                .build(b, Shape.of(2, 4), Init.GLOROT_UNIFORM, new RngStream(3, 0));
        for (int i = 0; i < plain.parameters().size(); i++)
            assertArrayEquals(plain.parameters().get(i).value().toHost(), sn.parameters().get(i).value().toHost(), 0f,
                    plain.parameters().get(i).name());
        assertFalse(java.util.Arrays.equals(sn.buffers().get("t.0.weight_u").toHost(), sn.buffers().get("t.1.weight_u").toHost()),
                "each layer draws its own vectors");
        assertThrows(IllegalArgumentException.class, () -> new Tanh().spectralNormalized(), "a layer without a weight");
    }

    private static double loss(Sequential net, Tensor xt, float[] r) {
        float[] y = net.forward(xt, false).toHost();
        double s = 0;
        for (int i = 0; i < y.length; i++) s += (double) r[i] * y[i];
        return s;
    }

    private static double[] unit(double... x) {
        double n = 0;
        for (double e : x) n += e * e;
        n = Math.sqrt(n);
        for (int i = 0; i < x.length; i++) x[i] /= n;
        return x;
    }

    /** The reference: 2000 power iterations on W^T W in double. */
    private static double largestSingularValue(double[][] w) {
        int rows = w.length, cols = w[0].length;
        double[] v = new double[cols];
        java.util.Arrays.fill(v, 1);
        double sigma = 0;
        for (int it = 0; it < 2000; it++) {
            double[] mv = new double[rows];
            for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) mv[i] += w[i][j] * v[j];
            double[] wt = new double[cols];
            for (int j = 0; j < cols; j++) for (int i = 0; i < rows; i++) wt[j] += w[i][j] * mv[i];
            double n = 0;
            for (double e : wt) n += e * e;
            n = Math.sqrt(n);
            for (int j = 0; j < cols; j++) v[j] = wt[j] / n;
            sigma = Math.sqrt(n);
        }
        return sigma;
    }
}
