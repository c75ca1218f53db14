package dev.jgan.bench.ops;

import dev.jgan.backend.Backend;
import dev.jgan.tensor.Shape;
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
 * {@code Backend.gemm} at every dense-layer GEMM of the presets ({@link GemmShape}: forward, dW
 * and dx of each Dense at batch 64), with beta = 0 as a layer's first gradient writes it.
 * GFLOP/s: {@link dev.jgan.bench.Flops} over the JSON result.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar GemmBenchmark -p shape=MLP_G_512_1024_FWD}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
// 3 x 0.5 s warm-up: OpenBLAS is native code, so only the JNI path and the thread pool need warming.
@Warmup(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
// 5 x 0.5 s measured: a call is 1 us to 2 ms, so each iteration averages over hundreds of calls.
@Measurement(iterations = 5, time = 500, timeUnit = TimeUnit.MILLISECONDS)
// One fork with the launcher's flags; more forks only re-measure the same library on 2 cores.
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class GemmBenchmark {
    /** Loose bound on |C - ref| relative to sum |a_ip b_pj|: TF32 tensor cores round each product to 2^-11. */
    static final double RTOL_OF_SUM = 1e-3;

    @Param({"cpu"})
    public String backend;

    @Param({"2"})
    public int threads;

    @Param // every GemmShape
    public GemmShape shape;

    private Backend b;
    private Tensor a, bMat, c;

    @Setup(Level.Trial)
    public void setUp() {
        b = OpBench.backend(backend, threads);
        GemmShape g = shape;
        float[] ha = OpBench.uniform(g.aSize(), 1, -1f, 1f), hb = OpBench.uniform(g.bSize(), 2, -1f, 1f);
        a = b.fromHost(ha, g.transA ? Shape.of(g.k, g.m) : Shape.of(g.m, g.k));
        bMat = b.fromHost(hb, g.transB ? Shape.of(g.n, g.k) : Shape.of(g.k, g.n));
        c = b.allocate(Shape.of(g.m, g.n));
        gemm();
        // check the result once, so a broken kernel cannot be timed
        float[] hc = OpBench.download(b, c);
        for (int at : OpBench.spots(hc.length, 16)) {
            int i = at / g.n, j = at % g.n;
            double sum = 0, sumAbs = 0;
            for (int p = 0; p < g.k; p++) {
                double term = (double) (g.transA ? ha[p * g.m + i] : ha[i * g.k + p]) * (g.transB ? hb[j * g.k + p] : hb[p * g.n + j]);
                sum += term;
                sumAbs += Math.abs(term);
            }
            OpBench.check(shape + " C[" + i + ", " + j + "]", hc[at], sum, 1e-6, RTOL_OF_SUM, sumAbs);
        }
    }

    @Benchmark
    public void gemm() {
        b.gemm(shape.transA, shape.transB, shape.m, shape.n, shape.k, 1f, a, bMat, 0f, c);
        b.synchronize();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        b.close();
    }
}
