package dev.jgan.bench.ops;

import dev.jgan.backend.Backend;
import dev.jgan.gan.GanModel;
import dev.jgan.gan.Preset;
import dev.jgan.gan.Presets;
import dev.jgan.nn.Parameter;
import dev.jgan.optim.Adam;
import dev.jgan.random.Philox;
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

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One Adam step ({@code Backend.adamStep}, every parameter of one network in one call, through
 * the trainer's own {@link Adam}) over the full parameter list of each preset's G or D, as
 * {@link GanModel} builds them. The step count grows while timing, as in training; the work per
 * step does not depend on it. Parameters (millions): mlp-gan G 1.49, D 0.53; dcgan-28 G 2.31,
 * D 0.21; dcgan-64 G 3.57, D 2.76.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar AdamBenchmark -p preset=dcgan-64}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
// 3 x 0.5 s warm-up: a step is 0.5 to 10 ms over 0.2 to 3.6 million parameters; C2 compiles the loop early.
@Warmup(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
// 5 x 0.5 s measured: at least fifty steps per iteration.
@Measurement(iterations = 5, time = 500, timeUnit = TimeUnit.MILLISECONDS)
// One fork with the launcher's flags; more forks only re-measure the same JIT on 2 cores.
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class AdamBenchmark {
    /** Loose: the first step moves each parameter by about lr, computed in float. */
    static final double ATOL = 1e-7, RTOL = 1e-5;
    /** The presets' Adam (lr 2e-4, beta1 0.5) and the trainer's eps. */
    static final float LR = 2e-4f, BETA1 = 0.5f, BETA2 = 0.999f, EPS = 1e-8f;

    @Param({"cpu"})
    public String backend;

    @Param({"2"})
    public int threads;

    @Param({"mlp-gan", "dcgan-28", "dcgan-64"})
    public String preset;

    @Param({"G", "D"})
    public String net;

    private Backend b;
    private Adam adam;

    @Setup(Level.Trial)
    public void setUp() {
        b = OpBench.backend(backend, threads);
        Preset p = Presets.get(preset);
        GanModel model = new GanModel(b, p, 64, 1);
        List<Parameter> params = switch (net) {
            case "G" -> model.generator().parameters();
            case "D" -> model.discriminator().parameters();
            default -> throw new IllegalArgumentException("unknown net '" + net + "'; use G or D");
        };
        long offset = 0;
        for (Parameter q : params) {
            b.fillNormal(q.grad(), 0f, 0.01f, 7, offset);
            offset += Philox.blocks(q.grad().size());
        }
        adam = new Adam(b, params, LR, BETA1, BETA2, EPS, 0f);
        List<Parameter> checked = List.of(params.getFirst(), params.get(params.size() / 2), params.getLast());
        List<float[]> before = checked.stream().map(q -> OpBench.download(b, q.value())).toList();
        run();

        // check the result once, so a broken kernel cannot be timed. Step 1 from zero moments:
        // m = (1 - b1) g, v = (1 - b2) g^2, so p -= lr g / (|g| + eps)
        for (int j = 0; j < checked.size(); j++) {
            Parameter q = checked.get(j);
            float[] p0 = before.get(j), p1 = OpBench.download(b, q.value()), g = OpBench.download(b, q.grad());
            for (int i : OpBench.spots(p0.length, 8)) {
                double m = (1 - (double) BETA1) * g[i], v = (1 - (double) BETA2) * g[i] * g[i];
                double ref = p0[i] - LR * (m / (1 - BETA1)) / (Math.sqrt(v / (1 - BETA2)) + EPS);
                OpBench.check(preset + " " + net + " " + q.name() + "[" + i + "] after one step", p1[i], ref, ATOL, RTOL);
            }
        }
    }

    @Benchmark
    public void run() {
        adam.step();
        b.synchronize();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        b.close();
    }
}
