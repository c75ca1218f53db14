package dev.jgan.nn;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each {@code --init} scheme against its definition, on every backend: the bound or standard
 * deviation each layer's weights must have for its fans (a dense layer, a convolution, a
 * transposed convolution, whose fan-in is its output channels times the kernel area), biases and
 * batch-norm scales.
 *
 * <p>Tolerances: a sample of n draws estimates a uniform's variance a^2/3 with relative standard
 * error sqrt(0.8 / n) and a normal's with sqrt(2 / n); the smallest tensor here has 8,192 draws
 * (1.0% and 1.6%), so 8% is over five standard errors. The largest of n uniform draws falls short
 * of the bound a by about a / n; 2% of a is far beyond that, and far below a scheme's neighbour's
 * bound (the schemes' bounds differ by 30% or more here).
 */
class InitTest {
    private static final double VARIANCE_TOLERANCE = 0.08, BOUND_TOLERANCE = 0.02;

    /** Dense 512 -> 64, Conv 16 -> 32 (4x4), ConvT 32 -> 16 (4x4), BatchNorm 16: every kind of fan. */
    private static Map<String, float[]> build(Backend b, Init init) {
        Sequential dense = new Sequential("d", List.of(new Dense(512, 64), new BatchNorm(64, 0.1f, 1e-5f)))
                .build(b, Shape.of(2, 512), init, new RngStream(5, 0));
        Sequential conv = new Sequential("c", List.of(new Conv2d(16, 32, 4, 2, 1, true)))
                .build(b, Shape.of(2, 16, 8, 8), init, new RngStream(6, 0));
        Sequential convT = new Sequential("t", List.of(new ConvTranspose2d(32, 16, 4, 2, 1, 0, true)))
                .build(b, Shape.of(2, 32, 4, 4), init, new RngStream(7, 0));
        return java.util.stream.Stream.of(dense, conv, convT).flatMap(s -> s.parameters().stream())
                .collect(Collectors.toMap(Parameter::name, p -> p.value().toHost()));
    }

    private static double mean(float[] v) {
        double s = 0;
        for (float x : v) s += x;
        return s / v.length;
    }

    private static double variance(float[] v, double around) {
        double s = 0;
        for (float x : v) s += (x - around) * (x - around);
        return s / v.length;
    }

    private static double maxAbs(float[] v) {
        double m = 0;
        for (float x : v) m = Math.max(m, Math.abs(x));
        return m;
    }

    /** Uniform on (-a, a): no value beyond a, the largest close to it, variance a^2 / 3. */
    private static void uniform(String what, float[] v, double a) {
        double max = maxAbs(v);
        assertTrue(max <= a && max >= a * (1 - BOUND_TOLERANCE), what + ": largest |w| " + max + ", bound " + a);
        double var = variance(v, 0), want = a * a / 3;
        assertEquals(want, var, want * VARIANCE_TOLERANCE, what + ": variance");
    }

    private static void normal(String what, float[] v, double mu, double sigma) {
        double var = variance(v, mu);
        assertEquals(sigma * sigma, var, sigma * sigma * VARIANCE_TOLERANCE, what + ": variance around " + mu);
        assertEquals(mu, mean(v), 5 * sigma / Math.sqrt(v.length), what + ": mean");
    }

    private static void constant(String what, float[] v, float c) {
        for (float x : v) assertEquals(c, x, 0f, what);
    }

    @ParameterizedTest
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void glorotUniform(Backend b) {
        Map<String, float[]> p = build(b, Init.GLOROT_UNIFORM);
        uniform("dense weight", p.get("d.0.weight"), Math.sqrt(6.0 / (512 + 64)));
        uniform("conv weight", p.get("c.0.weight"), Math.sqrt(6.0 / (16 * 16 + 32 * 16)));
        uniform("convT weight", p.get("t.0.weight"), Math.sqrt(6.0 / (16 * 16 + 32 * 16)));
        for (String k : List.of("d.0.bias", "c.0.bias", "t.0.bias", "d.1.bias")) constant(k, p.get(k), 0f);
        constant("bn gamma", p.get("d.1.weight"), 1f);
    }

    @ParameterizedTest
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void pytorchDefault(Backend b) {
        Map<String, float[]> p = build(b, Init.PYTORCH);
        uniform("dense weight", p.get("d.0.weight"), 1 / Math.sqrt(512));
        uniform("conv weight", p.get("c.0.weight"), 1 / Math.sqrt(16 * 16));
        uniform("convT weight (fan-in: out channels x area)", p.get("t.0.weight"), 1 / Math.sqrt(16 * 16));
        // biases: too few draws for moments; within the bound and not all zero
        for (var e : Map.of("d.0.bias", 512, "c.0.bias", 16 * 16, "t.0.bias", 16 * 16).entrySet()) {
            float[] v = p.get(e.getKey());
            double a = 1 / Math.sqrt(e.getValue());
            assertTrue(maxAbs(v) <= a && maxAbs(v) > a / 4, e.getKey() + ": largest " + maxAbs(v) + ", bound " + a);
        }
        constant("bn gamma", p.get("d.1.weight"), 1f);
        constant("bn beta", p.get("d.1.bias"), 0f);
    }

    @ParameterizedTest
    @MethodSource("dev.jgan.testing.TestBackends#all")
    void dcganNormal(Backend b) {
        Map<String, float[]> p = build(b, Init.DCGAN_NORMAL);
        for (String k : List.of("d.0.weight", "c.0.weight", "t.0.weight")) normal(k, p.get(k), 0, 0.02);
        for (String k : List.of("d.0.bias", "c.0.bias", "t.0.bias", "d.1.bias")) constant(k, p.get(k), 0f);
        float[] gamma = p.get("d.1.weight");
        assertTrue(maxAbs(gamma) > 1f && Math.abs(mean(gamma) - 1) < 0.02, "bn gamma ~ N(1, 0.02): mean " + mean(gamma));
    }

    /** Every backend draws the same initial weights for a seed: one model, whichever device trains it. */
    @Test
    void everyBackendDrawsTheSameModel() {
        for (Init init : Init.values()) {
            Map<String, float[]> cpu = build(TestBackends.cpu(), init);
            TestBackends.all().forEach(b -> {
                Map<String, float[]> other = build(b, init);
                for (String k : cpu.keySet())
                    org.junit.jupiter.api.Assertions.assertArrayEquals(cpu.get(k), other.get(k), 0f, init + " " + k + " on " + b.name());
            });
        }
    }

    @Test
    void namesAreTheFlags() {
        assertEquals(List.of("glorot", "pytorch", "normal"), java.util.Arrays.stream(Init.values()).map(Init::flag).toList());
        for (Init i : Init.values()) assertEquals(i, Init.of(i.flag()));
        UserError e = assertThrows(UserError.class, () -> Init.of("he"));
        assertTrue(e.getMessage().contains("use glorot, pytorch or normal"), e.getMessage());
        assertEquals(Init.GLOROT_UNIFORM, dev.jgan.gan.Presets.get("mlp-gan").init());
        assertEquals(Init.DCGAN_NORMAL, dev.jgan.gan.Presets.get("dcgan-64").init());
    }
}
