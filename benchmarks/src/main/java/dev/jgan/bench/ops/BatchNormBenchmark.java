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
 * {@code Backend.batchNormTrain}, {@code batchNormBackward} and {@code batchNormInfer} at every
 * batch-norm input of the presets at batch 64:
 * <pre>
 *   64x256, 64x512, 64x1024   mlp-gan G (BatchNorm1d after each hidden Dense)
 *   64x12544                  dcgan-28 G (BatchNorm1d over the 7*7*256 features of its Dense)
 *   64x128x7x7, 64x64x14x14   dcgan-28 G (after each ConvT)
 *   64x512x4x4 ... 64x64x32x32  dcgan-64 G (after each ConvT); D's BNs have the same shapes
 * </pre>
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar BatchNormBenchmark -p op=train}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
// 3 x 0.5 s warm-up: a call is 10 us to 10 ms, so C2 has compiled the Vector API loops after a few hundred calls.
@Warmup(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
// 5 x 0.5 s measured: at least fifty calls per iteration.
@Measurement(iterations = 5, time = 500, timeUnit = TimeUnit.MILLISECONDS)
// One fork with the launcher's flags; more forks only re-measure the same JIT on 2 cores.
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class BatchNormBenchmark {
    /** Loose: float32 sums over up to 65,536 values per channel against a double reference. */
    static final double ATOL = 1e-4, RTOL = 1e-3;
    /** dcgan-64's (PyTorch's) values; they change no timing. */
    static final float MOMENTUM = 0.1f, EPS = 1e-5f;

    @Param({"cpu"})
    public String backend;

    @Param({"2"})
    public int threads;

    /** The kernel lab's variant of the op (KernelLab: baseline is production as is). */
    @Param({"baseline"})
    public String variant;

    @Param({"train", "backward", "infer"})
    public String op;

    @Param({"64x256", "64x512", "64x1024", "64x12544", "64x128x7x7", "64x64x14x14",
            "64x512x4x4", "64x256x8x8", "64x128x16x16", "64x64x32x32"})
    public String shape;

    private Backend b;
    private Tensor x, y, dy, dx, gamma, beta, runningMean, runningVar, saveMean, saveInvStd, dGamma, dBeta;
    private Runnable call;

    @Setup(Level.Trial)
    public void setUp() {
        b = OpBench.backend(backend, threads);
        b = KernelLab.find("batch_norm:" + variant, KernelLab.deviceOf(b)).getFirst().on(b);
        Shape xs = OpBench.shape(shape), cs = Shape.of(xs.dim(1));
        int channels = xs.dim(1), spatial = xs.spatial(), n = xs.dim(0);
        float[] hx = OpBench.uniform(xs.size(), 1, -2f, 3f), hdy = OpBench.uniform(xs.size(), 2, -1f, 1f);
        float[] hGamma = OpBench.uniform(channels, 3, 0.5f, 1.5f), hBeta = OpBench.uniform(channels, 4, -0.5f, 0.5f);
        float[] hMean = OpBench.uniform(channels, 5, -0.5f, 0.5f), hVar = OpBench.uniform(channels, 6, 0.5f, 2f);
        x = b.fromHost(hx, xs);
        dy = b.fromHost(hdy, xs);
        y = b.allocate(xs);
        dx = b.allocate(xs);
        gamma = b.fromHost(hGamma, cs);
        beta = b.fromHost(hBeta, cs);
        runningMean = b.fromHost(hMean, cs);
        runningVar = b.fromHost(hVar, cs);
        saveMean = b.allocate(cs);
        saveInvStd = b.allocate(cs);
        dGamma = b.allocate(cs);
        dBeta = b.allocate(cs);
        Runnable train = () -> b.batchNormTrain(x, gamma, beta, runningMean, runningVar, MOMENTUM, EPS, y, saveMean, saveInvStd);
        call = switch (op) {
            case "train" -> train;
            case "backward" -> () -> b.batchNormBackward(x, dy, gamma, saveMean, saveInvStd, dx, dGamma, dBeta, false);
            case "infer" -> () -> b.batchNormInfer(x, gamma, beta, runningMean, runningVar, EPS, y);
            default -> throw new IllegalArgumentException("unknown op '" + op + "'; use train, backward or infer");
        };
        if (op.equals("backward")) train.run();   // the statistics the backward reads
        run();

        // check the result once, so a broken kernel cannot be timed: three channels, eight elements each
        float[] out = OpBench.download(b, op.equals("backward") ? dx : y);
        float[] mean = OpBench.download(b, saveMean), invStd = OpBench.download(b, saveInvStd);
        float[] gGamma = OpBench.download(b, dGamma), gBeta = OpBench.download(b, dBeta);
        int m = n * spatial;
        for (int c : new int[] {0, channels / 2, channels - 1}) {
            double sum = 0, squares = 0;
            for (int j = 0; j < m; j++) sum += hx[at(j, c, channels, spatial)];
            double mu = sum / m;
            for (int j = 0; j < m; j++) squares += Math.pow(hx[at(j, c, channels, spatial)] - mu, 2);
            double is = 1 / Math.sqrt(squares / m + EPS);
            double sumDy = 0, sumDyXhat = 0;
            for (int j = 0; j < m; j++) {
                int i = at(j, c, channels, spatial);
                sumDy += hdy[i];
                sumDyXhat += hdy[i] * (hx[i] - mu) * is;
            }
            String where = shape + " " + op + " channel " + c;
            if (!op.equals("infer")) {
                OpBench.check(where + " mean", mean[c], mu, ATOL, RTOL);
                OpBench.check(where + " invStd", invStd[c], is, ATOL, RTOL);
            }
            if (op.equals("backward")) {   // scale sqrt(M): the size of a sum of M zero-mean terms
                OpBench.check(where + " dBeta", gBeta[c], sumDy, ATOL, RTOL, Math.sqrt(m));
                OpBench.check(where + " dGamma", gGamma[c], sumDyXhat, ATOL, RTOL, Math.sqrt(m));
            }
            for (int j : OpBench.spots(m, 8)) {
                int i = at(j, c, channels, spatial);
                double xhat = (hx[i] - mu) * is, ref = switch (op) {
                    case "train" -> hGamma[c] * xhat + hBeta[c];
                    case "backward" -> hGamma[c] * is / m * (m * (double) hdy[i] - sumDy - xhat * sumDyXhat);
                    default -> hGamma[c] * (hx[i] - hMean[c]) / Math.sqrt(hVar[c] + EPS) + hBeta[c];
                };
                OpBench.check(where + " element " + i, out[i], ref, ATOL, RTOL);
            }
        }
    }

    /** Index of the j-th of the N * S values of channel c in (N, C, S). */
    private static int at(int j, int c, int channels, int spatial) {
        return (j / spatial * channels + c) * spatial + j % spatial;
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
