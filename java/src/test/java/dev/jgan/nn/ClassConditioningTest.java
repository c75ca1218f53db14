package dev.jgan.nn;

import dev.jgan.backend.Backend;
import dev.jgan.gan.GanModel;
import dev.jgan.nn.Activation.Tanh;
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
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The class-conditioning layers: {@link ClassEmbedding} and {@link ClassHead} (plain, projection,
 * auxiliary classifier) against central finite differences of their forward, for x and every
 * parameter, with the classes of the items fixed; and their forward against the definitions in
 * plain Java (a one-hot joined to a dense layer's input; the projection's inner product with the
 * asked class's row). The scalar probed is L = r . y (+ q . C, the class logits, with the
 * classifier), so dL/dy = r and dL/dC = q are what backward is given. Tolerances are
 * LayerGradientTest's ({@link LayerGradientTest#expectClose}): the layers are linear in x and in
 * each parameter, and the Tanh in front of the head only adds the curvature those tolerances allow for.
 */
class ClassConditioningTest {
    private static final float H = LayerGradientTest.H;
    private static final int K = 4;
    /** The forward against plain Java: a few float roundings of sums of at most 12 terms of order 1. */
    private static final double FORWARD_ATOL = 1e-5;

    record Case(Supplier<List<Layer>> layers, Shape in) {}

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TestBackends.all().forEach(b -> {
            add(out, b, "Dense 6->5 + ClassEmbedding", () -> List.of(new Dense(6, 5), new ClassEmbedding(K, 5)), Shape.of(5, 6));
            add(out, b, "Conv2d + ClassEmbedding over the map", () -> List.of(new Conv2d(2, 3, 3, 1, 1, true), new ClassEmbedding(K, 3)),
                    Shape.of(3, 2, 4, 3));
            add(out, b, "Tanh + ClassHead", () -> List.of(new Tanh(), new ClassHead(7, K, false)), Shape.of(6, 7));
            add(out, b, "Tanh + ClassHead projection", () -> List.of(new Tanh(), new ClassHead(7, K, true)), Shape.of(6, 7));
            add(out, b, "Tanh + ClassHead projection + auxiliary", () -> List.of(new Tanh(), new ClassHead(7, K, true).auxiliary()),
                    Shape.of(6, 7));
            add(out, b, "ClassEmbedding + Tanh + ClassHead auxiliary", () -> List.of(new ClassEmbedding(K, 7), new Tanh(),
                    new ClassHead(7, K, false).auxiliary()), Shape.of(5, 7));
        });
        return out.stream();
    }

    private static void add(List<Arguments> out, Backend b, String name, Supplier<List<Layer>> layers, Shape in) {
        out.add(Arguments.of(Named.of(b.name(), b), Named.of(name, new Case(layers, in))));
    }

    /** Item i's class: every class appears, not in order. */
    private static int[] labels(int n) {
        int[] l = new int[n];
        for (int i = 0; i < n; i++) l[i] = (3 * i + 1) % K;
        return l;
    }

    private static Tensor oneHot(Backend b, int[] labels) {
        float[] h = new float[labels.length * K];
        GanModel.oneHot(labels, K, h);
        return b.fromHost(h, Shape.of(labels.length, K));
    }

    @ParameterizedTest(name = "{1} on {0}")
    @MethodSource("cases")
    void backwardMatchesFiniteDifferences(Backend b, Case c) {
        Sequential net = new Sequential("t", c.layers().get()).build(b, c.in(), Init.GLOROT_UNIFORM, new RngStream(7, 0));
        int n = c.in().dim(0);
        net.useClasses(oneHot(b, labels(n)));
        assertEquals(K, net.classes());
        ClassHead head = net.layers().getLast() instanceof ClassHead h && h.hasAuxiliary() ? h : null;
        float[] x = LayerGradientTest.random(c.in().intSize(), 11, 1f);
        float[] r = LayerGradientTest.random(net.outShape().intSize(), 13, 1f);
        float[] q = head == null ? null : LayerGradientTest.random(n * K, 17, 1f);
        Tensor xt = b.fromHost(x, c.in()), rt = b.fromHost(r, net.outShape());

        net.forward(xt, true);
        if (head != null) b.copyFromHost(q, head.classGradient());
        float[] dx = net.backward(rt, GradMode.WRITE, true).toHost();
        List<float[]> dParams = new ArrayList<>();
        for (Parameter p : net.parameters()) dParams.add(p.grad().toHost());

        for (int j = 0; j < x.length; j++) {
            float keep = x[j];
            x[j] = keep + H;
            double lp = loss(net, b, x, xt, r, head, q);
            x[j] = keep - H;
            double lm = loss(net, b, x, xt, r, head, q);
            x[j] = keep;
            LayerGradientTest.expectClose("dx[" + j + "]", (lp - lm) / (2.0 * H), dx[j]);
        }
        b.copyFromHost(x, xt);
        for (int pi = 0; pi < net.parameters().size(); pi++) {
            Parameter p = net.parameters().get(pi);
            float[] w = p.value().toHost();
            for (int j = 0; j < w.length; j++) {
                float keep = w[j];
                w[j] = keep + H;
                b.copyFromHost(w, p.value());
                double lp = loss(net, b, x, xt, r, head, q);
                w[j] = keep - H;
                b.copyFromHost(w, p.value());
                double lm = loss(net, b, x, xt, r, head, q);
                w[j] = keep;
                b.copyFromHost(w, p.value());
                LayerGradientTest.expectClose(p.name() + "[" + j + "]", (lp - lm) / (2.0 * H), dParams.get(pi)[j]);
            }
        }
    }

    private static double loss(Sequential net, Backend b, float[] x, Tensor xt, float[] r, ClassHead head, float[] q) {
        b.copyFromHost(x, xt);
        float[] y = net.forward(xt, true).toHost();
        double s = 0;
        for (int i = 0; i < y.length; i++) s += (double) r[i] * y[i];
        if (head != null) {
            float[] cl = head.classLogits().toHost();
            for (int i = 0; i < cl.length; i++) s += (double) q[i] * cl[i];
        }
        return s;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void anEmbeddedClassIsTheOneHotJoinedToTheDenseLayersInput(Backend b) {
        int n = 5, in = 6, out = 3;
        Sequential net = new Sequential("t", List.of(new Dense(in, out), new ClassEmbedding(K, out)))
                .build(b, Shape.of(n, in), Init.GLOROT_UNIFORM, new RngStream(3, 0));
        int[] labels = labels(n);
        net.useClasses(oneHot(b, labels));
        float[] x = LayerGradientTest.random(n * in, 5, 1f);
        float[] y = net.forward(b.fromHost(x, Shape.of(n, in)), false).toHost();
        float[] w = net.parameters().get(0).value().toHost(), bias = net.parameters().get(1).value().toHost();
        float[] e = net.parameters().get(2).value().toHost();
        for (int i = 0; i < n; i++)
            for (int o = 0; o < out; o++) {
                double want = bias[o];
                for (int f = 0; f < in; f++) want += (double) x[i * in + f] * w[o * in + f];
                for (int k = 0; k < K; k++) want += (k == labels[i] ? 1.0 : 0.0) * e[k * out + o];   // [x, onehot] W'
                assertEquals(want, y[i * out + o], FORWARD_ATOL, "item " + i + ", output " + o);
            }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void theProjectionIsTheInnerProductWithTheAskedClasssEmbedding(Backend b) {
        int n = 6, f = 5;
        ClassHead head = new ClassHead(f, K, true);
        Sequential net = new Sequential("t", List.of(head)).build(b, Shape.of(n, f), Init.GLOROT_UNIFORM, new RngStream(4, 0));
        int[] labels = labels(n);
        net.useClasses(oneHot(b, labels));
        float[] x = LayerGradientTest.random(n * f, 6, 1f);
        float[] y = net.forward(b.fromHost(x, Shape.of(n, f)), false).toHost();
        float[] w = head.parameters().get(0).value().toHost(), bias = head.parameters().get(1).value().toHost();
        float[] e = head.parameters().get(2).value().toHost();
        assertEquals("embed", head.parameters().get(2).name());
        for (int i = 0; i < n; i++) {
            double want = bias[0];
            for (int j = 0; j < f; j++) want += (double) x[i * f + j] * (w[j] + e[labels[i] * f + j]);
            assertEquals(want, y[i], FORWARD_ATOL, "item " + i);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void classesOfTheWrongShapeAreRefused(Backend b) {
        Sequential net = new Sequential("t", List.of(new ClassEmbedding(K, 3))).build(b, Shape.of(2, 3), Init.GLOROT_UNIFORM,
                new RngStream(1, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> net.useClasses(b.allocate(Shape.of(2, K + 1))));
        assertEquals("ClassEmbedding(4 classes -> 3) needs one-hot classes (N, K) = (2, 4), got (2, 5)", e.getMessage());
    }
}
