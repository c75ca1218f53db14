package dev.jgan.bench;

import dev.jgan.backend.Backend;
import dev.jgan.cpu.CpuBackend;
import dev.jgan.gan.Bench;
import dev.jgan.gan.GanTrainer;
import dev.jgan.gan.Presets;
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
 * One whole GAN training step (G forward, D update on real and fake, G update through D), the
 * step `./gan bench` and shared/peers/torch_gan_bench.py time.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar TrainStep -rf json -rff step.json}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
// 5 x 1 s warm-up: C2 has compiled the Vector API kernels well before that.
@Warmup(iterations = 5, time = 1)
// 5 x 2 s measured: a step is 9 ms to 1 s, so each iteration averages over 2 to 200 steps.
@Measurement(iterations = 5, time = 2)
// One fork with the flags the launcher uses; more forks only re-measure the same JIT on 2 cores.
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class TrainStepBenchmark {
    @Param({"mlp-gan", "dcgan-28", "dcgan-64"})
    public String preset;

    @Param({"64"})
    public int batch;

    @Param({"2"})
    public int threads;

    private Backend backend;
    private GanTrainer trainer;

    @Setup(Level.Trial)
    public void setUp() {
        backend = new CpuBackend(threads);
        trainer = Bench.trainer(backend, Presets.get(preset), batch);
        trainer.step();
        // check the result once, so a broken kernel cannot be timed
        if (!trainer.readStats().finite()) throw new IllegalStateException(preset + ": first step gave non-finite losses");
    }

    @Benchmark
    public void step() {
        trainer.step();
        backend.synchronize();
    }

    @TearDown(Level.Trial)
    public void check() {
        if (!trainer.readStats().finite()) throw new IllegalStateException(preset + ": losses became non-finite while timing");
        backend.close();
    }
}
