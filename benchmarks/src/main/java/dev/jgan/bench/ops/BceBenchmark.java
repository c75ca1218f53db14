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
 * {@code Backend.bceWithLogits} (loss, gradient and statistics in one pass) over D's logits, (batch, 1),
 * with the trainer's smoothed real label 0.9 as a constant target.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar BceBenchmark}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
// 3 x 0.5 s warm-up: a call is about a microsecond, so C2 has compiled it after the first few thousand.
@Warmup(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
// 5 x 0.5 s measured: hundreds of thousands of calls per iteration.
@Measurement(iterations = 5, time = 500, timeUnit = TimeUnit.MILLISECONDS)
// One fork with the launcher's flags; more forks only re-measure the same JIT on 2 cores.
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class BceBenchmark {
    /** Loose: a float32 mean of at most 128 terms and a fast exp/log against a double reference. */
    static final double ATOL = 1e-6, RTOL = 1e-5;
    /** The trainer's real label (label smoothing). */
    static final float TARGET = 0.9f;

    @Param({"cpu"})
    public String backend;

    @Param({"2"})
    public int threads;

    @Param({"64", "128"})
    public int batch;

    private Backend b;
    private Tensor logits, dLogits, stats;

    @Setup(Level.Trial)
    public void setUp() {
        b = OpBench.backend(backend, threads);
        float[] hl = OpBench.uniform(batch, 1, -6f, 6f);
        logits = b.fromHost(hl, Shape.of(batch, 1));
        dLogits = b.allocate(logits.shape());
        stats = b.allocate(Shape.of(3));
        run();

        // check the result once, so a broken kernel cannot be timed
        float[] hs = OpBench.download(b, stats), hd = OpBench.download(b, dLogits);
        double loss = 0, meanSigmoid = 0, positive = 0;
        for (int i = 0; i < batch; i++) {
            double l = hl[i], sigmoid = 1 / (1 + Math.exp(-l));
            loss += Math.max(l, 0) - l * TARGET + Math.log1p(Math.exp(-Math.abs(l)));
            meanSigmoid += sigmoid;
            if (l > 0) positive++;
            OpBench.check("bce dLogits[" + i + "]", hd[i], (sigmoid - TARGET) / batch, ATOL, RTOL);
        }
        OpBench.check("bce loss", hs[0], loss / batch, ATOL, RTOL);
        OpBench.check("bce mean sigmoid", hs[1], meanSigmoid / batch, ATOL, RTOL);
        OpBench.check("bce fraction positive", hs[2], positive / batch, ATOL, RTOL);
    }

    @Benchmark
    public void run() {
        b.bceWithLogits(logits, null, TARGET, 1f, dLogits, stats, 0);
        b.synchronize();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        b.close();
    }
}
