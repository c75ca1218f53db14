package dev.jgan.gan;

import dev.jgan.backend.Backend;
import dev.jgan.backend.CallObserver;
import dev.jgan.tensor.Tensor;


/**
 * The floating-point work of one training step, counted from the calls the step makes ({@link CallObserver},
 * as {@code gan check}'s preset cases are found): the GEMMs, 2 m n k each,
 * and the convolutions, 2 N K P Q C R S for each of the three calls (forward, data and filter
 * gradients). Everything else (bias, batch norm, activations, the loss, Adam) is a few FLOPs an
 * element and is not counted, as the FLOP counts of the GAN literature and of PyTorch's profiler
 * leave it out. So a step's GFLOP/s is that of its arithmetic-heavy calls over the whole step's time.
 */
public final class StepFlops {
    private StepFlops() {}

    /**
     * FLOPs of one step of {@code p} at {@code batch}, counted on {@code b} (which runs the step).
     * Every counted call has the batch as one factor of its size (a GEMM's m or n, a convolution's
     * N), so a step's count is affine in the batch: it is counted at batches 2 and 4 and extended,
     * and the count takes a few MB rather than a second trainer of the measured size.
     */
    public static long count(Backend b, Preset p, int batch) {
        if (batch <= 4) return counted(b, p, batch);
        long two = counted(b, p, 2), four = counted(b, p, 4);
        return two + (batch - 2L) * (four - two) / 2;
    }

    /** FLOPs of one step of {@code p} at {@code batch}, counted from a step at that size. */
    static long counted(Backend b, Preset p, int batch) {
        long[] total = new long[1];
        Bench.trainer(CallObserver.wrap(b, (call, args) -> total[0] += of(call, args)), p, batch).step();
        return total[0];
    }

    /** FLOPs of one Backend call by its name and arguments: a GEMM or a convolution call, else 0. */
    static long of(String call, Object[] a) {
        return switch (call) {
            // gemm(transA, transB, m, n, k, alpha, A, B, beta, C)
            case "gemm" -> 2L * (int) a[2] * (int) a[3] * (int) a[4];
            // conv2dForward(x, w, y, g): 2 per multiply-add, C R S of them for each of y's N K P Q values
            case "conv2dForward" -> 2 * ((Tensor) a[2]).size() * taps((Tensor) a[1]);
            // conv2dBackwardData(dy, w, dx, g) and conv2dBackwardFilter(x, dy, dw, g, acc): as many, over dy
            case "conv2dBackwardData" -> 2 * ((Tensor) a[0]).size() * taps((Tensor) a[1]);
            case "conv2dBackwardFilter" -> 2 * ((Tensor) a[1]).size() * taps((Tensor) a[2]);
            default -> 0;
        };
    }

    /** C R S: the multiply-adds behind one output value of a convolution with weights (K, C, R, S). */
    private static long taps(Tensor w) {
        return w.size() / w.shape().dim(0);
    }
}
