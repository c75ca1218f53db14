package dev.jgan.bench.ops;

import dev.jgan.backend.Backend;
import dev.jgan.backend.ConvGeometry;
import dev.jgan.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * {@code Backend.conv2dForward}, {@code conv2dBackwardData} and {@code conv2dBackwardFilter} at
 * every distinct convolution of dcgan-28 and dcgan-64 at batch 64 ({@link ConvShape}). The first
 * call of a shape builds the backend's cached primitives; setup makes it, so none is timed.
 * GFLOP/s: {@link dev.jgan.bench.Flops} over the JSON result.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar ConvBenchmark -p op=forward -p shape=DC28_64TO128_14}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
// 3 x 0.5 s warm-up: oneDNN and OpenBLAS are native code, made once in setup; the JIT has little to do.
@Warmup(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
// 5 x 0.5 s measured: a call is 0.1 to 50 ms, so even the largest averages over ten calls per iteration.
@Measurement(iterations = 5, time = 500, timeUnit = TimeUnit.MILLISECONDS)
// One fork with the launcher's flags; more forks only re-measure the same library on 2 cores.
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class ConvBenchmark {
    /** Loose bound on the error relative to the sum of |products|: TF32 tensor cores round each product to 2^-11. */
    static final double RTOL_OF_SUM = 1e-3;

    @Param({"cpu"})
    public String backend;

    @Param({"2"})
    public int threads;

    @Param({"forward", "backwardData", "backwardFilter"})
    public String op;

    @Param // every ConvShape
    public ConvShape shape;

    private Backend b;
    private Tensor x, w, y;   // x: (N, C, H, W) image or dx; w: (K, C, R, S) or dw; y: (N, K, P, Q) or dy
    private Runnable call;

    @Setup(Level.Trial)
    public void setUp() {
        b = OpBench.backend(backend, threads);
        ConvShape s = shape;
        ConvGeometry g = s.geometry;
        float[] hx = OpBench.uniform(s.image().size(), 1, -1f, 1f);
        float[] hw = OpBench.uniform(s.weights().size(), 2, -1f, 1f);
        float[] hy = OpBench.uniform(s.output().size(), 3, -1f, 1f);
        x = b.fromHost(hx, s.image());
        w = b.fromHost(hw, s.weights());
        y = b.fromHost(hy, s.output());
        call = switch (op) {
            case "forward" -> () -> b.conv2dForward(x, w, y, g);
            case "backwardData" -> () -> b.conv2dBackwardData(y, w, x, g);
            case "backwardFilter" -> () -> b.conv2dBackwardFilter(x, y, w, g, false);
            default -> throw new IllegalArgumentException("unknown op '" + op + "'; use forward, backwardData or backwardFilter");
        };
        run();
        // check the result once, so a broken kernel cannot be timed
        switch (op) {
            case "forward" -> checkForward(s, hx, hw, OpBench.download(b, y));
            case "backwardData" -> checkBackwardData(s, hy, hw, OpBench.download(b, x));
            default -> checkBackwardFilter(s, hx, hy, OpBench.download(b, w));
        }
    }

    @Benchmark
    public void run() {
        call.run();
        b.synchronize();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        b.close();
    }

    // ---- one output element each, straight from the Backend Javadoc ------------------------
    // input row h meets output row p through kernel row r when h = p * stride - pad + r

    /** y[n,k,p,q] = sum_{c,r,s} x[n, c, p*sh - ph + r, q*sw - pw + s] * w[k,c,r,s]. */
    private static void checkForward(ConvShape s, float[] x, float[] w, float[] y) {
        int P = s.output().dim(2), Q = s.output().dim(3);
        ConvGeometry g = s.geometry;
        for (int at : OpBench.spots(y.length, 16)) {
            int n = at / (s.k * P * Q), k = at / (P * Q) % s.k, p = at / Q % P, q = at % Q;
            double sum = 0, sumAbs = 0;
            for (int c = 0; c < s.c; c++)
                for (int r = 0; r < s.r; r++)
                    for (int u = 0; u < s.s; u++) {
                        int h = p * g.strideH() - g.padH() + r, wd = q * g.strideW() - g.padW() + u;
                        if (h < 0 || h >= s.h || wd < 0 || wd >= s.w) continue;
                        double term = (double) x[((n * s.c + c) * s.h + h) * s.w + wd] * w[((k * s.c + c) * s.r + r) * s.s + u];
                        sum += term;
                        sumAbs += Math.abs(term);
                    }
            OpBench.check(s + " forward y[" + n + "," + k + "," + p + "," + q + "]", y[at], sum, 1e-6, RTOL_OF_SUM, sumAbs);
        }
    }

    /** dx[n,c,h,w] = sum of dy[n,k,p,q] * w[k,c,r,s] over k, r, s with h = p*sh - ph + r, w = q*sw - pw + s. */
    private static void checkBackwardData(ConvShape s, float[] dy, float[] w, float[] dx) {
        int P = s.output().dim(2), Q = s.output().dim(3);
        ConvGeometry g = s.geometry;
        for (int at : OpBench.spots(dx.length, 16)) {
            int n = at / (s.c * s.h * s.w), c = at / (s.h * s.w) % s.c, h = at / s.w % s.h, wd = at % s.w;
            double sum = 0, sumAbs = 0;
            for (int k = 0; k < s.k; k++)
                for (int r = 0; r < s.r; r++)
                    for (int u = 0; u < s.s; u++) {
                        int ph = h + g.padH() - r, pw = wd + g.padW() - u;
                        if (ph < 0 || pw < 0 || ph % g.strideH() != 0 || pw % g.strideW() != 0) continue;
                        int p = ph / g.strideH(), q = pw / g.strideW();
                        if (p >= P || q >= Q) continue;
                        double term = (double) dy[((n * s.k + k) * P + p) * Q + q] * w[((k * s.c + c) * s.r + r) * s.s + u];
                        sum += term;
                        sumAbs += Math.abs(term);
                    }
            OpBench.check(s + " backwardData dx[" + n + "," + c + "," + h + "," + wd + "]", dx[at], sum, 1e-6, RTOL_OF_SUM, sumAbs);
        }
    }

    /** dw[k,c,r,s] = sum_{n,p,q} dy[n,k,p,q] * x[n, c, p*sh - ph + r, q*sw - pw + s]. */
    private static void checkBackwardFilter(ConvShape s, float[] x, float[] dy, float[] dw) {
        int P = s.output().dim(2), Q = s.output().dim(3);
        ConvGeometry g = s.geometry;
        for (int at : OpBench.spots(dw.length, 16)) {
            int k = at / (s.c * s.r * s.s), c = at / (s.r * s.s) % s.c, r = at / s.s % s.r, u = at % s.s;
            double sum = 0, sumAbs = 0;
            for (int n = 0; n < s.n; n++)
                for (int p = 0; p < P; p++)
                    for (int q = 0; q < Q; q++) {
                        int h = p * g.strideH() - g.padH() + r, wd = q * g.strideW() - g.padW() + u;
                        if (h < 0 || h >= s.h || wd < 0 || wd >= s.w) continue;
                        double term = (double) dy[((n * s.k + k) * P + p) * Q + q] * x[((n * s.c + c) * s.h + h) * s.w + wd];
                        sum += term;
                        sumAbs += Math.abs(term);
                    }
            OpBench.check(s + " backwardFilter dw[" + k + "," + c + "," + r + "," + u + "]", dw[at], sum, 1e-6, RTOL_OF_SUM, sumAbs);
        }
    }
}
