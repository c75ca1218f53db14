package dev.jgan.lab.cuda;

import dev.jgan.cuda.Dim3;
import dev.jgan.cuda.KernelArgs;
import dev.jgan.cuda.Kernels;
import dev.jgan.lab.CudaRoute;

import java.util.Map;

/**
 * Launch rules of the kernel lab's batch_norm small-spatial variant
 * (kernels/lab/batch_norm/small_spatial.cu): the per-channel batch-norm kernels (plain, ReLU and
 * LeakyReLU, forward and backward) go to tile kernels for planes of 2 to {@value #MAX_SPATIAL}
 * values; larger planes keep production, whose warps already read runs of at least 128 bytes.
 * (S == 1 never reaches these rules: {@code Kernels} launches the (N, C) tile kernels then.)
 *
 * <p>Block (lanes, rows): a row of {@code lanes} threads (a multiple of 32) reads one item's run of
 * lanes / S whole channels; lanes is the smallest width whose idle tail is at most 1/8 of the row
 * (else the least idle one), no wider than the tensor's C * S needs; rows = min(256 / lanes, N)
 * item stripes; grid ceil(C / (lanes / S)). E.g. (64, 512, 4, 4): lanes 32 (2 channels), rows 8,
 * grid 256; S = 9: lanes 64 (7 channels, 63 busy lanes). A thread with at most 8 items (N <= 8 rows)
 * keeps them in registers between passes: x is read once (the kernel file's bytes per element).
 */
public final class BatchNormSmallSpatial {
    /** Largest plane the variant takes: from 32 floats on, production's warps read whole 128-byte runs. */
    public static final int MAX_SPATIAL = 32;
    /** Threads per block: JGAN_LAB_BN_MAX_THREADS in the kernel file (its shared arrays' size). */
    static final int MAX_THREADS = 256;
    /** Channels per tile at most: JGAN_LAB_BN_MAX_TILE in the kernel file. */
    static final int MAX_TILE = 128;

    private BatchNormSmallSpatial() {}

    /** Production kernel name -> the rule that sends its small-plane launches to the lab kernel. */
    public static Map<String, CudaRoute.Rule> rules() {
        return Map.of(
                "batch_norm_forward", to("lab_batch_norm_small_spatial_forward"),
                "batch_norm_backward", to("lab_batch_norm_small_spatial_backward"),
                "batch_norm_relu_forward", to("lab_batch_norm_small_spatial_relu_forward"),
                "batch_norm_relu_backward", to("lab_batch_norm_small_spatial_relu_backward"),
                "batch_norm_leaky_relu_forward", to("lab_batch_norm_small_spatial_leaky_relu_forward"),
                "batch_norm_leaky_relu_backward", to("lab_batch_norm_small_spatial_leaky_relu_backward"));
    }

    /** The lab kernels, in {@link #rules()}' order. */
    public static java.util.List<String> kernels() {
        return java.util.List.of("lab_batch_norm_small_spatial_forward", "lab_batch_norm_small_spatial_backward",
                "lab_batch_norm_small_spatial_relu_forward", "lab_batch_norm_small_spatial_relu_backward",
                "lab_batch_norm_small_spatial_leaky_relu_forward", "lab_batch_norm_small_spatial_leaky_relu_backward");
    }

    // every per-channel batch-norm kernel ends with (int64 n, int64 c, int64 s)
    private static CudaRoute.Rule to(String labKernel) {
        return production -> {
            KernelArgs a = production.args();
            int last = a.count() - 1;
            long n = a.i64At(last - 2), c = a.i64At(last - 1), s = a.i64At(last);
            Tile t = Tile.of(n, c, s);
            return t == null ? null : new Kernels.Launch(labKernel, t.grid(), t.block(), 0, a);
        };
    }

    /** A launch shape: {@code lanes} threads a row holding {@code channels} whole channels, {@code rows} item stripes, {@code blocks} tiles. */
    record Tile(int lanes, int rows, int channels, int blocks) {
        Dim3 grid() { return Dim3.of(blocks); }

        Dim3 block() { return Dim3.of(lanes, rows); }

        /** The shape for (n, c, s), or null where production is kept (s outside 2..{@value #MAX_SPATIAL}). */
        static Tile of(long n, long c, long s) {
            if (s < 2 || s > MAX_SPATIAL || n < 1 || c < 1) return null;
            long widest = Math.min(MAX_THREADS, Math.max(32, (c * s + 31) / 32 * 32));  // no wider than C * S needs
            int best = 32;
            double bestBusy = 0;
            for (int lanes = 32; lanes <= widest; lanes += 32) {
                long channels = lanes / s;
                if (channels > MAX_TILE) break;
                double busy = (double) (channels * s) / lanes;
                if (busy > bestBusy) {
                    best = lanes;
                    bestBusy = busy;
                }
                if (busy >= 7.0 / 8) break;
            }
            int channels = (int) (best / s);
            int rows = (int) Math.min(MAX_THREADS / best, n);
            return new Tile(best, rows, channels, (int) ((c + channels - 1) / channels));
        }
    }
}
