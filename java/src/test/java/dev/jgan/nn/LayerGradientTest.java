package dev.jgan.nn;

import dev.jgan.backend.Backend;
import dev.jgan.nn.Activation.LeakyReLU;
import dev.jgan.nn.Activation.ReLU;
import dev.jgan.nn.Activation.Sigmoid;
import dev.jgan.nn.Activation.Tanh;
import dev.jgan.random.Philox;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every layer's backward against central finite differences of its forward. The scalar probed is
 * L = sum_i r_i * y_i for a fixed random r, so dL/dy = r is fed to the backward; the analytic dx
 * and parameter gradients must match (L(x + h e_j) - L(x - h e_j)) / 2h, with L summed in double.
 */
class LayerGradientTest {
    /** Step of the central difference: large enough that float rounding of y (~1e-7 |y|) stays below 1e-4 of the slope. */
    static final float H = 1e-2f;
    /** Absolute tolerance: the O(h^2) truncation of tanh/sigmoid/BN curvature at h = 1e-2, plus float rounding. */
    private static final double ATOL = 2e-3;
    /** Relative tolerance, for the larger gradients of BN and wide dense layers. */
    private static final double RTOL = 1e-2;
    /** Dropout draws from this stream, rewound before every forward. */
    private static final long NOISE_SEED = 17;
    /** At most one probe in this many may be skipped for straddling a kink. */
    private static final int MAX_KINK_SHARE = 4;
    /** Coordinates probed per tensor: enough to cover rows, columns and channels, few enough to stay fast. */
    private static final int PROBES = 24;

    record Case(Supplier<List<Layer>> layers, Shape in) {}

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TestBackends.all().forEach(b -> {
            add(out, b, "Dense 7->5", () -> List.of(new Dense(7, 5)), Shape.of(3, 7));
            add(out, b, "Dense no bias 13->4", () -> List.of(new Dense(13, 4, false)), Shape.of(5, 13));
            add(out, b, "LeakyReLU 0.2", () -> List.of(new LeakyReLU(0.2f)), Shape.of(4, 9));
            add(out, b, "ReLU", () -> List.of(new ReLU()), Shape.of(4, 9));
            add(out, b, "Tanh", () -> List.of(new Tanh()), Shape.of(3, 11));
            add(out, b, "Sigmoid", () -> List.of(new Sigmoid()), Shape.of(3, 11));
            add(out, b, "BatchNorm1d", () -> List.of(new BatchNorm(6, 0.2f, 1e-3f)), Shape.of(8, 6));
            add(out, b, "BatchNorm2d", () -> List.of(new BatchNorm(3, 0.1f, 1e-5f)), Shape.of(4, 3, 3, 2));
            add(out, b, "Reshape+Flatten", () -> List.of(new Reshape(2, 3, 2), new Flatten(), new Dense(12, 3)), Shape.of(2, 12));
            add(out, b, "Conv2d 3->4 3x3 s1 p1", () -> List.of(new Conv2d(3, 4, 3, 1, 1, true)), Shape.of(2, 3, 5, 6));
            add(out, b, "Conv2d 2->3 4x4 s2 p1 no bias", () -> List.of(new Conv2d(2, 3, 4, 2, 1, false)), Shape.of(2, 2, 7, 8));
            add(out, b, "Conv2d 1->2 5x5 s2 p2", () -> List.of(new Conv2d(1, 2, 5, 2, 2, true)), Shape.of(1, 1, 9, 9));
            add(out, b, "ConvTranspose2d 3->2 5x5 s2 p2 op1", () -> List.of(new ConvTranspose2d(3, 2, 5, 2, 2, 1, false)), Shape.of(2, 3, 4, 3));
            add(out, b, "ConvTranspose2d 4->3 4x4 s1 p0 bias", () -> List.of(new ConvTranspose2d(4, 3, 4, 1, 0, 0, true)), Shape.of(2, 4, 1, 1));
            add(out, b, "ConvTranspose2d 2->2 4x4 s2 p1", () -> List.of(new ConvTranspose2d(2, 2, 4, 2, 1, 0, false)), Shape.of(1, 2, 3, 3));
            add(out, b, "Dropout 0.3", () -> List.of(new Dropout(0.3f)), Shape.of(4, 13));
            add(out, b, "MaxPool2d odd 5x7", () -> List.of(new MaxPool2d()), Shape.of(2, 3, 5, 7));
            add(out, b, "Conv2d+ReLU+MaxPool2d+Flatten+Dense (the classifier's block)", () -> List.of(new Conv2d(1, 3, 5, 1, 2, true),
                    new ReLU(), new MaxPool2d(), new Flatten(), new Dense(3 * 3 * 3, 4)), Shape.of(2, 1, 6, 6));
            // Tanh, not ReLU, after batch norm: BN centres its outputs on 0, where a ReLU's kink is
            // crossed by many outputs at once and no difference quotient is valid; kinks are checked alone above.
            add(out, b, "ConvT+BN2d+Tanh+Conv+Dropout+Flatten+Dense", () -> List.of(new ConvTranspose2d(2, 3, 4, 2, 1, 0, false),
                    new BatchNorm(3, 0.1f, 1e-5f), new Tanh(), new Conv2d(3, 2, 3, 2, 1, true), new Dropout(0.25f),
                    new Flatten(), new Dense(2 * 3 * 3, 2)), Shape.of(3, 2, 3, 3));
            add(out, b, "Dense+LeakyReLU+BN+Dense+Tanh", () -> List.of(new Dense(10, 8), new LeakyReLU(0.2f),
                    new BatchNorm(8, 0.2f, 1e-3f), new Dense(8, 4), new Tanh()), Shape.of(6, 10));
        });
        return out.stream();
    }

    private static void add(List<Arguments> out, Backend b, String name, Supplier<List<Layer>> layers, Shape in) {
        out.add(Arguments.of(Named.of(b.name(), b), Named.of(name, new Case(layers, in))));
    }

    @ParameterizedTest(name = "{1} on {0}")
    @MethodSource("cases")
    void backwardMatchesFiniteDifferences(Backend b, Case c) {
        Sequential net = new Sequential("t", c.layers().get()).build(b, c.in(), Init.GLOROT_UNIFORM, new RngStream(7, 0));
        float[] x = random(c.in().intSize(), 11, 1f);
        nudgeAwayFromKinks(x);
        float[] r = random(net.outShape().intSize(), 13, 1f);
        Tensor xt = b.fromHost(x, c.in());
        Tensor rt = b.fromHost(r, net.outShape());

        net.setNoise(new RngStream(NOISE_SEED, 0));
        net.forward(xt, true);
        float[] dx = net.backward(rt, GradMode.WRITE, true).toHost();
        List<float[]> dParams = new ArrayList<>();
        for (Parameter p : net.parameters()) dParams.add(p.grad().toHost());

        int[] kinks = {0, 0};   // probes skipped, probes made
        for (int j : probes(x.length)) {
            final int jj = j;
            check("dx[" + j + "]", dx[j], kinks, h -> {
                float keep = x[jj], up = (float) (keep + h), down = (float) (keep - h);
                x[jj] = up;
                double lp = loss(net, b, x, xt, r);
                x[jj] = down;
                double lm = loss(net, b, x, xt, r);
                x[jj] = keep;
                return (lp - lm) / ((double) up - down);
            });
        }
        b.copyFromHost(x, xt);
        for (int pi = 0; pi < net.parameters().size(); pi++) {
            Parameter p = net.parameters().get(pi);
            float[] w = p.value().toHost();
            for (int j : probes(w.length)) {
                final int jj = j;
                check(p.name() + "[" + j + "]", dParams.get(pi)[j], kinks, h -> {
                    float keep = w[jj], up = (float) (keep + h), down = (float) (keep - h);
                    w[jj] = up;
                    b.copyFromHost(w, p.value());
                    double lp = loss(net, b, x, xt, r);
                    w[jj] = down;
                    b.copyFromHost(w, p.value());
                    double lm = loss(net, b, x, xt, r);
                    w[jj] = keep;
                    b.copyFromHost(w, p.value());
                    return (lp - lm) / ((double) up - down);
                });
            }
        }
        assertTrue(kinks[0] * MAX_KINK_SHARE <= kinks[1],
                kinks[0] + " of " + kinks[1] + " probes straddled a kink: too many to trust the check");
    }

    /**
     * Compares the analytic derivative with the central difference at H. Where the differences
     * at H and H/4 disagree, the interval straddles a LeakyReLU kink inside the network (the
     * function is not smooth there, so no difference quotient is valid): the probe is skipped and
     * counted instead.
     */
    private static void check(String what, float analytic, int[] kinks, DoubleUnaryOperator fdAt) {
        kinks[1]++;
        double fd = fdAt.applyAsDouble(H), fine = fdAt.applyAsDouble(H / 4);
        if (Math.abs(fd - fine) > ATOL + RTOL * Math.abs(fine)) {
            kinks[0]++;
            return;
        }
        expectClose(what, fd, analytic);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void accumulateAddsAndSkipLeavesParameterGradientsAlone(Backend b) {
        Sequential net = new Sequential("t", List.of(new Dense(5, 4), new LeakyReLU(0.2f), new Dense(4, 2)))
                .build(b, Shape.of(3, 5), Init.GLOROT_UNIFORM, new RngStream(3, 0));
        Tensor x = b.fromHost(random(15, 5, 1f), Shape.of(3, 5));
        Tensor dy = b.fromHost(random(6, 6, 1f), Shape.of(3, 2));
        net.forward(x, true);
        assertNull(net.backward(dy, GradMode.WRITE, false), "no input gradient was asked for");
        float[] once = net.parameters().get(0).grad().toHost();
        net.backward(dy, GradMode.ACCUMULATE, false);
        float[] twice = net.parameters().get(0).grad().toHost();
        net.backward(dy, GradMode.SKIP, true);
        float[] skipped = net.parameters().get(0).grad().toHost();
        for (int i = 0; i < once.length; i++) {
            assertEquals(2 * once[i], twice[i], 1e-6 + 1e-6 * Math.abs(once[i]), "ACCUMULATE adds the second batch, index " + i);
            assertEquals(twice[i], skipped[i], 0.0, "SKIP leaves the gradient untouched, index " + i);
        }
    }

    private static double loss(Sequential net, Backend b, float[] x, Tensor xt, float[] r) {
        b.copyFromHost(x, xt);
        net.setNoise(new RngStream(NOISE_SEED, 0));   // the same dropout mask as the analytic pass
        float[] y = net.forward(xt, true).toHost();
        double s = 0;
        for (int i = 0; i < y.length; i++) s += (double) r[i] * y[i];
        return s;
    }

    static void expectClose(String what, double fd, float analytic) {
        if (Math.abs(fd - analytic) > ATOL + RTOL * Math.abs(fd))
            fail(what + ": finite difference " + fd + ", backward " + analytic + " (diff " + Math.abs(fd - analytic) + ")");
    }

    /** Keeps inputs at least 2h from 0, where ReLU-type kinks would spoil the central difference. */
    private static void nudgeAwayFromKinks(float[] x) {
        for (int i = 0; i < x.length; i++) if (Math.abs(x[i]) < 3 * H) x[i] = x[i] < 0 ? -0.1f : 0.1f;
    }

    static float[] random(int n, long seed, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = scale * Philox.normalAt(seed, 0, i);
        return a;
    }

    private static int[] probes(int n) {
        if (n <= PROBES) {
            int[] all = new int[n];
            for (int i = 0; i < n; i++) all[i] = i;
            return all;
        }
        int[] p = new int[PROBES];
        for (int i = 0; i < PROBES; i++) p[i] = (int) ((long) i * (n - 1) / (PROBES - 1));
        return p;
    }
}
