package dev.jgan.bench.lab;

import dev.jgan.backend.Backend;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * CUDA variants timed on the GPU with CUDA events ({@link Backend#timer()}): warm-up and
 * repetitions by a time budget, the L2 flushed before every repetition by writing a buffer
 * larger than any L2 ({@code backend.fill}, outside the timed span), so each call reads its
 * inputs from HBM as it does in training, not from the previous repetition's cache lines.
 *
 * <p>The GPU's roofline, measured at the start: a device-to-device copy of a 1 GiB tensor
 * (GB/s = 2 * bytes / time: read and write) and, as there is no FMA kernel of jgan's, a large
 * square GEMM through {@code backend.gemm} (cuBLAS SGEMM; 2mnk flops), which on a data-centre
 * GPU runs near its FP32 FMA peak.
 *
 * @param warmupSeconds  warm-up budget per measurement (at least {@link #MIN_WARMUP} calls)
 * @param measureSeconds measurement budget per measurement (at least {@link #MIN_REPETITIONS}, at most {@link #MAX_REPETITIONS})
 * @param flushBytes     the L2 flush buffer (256 MiB: H100's L2 is 50 MiB, H200's 60 MiB)
 * @param copyBytes      the roofline copy's tensor size (1 GiB)
 * @param gemmSize       the roofline GEMM's m = n = k (8192: 1.1 TFLOP)
 */
public record CudaTiming(double warmupSeconds, double measureSeconds, long flushBytes, long copyBytes, int gemmSize) {
    static final int MIN_WARMUP = 3, MIN_REPETITIONS = 5, MAX_REPETITIONS = 2000;

    public static CudaTiming defaults(double warmupSeconds, double measureSeconds) {
        return new CudaTiming(warmupSeconds, measureSeconds, 256L << 20, 1L << 30, 8192);
    }

    /** The GPU's bandwidth (copy) and FMA throughput (GEMM), best of a few repetitions each. */
    public Measurement.Peaks roofline(Backend b) {
        Tensor src = b.allocate(Shape.of(Math.toIntExact(copyBytes / Float.BYTES))), dst = b.allocate(src.shape());
        b.fill(src, 1f);
        double copy = best(b, () -> b.copy(src, dst), 5);
        int n = gemmSize;
        Tensor a = b.allocate(Shape.of(n, n)), bm = b.allocate(Shape.of(n, n)), c = b.allocate(Shape.of(n, n));
        b.fill(a, 0.5f);
        b.fill(bm, 0.25f);
        double gemm = best(b, () -> b.gemm(false, false, n, n, n, 1f, a, bm, 0f, c), 3);
        return new Measurement.Peaks(2.0 * copyBytes / copy / 1e9, 2.0 * n * n * (double) n / gemm / 1e9,
                "device-to-device copy of " + (copyBytes >> 20) + " MiB (backend.copy), 2 x bytes",
                "SGEMM " + n + "^3 through backend.gemm (cuBLAS), 2mnk flops; jgan has no FMA kernel");
    }

    /** The L2 flush buffer on {@code b}: allocate once per backend, pass to {@link #time}. */
    public Tensor flushBuffer(Backend b) {
        return b.allocate(Shape.of(Math.toIntExact(flushBytes / Float.BYTES)));
    }

    /** Per-call times of {@code call} in seconds: warm-up, then repetitions by the budget, {@code flush} written before each. */
    public List<Double> time(Backend b, Runnable call, Tensor flush) {
        try (Backend.Timer timer = b.timer()) {
            long end = System.nanoTime() + (long) (warmupSeconds * 1e9);
            for (int i = 0; i < MIN_WARMUP || System.nanoTime() < end; i++) call.run();
            b.synchronize();
            List<Double> out = new ArrayList<>();
            end = System.nanoTime() + (long) (measureSeconds * 1e9);
            while (out.size() < MIN_REPETITIONS || (System.nanoTime() < end && out.size() < MAX_REPETITIONS)) {
                b.fill(flush, out.size());
                timer.start();
                call.run();
                out.add(timer.stopMillis() / 1e3);
            }
            return out;
        }
    }

    /** The shortest of {@code repetitions} timed runs of {@code call}, seconds, after one untimed run. */
    private static double best(Backend b, Runnable call, int repetitions) {
        call.run();
        try (Backend.Timer timer = b.timer()) {
            double best = Double.POSITIVE_INFINITY;
            for (int r = 0; r < repetitions; r++) {
                timer.start();
                call.run();
                best = Math.min(best, timer.stopMillis() / 1e3);
            }
            return best;
        }
    }

    /**
     * The op's call at {@code shape} on {@code b} (a variant installed), with its inputs in
     * place: the same calls and arguments as the op's JMH benchmark. Correctness is the job of
     * {@code gan kernels check}; this only times.
     */
    public static Runnable call(BenchOp op, String call, String shape, Backend b) {
        Shape s = Shape.of(java.util.Arrays.stream(shape.split("x")).mapToInt(Integer::parseInt).toArray());
        op.traffic(call);   // an unknown call is one line
        int channels = s.rank() > 1 ? s.dim(1) : 1;
        Shape cs = Shape.of(channels);
        Tensor x = random(b, s, 1, -2f, 3f), dy = random(b, s, 2, -1f, 1f), y = b.allocate(s), dx = b.allocate(s);
        return switch (op.op()) {
            case BIAS -> {
                Tensor bias = random(b, cs, 3, -1f, 1f);
                yield call.equals("addBias") ? () -> b.addBias(y, bias) : () -> b.biasGrad(dy, bias, false);
            }
            case DROPOUT -> {
                Tensor mask = b.allocate(s);
                b.dropoutForward(x, mask, y, 0.3f, 11, 5);
                yield call.equals("forward") ? () -> b.dropoutForward(x, mask, y, 0.3f, 11, 5) : () -> b.dropoutBackward(dy, mask, dx);
            }
            case ACTIVATIONS -> {
                float slope = 0.2f;
                Runnable forward = switch (call.replace("Backward", "")) {
                    case "leakyRelu" -> () -> b.leakyRelu(x, y, slope);
                    case "relu" -> () -> b.relu(x, y);
                    case "tanh" -> () -> b.tanh(x, y);
                    default -> () -> b.sigmoid(x, y);
                };
                forward.run();
                yield !call.endsWith("Backward") ? forward : switch (call) {
                    case "leakyReluBackward" -> () -> b.leakyReluBackward(y, dy, dx, slope);
                    case "reluBackward" -> () -> b.reluBackward(y, dy, dx);
                    case "tanhBackward" -> () -> b.tanhBackward(y, dy, dx);
                    default -> () -> b.sigmoidBackward(y, dy, dx);
                };
            }
            case BATCH_NORM -> {
                Tensor gamma = random(b, cs, 3, 0.5f, 1.5f), beta = random(b, cs, 4, -0.5f, 0.5f);
                Tensor mean = random(b, cs, 5, -0.5f, 0.5f), var = random(b, cs, 6, 0.5f, 2f);
                Tensor saveMean = b.allocate(cs), saveInvStd = b.allocate(cs), dGamma = b.allocate(cs), dBeta = b.allocate(cs);
                Runnable train = () -> b.batchNormTrain(x, gamma, beta, mean, var, 0.1f, 1e-5f, y, saveMean, saveInvStd);
                train.run();
                yield switch (call) {
                    case "train" -> train;
                    case "backward" -> () -> b.batchNormBackward(x, dy, gamma, saveMean, saveInvStd, dx, dGamma, dBeta, false);
                    default -> () -> b.batchNormInfer(x, gamma, beta, mean, var, 1e-5f, y);
                };
            }
            default -> throw new IllegalArgumentException("no CUDA timing wired for " + op.op().id());
        };
    }

    private static Tensor random(Backend b, Shape s, long seed, float lo, float hi) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] h = new float[s.intSize()];
        for (int i = 0; i < h.length; i++) h[i] = lo + (hi - lo) * (float) r.nextDouble();
        return b.fromHost(h, s);
    }
}
