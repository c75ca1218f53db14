package dev.jgan.bench.ops;

import dev.jgan.backend.Backend;
import dev.jgan.random.Philox;
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
 * {@code Backend.fillNormal} (Philox 4x32-10 and Box-Muller) at the noise z of one step, 64x100,
 * and at dcgan-64's largest weight, 512x256x4x4 (its N(0, 0.02) initialisation).
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar FillNormalBenchmark}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
// 3 x 0.5 s warm-up: a call is 1 us to 2 ms, so C2 has compiled the Vector API loop after a few hundred calls.
@Warmup(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
// 5 x 0.5 s measured: hundreds of calls per iteration at least.
@Measurement(iterations = 5, time = 500, timeUnit = TimeUnit.MILLISECONDS)
// One fork with the launcher's flags; more forks only re-measure the same JIT on 2 cores.
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class FillNormalBenchmark {
    /** Loose: a fast log/cos in Box-Muller; the suite checks these bit for bit on the CPU. */
    static final double ATOL = 1e-6, RTOL = 1e-5;
    static final long SEED = 3, OFFSET = 17;

    @Param({"cpu"})
    public String backend;

    @Param({"2"})
    public int threads;

    @Param({"64x100", "512x256x4x4"})
    public String shape;

    private Backend b;
    private Tensor t;

    @Setup(Level.Trial)
    public void setUp() {
        b = OpBench.backend(backend, threads);
        t = b.allocate(OpBench.shape(shape));
        run();

        // check the result once, so a broken kernel cannot be timed
        float[] h = OpBench.download(b, t);
        for (int i : OpBench.spots(h.length, 16))
            OpBench.check(shape + " fillNormal[" + i + "]", h[i], Philox.normalAt(SEED, OFFSET, i), ATOL, RTOL);
    }

    @Benchmark
    public void run() {
        b.fillNormal(t, 0f, 1f, SEED, OFFSET);
        b.synchronize();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        b.close();
    }
}
