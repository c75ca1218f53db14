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
 * The activations and their backwards (from the saved output y), out of place, at three sizes of
 * the presets at batch 64: 64x1024 (mlp-gan G's widest layer), 64x12544 (dcgan-28 G's Dense
 * output), 64x64x32x32 (dcgan-64's largest feature map). They are elementwise, so only the size
 * matters; every op runs at every size.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar ActivationBenchmark -p op=tanh,tanhBackward}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
// 3 x 0.5 s warm-up: a call is 10 us to 5 ms, so C2 has compiled the Vector API loop after a few hundred calls.
@Warmup(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
// 5 x 0.5 s measured: at least a hundred calls per iteration.
@Measurement(iterations = 5, time = 500, timeUnit = TimeUnit.MILLISECONDS)
// One fork with the launcher's flags; more forks only re-measure the same JIT on 2 cores.
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class ActivationBenchmark {
    /** Loose: fast exp/tanh approximations are good to a few float ulps. */
    static final double ATOL = 1e-6, RTOL = 1e-5;
    /** mlp-gan's and dcgan-64's LeakyReLU slope. */
    static final float SLOPE = 0.2f;

    @Param({"cpu"})
    public String backend;

    @Param({"2"})
    public int threads;

    /** The kernel lab's variant of the op (KernelLab: baseline is production as is). */
    @Param({"baseline"})
    public String variant;

    @Param({"leakyRelu", "leakyReluBackward", "relu", "reluBackward", "tanh", "tanhBackward", "sigmoid", "sigmoidBackward"})
    public String op;

    @Param({"64x1024", "64x12544", "64x64x32x32"})
    public String shape;

    private Backend b;
    private Tensor x, y, dy, dx;
    private Runnable call;

    @Setup(Level.Trial)
    public void setUp() {
        b = OpBench.backend(backend, threads);
        b = KernelLab.find("activations:" + variant, KernelLab.deviceOf(b)).getFirst().on(b);
        Shape s = OpBench.shape(shape);
        float[] hx = OpBench.uniform(s.size(), 1, -4f, 4f), hdy = OpBench.uniform(s.size(), 2, -1f, 1f);
        x = b.fromHost(hx, s);
        dy = b.fromHost(hdy, s);
        y = b.allocate(s);
        dx = b.allocate(s);
        String family = op.replace("Backward", "");
        Runnable forward = switch (family) {
            case "leakyRelu" -> () -> b.leakyRelu(x, y, SLOPE);
            case "relu" -> () -> b.relu(x, y);
            case "tanh" -> () -> b.tanh(x, y);
            case "sigmoid" -> () -> b.sigmoid(x, y);
            default -> throw new IllegalArgumentException("unknown op '" + op + "'");
        };
        call = !op.endsWith("Backward") ? forward : switch (family) {
            case "leakyRelu" -> () -> b.leakyReluBackward(y, dy, dx, SLOPE);
            case "relu" -> () -> b.reluBackward(y, dy, dx);
            case "tanh" -> () -> b.tanhBackward(y, dy, dx);
            default -> () -> b.sigmoidBackward(y, dy, dx);
        };
        forward.run();   // the backward reads the saved output y
        run();

        // check the result once, so a broken kernel cannot be timed
        float[] hy = OpBench.download(b, y), hdx = OpBench.download(b, dx);
        for (int i : OpBench.spots(s.size(), 16)) {
            double xi = hx[i], yi = hy[i], d = hdy[i];
            double yRef = switch (family) {
                case "leakyRelu" -> xi > 0 ? xi : SLOPE * xi;
                case "relu" -> Math.max(xi, 0);
                case "tanh" -> Math.tanh(xi);
                default -> 1 / (1 + Math.exp(-xi));
            };
            OpBench.check(shape + " " + family + " y[" + i + "]", yi, yRef, ATOL, RTOL);
            if (!op.endsWith("Backward")) continue;
            double dxRef = switch (family) {
                case "leakyRelu" -> yi > 0 ? d : SLOPE * d;
                case "relu" -> yi > 0 ? d : 0;
                case "tanh" -> d * (1 - yi * yi);
                default -> d * yi * (1 - yi);
            };
            OpBench.check(shape + " " + op + " dx[" + i + "]", hdx[i], dxRef, ATOL, RTOL);
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
