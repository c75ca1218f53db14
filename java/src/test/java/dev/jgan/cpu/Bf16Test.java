package dev.jgan.cpu;

import dev.jgan.backend.Backend;
import dev.jgan.backend.ConvGeometry;
import dev.jgan.backend.Precision;
import dev.jgan.check.Reference;
import dev.jgan.selection.Backends;
import dev.jgan.selection.CudaBinding;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * bf16 on the CPU backend: the rounding itself (pinned values, the vector kernel against the
 * scalar one), bf16-emulated GEMMs and convolutions against float32 ones on rounded inputs (bit
 * for bit: the same kernels), the error bf16 adds against float32 within its derived bound, and
 * {@code --precision bf16} on a CPU without bf16 dot products (one line, float32).
 */
class Bf16Test {
    /**
     * bf16 keeps 8 significant bits: round to nearest makes a relative error of at most
     * {@code U = 2^-8} per operand, so a product of two rounded operands is off by at most
     * {@code 2U + U^2} of |a b| (the product itself is exact in float32, 8 + 8 bits < 24).
     */
    static final double U = 0x1p-8;
    /**
     * Both sides sum K products in float32 (in whatever order the kernel picks): at most K float32
     * roundings of 2^-24 each of the sum of |a b|, on each side.
     */
    static double sumRounding(int k) { return 2.0 * k * 0x1p-24; }

    @Test
    void roundsToNearestEven() {
        assertEquals(1f, Bf16.round(1f));
        assertEquals(1f, Bf16.round(1f + 0x1p-8f), "a tie between 1 and 1 + 2^-7 goes to the even 1");
        assertEquals(1f + 0x1p-6f, Bf16.round(1f + 3 * 0x1p-8f), "a tie between 1 + 2^-7 and 1 + 2^-6 goes to the even 1 + 2^-6");
        assertEquals(1f + 0x1p-7f, Bf16.round(1f + 0x1p-8f + 0x1p-20f), "just above a tie rounds up");
        assertEquals(-3.140625f, Bf16.round(-3.14159265f), "pi: 8 significant bits, sign kept");
        assertEquals(Float.POSITIVE_INFINITY, Bf16.round(Float.MAX_VALUE), "the largest floats round to infinity");
        assertEquals(Float.NEGATIVE_INFINITY, Bf16.round(Float.NEGATIVE_INFINITY));
        assertEquals(0x1p-133f, Bf16.round(0x1p-133f), "bf16's smallest subnormal is kept");
        assertEquals(0f, Bf16.round(Float.MIN_VALUE), "float32's smallest subnormal is below half of bf16's: 0");
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(Bf16.round(-0f)), "-0 stays -0");
        float nanNearInfinity = Float.intBitsToFloat(0x7F80FFFF); // its payload only in the low bits: + 0x7FFF would carry
        assertTrue(Float.isNaN(Bf16.round(nanNearInfinity)), "a NaN stays a NaN");
        assertTrue(Float.isNaN(Bf16.round(Float.NaN)));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 13, 207, 702, 1024})
    void vectorKernelEqualsScalarOnEveryKindOfFloat(int n) {
        SplittableRandom random = new SplittableRandom(n);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(4L * n, 64), dst = arena.allocate(4L * n, 64);
            for (int i = 0; i < n; i++) { // raw bit patterns: normals, subnormals, infinities, NaNs with every payload
                int bits = random.nextInt();
                if (i % 7 == 0) bits = (bits & 0x8000FFFF) | 0x7F800000; // NaN or infinity with low-bit payloads
                src.setAtIndex(ValueLayout.JAVA_INT, i, bits);
            }
            Bf16.round(src, dst, n);
            for (int i = 0; i < n; i++) {
                float x = src.getAtIndex(ValueLayout.JAVA_FLOAT, i), want = Bf16.round(x), got = dst.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                if (Float.floatToRawIntBits(want) != Float.floatToRawIntBits(got))
                    fail("element " + i + " of " + n + ": " + Integer.toHexString(Float.floatToRawIntBits(x)) + " rounded to "
                            + Integer.toHexString(Float.floatToRawIntBits(got)) + ", scalar gives " + Integer.toHexString(Float.floatToRawIntBits(want)));
            }
            Bf16.round(src, src, n); // in place
            for (int i = 0; i < n; i++)
                assertEquals(dst.getAtIndex(ValueLayout.JAVA_INT, i), src.getAtIndex(ValueLayout.JAVA_INT, i), "in place, element " + i);
        }
    }

    static float[] rounded(float[] v) {
        float[] r = v.clone();
        for (int i = 0; i < r.length; i++) r[i] = Bf16.round(r[i]);
        return r;
    }

    final CpuBackend fp32 = TestBackends.cpu();
    final CpuBackend emulated = new CpuBackend(2, Precision.BF16_EMULATED);

    @AfterEach
    void close() { emulated.close(); }

    static Tensor put(Backend b, Shape s, float[] v) {
        Tensor t = b.allocate(s);
        b.copyFromHost(v, t);
        return t;
    }

    static float[] get(Backend b, Tensor t) {
        float[] v = new float[t.shape().intSize()];
        b.toHost(t, v);
        return v;
    }

    /** One GEMM or convolution on two inputs, as a function of the backend and the inputs' values. */
    interface Op {
        float[] run(Backend b, float[] first, float[] second);
    }

    record Case(String name, int firstSize, int secondSize, int k, Op op) {}

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        for (boolean ta : new boolean[]{false, true})
            for (boolean tb : new boolean[]{false, true}) {
                int m = 13, n = 33, k = 207;
                cases.add(new Case("gemm " + (ta ? "T" : "N") + (tb ? "T" : "N"), m * k, k * n, k, (b, a, bb) -> {
                    Tensor c = b.allocate(Shape.of(m, n));
                    b.gemm(ta, tb, m, n, k, 1f, put(b, ta ? Shape.of(k, m) : Shape.of(m, k), a), put(b, tb ? Shape.of(n, k) : Shape.of(k, n), bb), 0f, c);
                    return get(b, c);
                }));
            }
        // 32 channels take oneDNN's blocked kernels, 1 channel im2col + sgemm; a 4x4 kernel over a 4x4 image its GEMM path
        for (int[] c : new int[][]{{32, 16, 5}, {1, 8, 5}, {20, 6, 4}}) {
            int cin = c[0], cout = c[1], hw = c[2] == 4 ? 4 : 9, r = c[2] == 4 ? 4 : 3;
            ConvGeometry g = c[2] == 4 ? ConvGeometry.of(1, 0) : ConvGeometry.of(2, 1);
            Shape x = Shape.of(3, cin, hw, hw), w = Shape.of(cout, cin, r, r);
            Shape y = Shape.of(3, cout, g.outH(hw, r), g.outW(hw, r));
            int kFwd = cin * r * r, kBwdData = cout * r * r, kBwdFilter = 3 * y.dim(2) * y.dim(3);
            String at = " " + x + " * " + w;
            cases.add(new Case("conv2dForward" + at, x.intSize(), w.intSize(), kFwd, (b, xs, ws) -> {
                Tensor out = b.allocate(y);
                b.conv2dForward(put(b, x, xs), put(b, w, ws), out, g);
                return get(b, out);
            }));
            cases.add(new Case("conv2dBackwardData" + at, y.intSize(), w.intSize(), kBwdData, (b, dys, ws) -> {
                Tensor dx = b.allocate(x);
                b.conv2dBackwardData(put(b, y, dys), put(b, w, ws), dx, g);
                return get(b, dx);
            }));
            cases.add(new Case("conv2dBackwardFilter" + at, x.intSize(), y.intSize(), kBwdFilter, (b, xs, dys) -> {
                Tensor dw = b.allocate(w);
                b.conv2dBackwardFilter(put(b, x, xs), put(b, y, dys), dw, g, false);
                return get(b, dw);
            }));
        }
        return cases;
    }

    /** bf16-emulated is float32's kernels on rounded inputs: the same numbers, bit for bit, and the inputs untouched. */
    @Test
    void emulatedIsFloat32OnRoundedInputs() {
        for (Case c : cases()) {
            float[] first = TestData.normal(1, c.firstSize(), 0, 1), second = TestData.normal(2, c.secondSize(), 0, 1);
            float[] want = c.op().run(fp32, rounded(first), rounded(second));
            float[] got = c.op().run(emulated, first, second);
            assertArrayEquals(want, got, 0f, c.name() + ": bf16-emulated differs from float32 on bf16-rounded inputs");
        }
    }

    /**
     * Against float32 on the unrounded inputs, every output is within its bound: (2U + U^2) of the
     * sum of |products| for the rounding, plus both sides' float32 summation; and bf16 does change
     * the results (the rounding is in effect).
     */
    @Test
    void errorAgainstFloat32IsWithinTheDerivedBound() {
        for (Case c : cases()) {
            float[] first = TestData.normal(3, c.firstSize(), 0, 1), second = TestData.normal(4, c.secondSize(), 0, 1);
            float[] exact = c.op().run(fp32, first, second), bf16 = c.op().run(emulated, first, second);
            float[] magnitude = c.op().run(fp32, abs(first), abs(second)); // sum of |a b| per output
            double perMagnitude = 2 * U + U * U + sumRounding(c.k()) + 0x1p-22; // + float32's rounding of the magnitude sum itself
            double worst = 0, differing = 0;
            for (int i = 0; i < exact.length; i++) {
                double err = Math.abs((double) bf16[i] - exact[i]), bound = perMagnitude * magnitude[i];
                if (err > bound) fail(c.name() + ": output " + i + " differs by " + err + " from float32, above bf16's bound " + bound);
                worst = Math.max(worst, err / magnitude[i]);
                if (err > 0) differing++;
            }
            assertTrue(differing > exact.length / 2, c.name() + ": only " + differing + " of " + exact.length + " outputs differ from float32; is bf16 rounding applied?");
            assertTrue(worst > U / 16, c.name() + ": largest error " + worst + " of the magnitude, far below bf16's; is bf16 rounding applied?");
        }
    }

    static float[] abs(float[] v) {
        float[] a = new float[v.length];
        for (int i = 0; i < v.length; i++) a[i] = Math.abs(v[i]);
        return a;
    }

    /** Where oneDNN has bf16 convolutions, bf16 equals bf16-emulated up to the order of float32 sums. */
    @Test
    void bf16KernelsAgreeWithEmulationWhereTheCpuHasThem() {
        assumeTrue(CpuBackend.hasBf16Arithmetic(), "this CPU has no bf16 dot products for oneDNN (AVX-512 BF16 or AMX): --precision bf16 is fp32 here");
        try (CpuBackend real = new CpuBackend(2, Precision.BF16)) {
            for (Case c : cases()) {
                float[] first = TestData.normal(5, c.firstSize(), 0, 1), second = TestData.normal(6, c.secondSize(), 0, 1);
                float[] want = c.op().run(emulated, first, second), got = c.op().run(real, first, second);
                float[] magnitude = c.op().run(emulated, abs(first), abs(second));
                for (int i = 0; i < want.length; i++) {
                    double bound = (sumRounding(c.k()) + 0x1p-22) * magnitude[i];
                    if (Math.abs(got[i] - want[i]) > bound)
                        fail(c.name() + ": output " + i + ": bf16 " + got[i] + ", bf16-emulated " + want[i] + ", beyond summation order's " + bound);
                }
            }
        }
    }

    @Test
    void bf16WithoutBf16ArithmeticIsOneLineAndFloat32() {
        List<String> log = new ArrayList<>();
        try (Backend b = Backends.select("cpu", 1, Precision.BF16, 0, false, CudaBinding.fromEnvironment(), log::add)) {
            if (CpuBackend.hasBf16Arithmetic()) {
                assertTrue(log.isEmpty(), "a CPU with bf16 says nothing: " + log);
                assertTrue(b.describe().contains("bf16 GEMMs and convolutions"), b.describe());
            } else {
                assertEquals(1, log.size(), "one line: " + log);
                assertTrue(log.getFirst().startsWith("--precision bf16: this CPU has no bf16"), log.getFirst());
                assertTrue(!b.describe().contains("bf16"), "computes in fp32: " + b.describe());
            }
        }
    }
}
