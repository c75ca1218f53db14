package dev.jgan.bench.ops;

import dev.jgan.backend.Backend;
import dev.jgan.lab.KernelLab;
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
 * {@code Backend.addBias} and {@code biasGrad} at the presets' biased layers, batch 64: 64x512
 * and 64x1024 (mlp-gan's Dense outputs), 64x64x14x14 and 64x128x7x7 (dcgan-28 D's convolutions).
 * dcgan-64 has no biases.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar BiasBenchmark}
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
public class BiasBenchmark {
    /** Loose: biasGrad sums up to 12,544 values per channel in float32 against a double reference. */
    static final double ATOL = 1e-5, RTOL = 1e-5;

    @Param({"cpu"})
    public String backend;

    @Param({"2"})
    public int threads;

    /** The kernel lab's variant of the op (KernelLab: baseline is production as is). */
    @Param({"baseline"})
    public String variant;

    @Param({"addBias", "biasGrad"})
    public String op;

    @Param({"64x512", "64x1024", "64x64x14x14", "64x128x7x7"})
    public String shape;

    private Backend b;
    private Tensor y, bias;   // y: (N, C, S...) or dy; bias: (C) or dBias
    private Runnable call;

    @Setup(Level.Trial)
    public void setUp() {
        b = OpBench.backend(backend, threads);
        b = KernelLab.find("bias:" + variant, KernelLab.deviceOf(b)).getFirst().on(b);
        Shape s = OpBench.shape(shape);
        int channels = s.dim(1), spatial = s.spatial();
        float[] hy = OpBench.uniform(s.size(), 1, -1f, 1f), hBias = OpBench.uniform(channels, 2, -1f, 1f);
        y = b.fromHost(hy, s);
        bias = b.fromHost(hBias, Shape.of(channels));
        call = switch (op) {
            case "addBias" -> () -> b.addBias(y, bias);
            case "biasGrad" -> () -> b.biasGrad(y, bias, false);
            default -> throw new IllegalArgumentException("unknown op '" + op + "'; use addBias or biasGrad");
        };
        run();

        // check the result once, so a broken kernel cannot be timed
        if (op.equals("addBias")) {
            float[] out = OpBench.download(b, y);
            for (int i : OpBench.spots(out.length, 16))
                OpBench.check(shape + " addBias y[" + i + "]", out[i], hy[i] + hBias[i / spatial % channels], ATOL, RTOL);
        } else {
            float[] dBias = OpBench.download(b, bias);
            for (int c : OpBench.spots(channels, 16)) {
                double sum = 0, sumAbs = 0;
                for (int n = 0; n < s.dim(0); n++)
                    for (int j = 0; j < spatial; j++) {
                        sum += hy[(n * channels + c) * spatial + j];
                        sumAbs += Math.abs(hy[(n * channels + c) * spatial + j]);
                    }
                OpBench.check(shape + " biasGrad dBias[" + c + "]", dBias[c], sum, ATOL, RTOL, sumAbs);
            }
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
}
