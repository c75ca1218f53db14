package dev.jgan.bench.ops;

import dev.jgan.backend.Backend;
import dev.jgan.lab.KernelLab;
import dev.jgan.random.Philox;
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
 * {@code Backend.dropoutForward} (Philox mask and scale in one pass) and {@code dropoutBackward}
 * at dcgan-28 D's two dropout layers (p = 0.3), batch 64.
 *
 * {@code variant} is the kernel lab's (KernelLab, {@code dropout:<variant>} on the backend's device):
 * baseline is production as is.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar DropoutBenchmark}; a lab variant
 * against production: {@code ... DropoutBenchmark -p variant=baseline,mul32-pairs}
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
public class DropoutBenchmark {
    /** The mask is exact (bit-for-bit Philox); y = x * mask is one float multiply. */
    static final double ATOL = 0, RTOL = 1e-6;
    /** dcgan-28's dropout rate. */
    static final float P = 0.3f;
    static final long SEED = 11, OFFSET = 5;

    @Param({"cpu"})
    public String backend;

    @Param({"2"})
    public int threads;

    /** The kernel lab's variant of the op (KernelLab: baseline is production as is). */
    @Param({"baseline"})
    public String variant;

    @Param({"forward", "backward"})
    public String op;

    @Param({"64x64x14x14", "64x128x7x7"})
    public String shape;

    private Backend b;
    private Tensor x, mask, y, dx;
    private Runnable call;

    @Setup(Level.Trial)
    public void setUp() {
        b = OpBench.backend(backend, threads);
        b = KernelLab.find("dropout:" + variant, KernelLab.deviceOf(b)).getFirst().on(b);
        Shape s = OpBench.shape(shape);
        float[] hx = OpBench.uniform(s.size(), 1, -1f, 1f);
        x = b.fromHost(hx, s);
        mask = b.allocate(s);
        y = b.allocate(s);
        dx = b.allocate(s);
        Runnable forward = () -> b.dropoutForward(x, mask, y, P, SEED, OFFSET);
        call = switch (op) {
            case "forward" -> forward;
            case "backward" -> () -> b.dropoutBackward(x, mask, dx);   // x stands in for dy
            default -> throw new IllegalArgumentException("unknown op '" + op + "'; use forward or backward");
        };
        forward.run();   // the mask the backward reads
        run();

        // check the result once, so a broken kernel cannot be timed
        float[] hm = OpBench.download(b, mask), out = OpBench.download(b, op.equals("forward") ? y : dx);
        float scale = 1f / (1f - P);
        for (int i : OpBench.spots(s.size(), 16)) {
            OpBench.check(shape + " dropout mask[" + i + "]", hm[i], Philox.uniformAt(SEED, OFFSET, i) <= P ? 0f : scale, 0, 0);
            OpBench.check(shape + " dropout " + op + "[" + i + "]", out[i], (double) hx[i] * hm[i], ATOL, RTOL);
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
