package dev.jgan.cuda;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The launch settings and argument packing of every kernel in kernels/*.cu, in one place: the
 * CUDA backend calls these methods, and they run unchanged on a GPU ({@link CudaLauncher}) and in
 * the host emulation ({@link EmulatedLauncher}). Arguments are checked before the launch; a
 * failure names the op and the bad value.
 *
 * <p>Conventions: pointers are device addresses ({@code long}, 4-byte aligned, never 0 unless a
 * parameter says so); tensors are float32, NCHW, dense; a per-channel op sees x as (n, c, s) with
 * s the spatial extent (H * W, or 1 for an (N, C) tensor). Input gradients are written (=);
 * parameter gradients are written or, with {@code accumulate}, added (+=). The semantics of each
 * op are {@code dev.jgan.backend.Backend}'s; the kernel files say them again beside the code.
 *
 * <p>Launch settings (what a GPU run is judged by; bytes moved per element are in the kernel files):
 * <ul>
 *   <li>Elementwise (activations, bias add, the elementwise product, inference batch norm, SGD,
 *       Philox fills, dropout):
 *       {@value #BLOCK} threads a block, grid = min(ceil(work / {@value #BLOCK}),
 *       {@value #BLOCKS_PER_SM} x SMs), grid-stride loops; work is the element count, or the
 *       Philox block count n / 4 for fills and dropout (a thread draws four numbers).</li>
 *   <li>Per-channel reductions for s > 1 (bias gradient, batch norm forward and backward, plain
 *       and fused): one block of {@value #BLOCK} threads per channel, grid c.</li>
 *   <li>The same for s == 1 ((N, C) tensors): tiles of {@value #TILE_CHANNELS} channels by
 *       {@value #TILE_ROWS} row stripes, block ({@value #TILE_CHANNELS}, {@value #TILE_ROWS}),
 *       grid ceil(c / {@value #TILE_CHANNELS}), so that a warp reads 32 consecutive floats.</li>
 *   <li>BCE and softmax cross-entropy: one block of {@value #BLOCK} threads (n is the batch
 *       size; one block reduces deterministically). Softmax: one thread per row, elementwise
 *       grid over the rows (k is a class count).</li>
 *   <li>Spectral norm: M^T u one thread per column and the scaling elementwise; M v one block of
 *       {@value #BLOCK} threads per row, grid rows; the dot products one block.</li>
 *   <li>2x2 max pooling: elementwise over the outputs (forward) or over dx (backward); EMA:
 *       elementwise.</li>
 *   <li>Adam: tables of up to {@value #ADAM_MAX_TENSORS} tensors by value, one launch per table;
 *       tiles of {@value #ADAM_TILE} elements, {@value #BLOCK} threads a block,
 *       grid = min(tiles, {@value #BLOCKS_PER_SM} x SMs).</li>
 *   <li>DiffAugment: colour one block of {@value #BLOCK} threads per image, grid n (its mean is
 *       one block's deterministic sum); translation and cutout elementwise over the output.</li>
 * </ul>
 * No kernel uses dynamic shared memory; the reductions' static shared memory is at most 2.1 KiB.
 *
 * <p>Argument packing: each kernel has one launch site here, a {@link KernelArgs} laid out by its
 * first launch and rewritten in place by every later one (the Adam table too); grids come from a
 * cache and the block shapes are constants, so a launch allocates nothing on the Java heap, and a
 * launcher can prepare what points into a site once (the CUDA launcher's kernelParams).
 */
public final class Kernels {
    /** Threads per 1-D block: 8 warps, a multiple of 32 as the block reductions require. */
    public static final int BLOCK = 256;
    /** Blocks of 256 threads resident per SM on sm_80 and sm_90 (2048 threads): caps elementwise grids at one wave. */
    public static final int BLOCKS_PER_SM = 8;
    /** Channels per (N, C) tile: one warp across a row. */
    public static final int TILE_CHANNELS = 32;
    /** Row stripes per (N, C) tile: JGAN_TILE_ROWS in kernels/common.cuh. */
    public static final int TILE_ROWS = 8;
    /** Tensors per Adam launch: JGAN_ADAM_MAX_TENSORS in kernels/adam.cu (the table is kernel parameters, under 4 KiB). */
    public static final int ADAM_MAX_TENSORS = 48;
    /** Elements per Adam tile: JGAN_ADAM_TILE in kernels/adam.cu. */
    public static final int ADAM_TILE = 4096;
    /** sizeof(JganAdamTable): int count, then int64 tile_start[49], int64 size[48], four pointer arrays [48]. */
    static final int ADAM_TABLE_BYTES = 8 + (ADAM_MAX_TENSORS + 1) * 8 + ADAM_MAX_TENSORS * 8 * 5;

    /** Every kernel of kernels/*.cu, as this class launches them. */
    public static final List<String> NAMES = List.of(
            "leaky_relu_forward", "leaky_relu_backward", "relu_forward", "relu_backward",
            "tanh_forward", "tanh_backward", "sigmoid_forward", "sigmoid_backward",
            "bias_forward", "bias_backward", "bias_nc_backward", "multiply_forward",
            "batch_norm_forward", "batch_norm_backward", "batch_norm_nc_forward", "batch_norm_nc_backward",
            "batch_norm_infer_forward",
            "batch_norm_relu_forward", "batch_norm_relu_backward", "batch_norm_relu_nc_forward", "batch_norm_relu_nc_backward",
            "batch_norm_leaky_relu_forward", "batch_norm_leaky_relu_backward",
            "batch_norm_leaky_relu_nc_forward", "batch_norm_leaky_relu_nc_backward",
            "bce_with_logits_forward", "critic_loss_forward", "adam_forward", "sgd_forward", "rmsprop_forward",
            "clamp_forward",
            "spectral_norm_wtu_forward", "spectral_norm_wv_forward", "spectral_norm_dot_forward",
            "spectral_norm_normalize_forward", "spectral_norm_scale_forward", "spectral_norm_backward",
            "philox_uniform_forward", "philox_normal_forward", "philox_bernoulli_forward",
            "dropout_forward", "dropout_backward",
            "softmax_forward", "softmax_cross_entropy_forward", "max_pool_2x2_forward", "max_pool_2x2_backward",
            "ema_forward",
            "diff_augment_color_forward", "diff_augment_color_backward", "diff_augment_translation_forward",
            "diff_augment_translation_backward", "diff_augment_cutout_forward");

    /** One launch as this class configures it. */
    public record Launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {}

    /** 1-D grid extents kept as one Dim3 each (elementwise grids are capped far below; per-channel grids are channel counts). */
    private static final int GRID_CACHE = 1 << 14;
    private static final Dim3 BLOCK_1D = Dim3.of(BLOCK), TILE_BLOCK = Dim3.of(TILE_CHANNELS, TILE_ROWS);

    private final KernelLauncher launcher;
    private final int gridCap;
    /** Each kernel's launch site: its arguments, laid out by the first launch and rewritten by every launch. */
    private final Map<String, KernelArgs> sites = new HashMap<>();
    private final Dim3[] grids = new Dim3[GRID_CACHE];
    private String lastKernel;
    private Dim3 lastGrid, lastBlock;
    private KernelArgs lastArgs;

    public Kernels(KernelLauncher launcher) {
        this.launcher = launcher;
        this.gridCap = Math.max(1, launcher.multiprocessors()) * BLOCKS_PER_SM;
        for (String k : NAMES) sites.put(k, KernelArgs.site(k));
    }

    public KernelLauncher launcher() { return launcher; }

    /** The most recent launch (for tests and reports); its arguments are the site's, rewritten by the next launch of that kernel. */
    public Launch lastLaunch() { return lastKernel == null ? null : new Launch(lastKernel, lastGrid, lastBlock, 0, lastArgs); }

    // ---- activations: forward y = f(x); backward from the saved output y -----------------------

    /** y = x > 0 ? x : slope * x (y may alias x). */
    public void leakyReluForward(long x, long y, long n, float slope) {
        String op = "leakyReluForward";
        count(op, "n", n);
        elementwise(n, args("leaky_relu_forward").pointer(ptr(op, "x", x)).pointer(ptr(op, "y", y)).i64(n).f32(slope));
    }

    /** dx = y > 0 ? dy : slope * dy; valid for slope >= 0 (dx may alias dy). */
    public void leakyReluBackward(long y, long dy, long dx, long n, float slope) {
        String op = "leakyReluBackward";
        count(op, "n", n);
        slope(op, slope);
        elementwise(n, args("leaky_relu_backward").pointer(ptr(op, "y", y)).pointer(ptr(op, "dy", dy))
                .pointer(ptr(op, "dx", dx)).i64(n).f32(slope));
    }

    /** y = max(x, 0). */
    public void reluForward(long x, long y, long n) { unary("reluForward", "relu_forward", x, y, n); }

    /** dx = y > 0 ? dy : 0. */
    public void reluBackward(long y, long dy, long dx, long n) { binary("reluBackward", "relu_backward", y, dy, dx, n); }

    /** y = tanh(x). */
    public void tanhForward(long x, long y, long n) { unary("tanhForward", "tanh_forward", x, y, n); }

    /** dx = dy * (1 - y^2). */
    public void tanhBackward(long y, long dy, long dx, long n) { binary("tanhBackward", "tanh_backward", y, dy, dx, n); }

    /** y = 1 / (1 + exp(-x)). */
    public void sigmoidForward(long x, long y, long n) { unary("sigmoidForward", "sigmoid_forward", x, y, n); }

    /** dx = dy * y * (1 - y). */
    public void sigmoidBackward(long y, long dy, long dx, long n) { binary("sigmoidBackward", "sigmoid_backward", y, dy, dx, n); }

    // ---- bias -----------------------------------------------------------------------------------

    /** y[n, c, s] += bias[c] for y (n, c, s) and bias (c). */
    public void biasForward(long y, long bias, int n, int c, int s) {
        String op = "biasForward";
        long total = shape(op, n, c, s);
        elementwise(total, args("bias_forward").pointer(ptr(op, "y", y)).pointer(ptr(op, "bias", bias)).i64(n).i64(c).i64(s));
    }

    /** dBias[c] (=|+=) sum over n, s of dy[n, c, s]. */
    public void biasBackward(long dy, long dBias, int n, int c, int s, boolean accumulate) {
        String op = "biasBackward";
        shape(op, n, c, s);
        KernelArgs a = args(s == 1 ? "bias_nc_backward" : "bias_backward").pointer(ptr(op, "dy", dy)).pointer(ptr(op, "dBias", dBias))
                .i32(accumulate ? 1 : 0).i64(n).i64(c);
        if (s == 1) tile(c, a);
        else perChannel(c, a.i64(s));
    }

    // ---- elementwise product ------------------------------------------------------------------

    /**
     * y = a * b over n floats, one product each: b[i / rowLength] for element i, so rowLength 1 is
     * b of a's size and rowLength F is one value of b per row of F elements (n a multiple of F).
     * y may alias a (and b when rowLength is 1).
     */
    public void multiply(long a, long b, long y, long n, long rowLength) {
        String op = "multiply";
        count(op, "n", n);
        if (rowLength < 1 || n % rowLength != 0)
            throw new IllegalArgumentException(op + ": rowLength must be at least 1 and divide n = " + n + ", got " + rowLength);
        elementwise(n, args("multiply_forward").pointer(ptr(op, "a", a)).pointer(ptr(op, "b", b)).pointer(ptr(op, "y", y))
                .i64(n).i64(rowLength));
    }

    // ---- batch norm (x: (n, c, s); gamma, beta, running and saved statistics: (c)) -----------

    /**
     * Training forward: batch mean and biased variance per channel (two passes in double),
     * y = gamma (x - mean) invStd + beta, invStd = 1 / sqrt(var + eps); running statistics with
     * PyTorch's momentum ({@code running = (1 - m) running + m batch}, unbiased variance, no
     * variance update when n * s == 1); saves mean and invStd. y may alias x.
     */
    public void batchNormForward(long x, long gamma, long beta, long runningMean, long runningVar, float momentum, float eps,
                                 long y, long saveMean, long saveInvStd, int n, int c, int s) {
        bnForward("batchNormForward", "batch_norm_nc_forward", "batch_norm_forward", false, 0f, x, gamma, beta, runningMean, runningVar, momentum, eps, y,
                saveMean, saveInvStd, n, c, s);
    }

    /** {@link #batchNormForward} then y = max(y, 0), in one kernel. */
    public void batchNormReluForward(long x, long gamma, long beta, long runningMean, long runningVar, float momentum, float eps,
                                     long y, long saveMean, long saveInvStd, int n, int c, int s) {
        bnForward("batchNormReluForward", "batch_norm_relu_nc_forward", "batch_norm_relu_forward", false, 0f, x, gamma, beta, runningMean, runningVar, momentum, eps, y,
                saveMean, saveInvStd, n, c, s);
    }

    /** {@link #batchNormForward} then y = y > 0 ? y : slope * y (slope >= 0), in one kernel. */
    public void batchNormLeakyReluForward(long x, long gamma, long beta, long runningMean, long runningVar, float momentum,
                                          float eps, float slope, long y, long saveMean, long saveInvStd, int n, int c, int s) {
        bnForward("batchNormLeakyReluForward", "batch_norm_leaky_relu_nc_forward", "batch_norm_leaky_relu_forward", true, slope, x, gamma, beta, runningMean, runningVar,
                momentum, eps, y, saveMean, saveInvStd, n, c, s);
    }

    /** Inference: y = gamma (x - runningMean) / sqrt(runningVar + eps) + beta. y may alias x. */
    public void batchNormInfer(long x, long gamma, long beta, long runningMean, long runningVar, float eps, long y,
                               int n, int c, int s) {
        String op = "batchNormInfer";
        long total = shape(op, n, c, s);
        epsilon(op, eps);
        elementwise(total, args("batch_norm_infer_forward").pointer(ptr(op, "x", x)).pointer(ptr(op, "gamma", gamma))
                .pointer(ptr(op, "beta", beta)).pointer(ptr(op, "runningMean", runningMean))
                .pointer(ptr(op, "runningVar", runningVar)).f32(eps).pointer(ptr(op, "y", y)).i64(n).i64(c).i64(s));
    }

    /**
     * Backward of {@link #batchNormForward}: with xhat = (x - mean) invStd, dBeta (=|+=) sum dy,
     * dGamma (=|+=) sum dy xhat, dx = gamma invStd / M (M dy - sum dy - xhat sum(dy xhat)),
     * M = n * s. dx may alias dy.
     */
    public void batchNormBackward(long x, long dy, long gamma, long saveMean, long saveInvStd, long dx, long dGamma, long dBeta,
                                  boolean accumulate, int n, int c, int s) {
        bnBackward("batchNormBackward", "batch_norm_nc_backward", "batch_norm_backward", 0L, false, 0f, x, dy, gamma, saveMean, saveInvStd, dx, dGamma, dBeta,
                accumulate, n, c, s);
    }

    /**
     * Backward of {@link #batchNormReluForward} given dy of its output: recomputes z = bn(x) from x,
     * gamma, beta and the saved statistics, dz = z > 0 ? dy : 0, then {@link #batchNormBackward} of dz.
     */
    public void batchNormReluBackward(long x, long dy, long gamma, long beta, long saveMean, long saveInvStd, long dx,
                                      long dGamma, long dBeta, boolean accumulate, int n, int c, int s) {
        bnBackward("batchNormReluBackward", "batch_norm_relu_nc_backward", "batch_norm_relu_backward", ptr("batchNormReluBackward", "beta", beta), false, 0f, x, dy,
                gamma, saveMean, saveInvStd, dx, dGamma, dBeta, accumulate, n, c, s);
    }

    /** As {@link #batchNormReluBackward} with dz = z > 0 ? dy : slope * dy (slope >= 0). */
    public void batchNormLeakyReluBackward(long x, long dy, long gamma, long beta, float slope, long saveMean, long saveInvStd,
                                           long dx, long dGamma, long dBeta, boolean accumulate, int n, int c, int s) {
        bnBackward("batchNormLeakyReluBackward", "batch_norm_leaky_relu_nc_backward", "batch_norm_leaky_relu_backward", ptr("batchNormLeakyReluBackward", "beta", beta), true,
                slope, x, dy, gamma, saveMean, saveInvStd, dx, dGamma, dBeta, accumulate, n, c, s);
    }

    // ---- loss -------------------------------------------------------------------------------------

    /**
     * BCE on n logits, loss and gradient in one launch: loss_i = max(l, 0) - l t_i + log(1 + exp(-|l|)),
     * dLogits_i = gradScale (sigmoid(l_i) - t_i) / n; t_i = targets[i], or {@code target} when
     * {@code targets} is 0. Writes stats[slot] = mean loss, stats[slot + 1] = mean sigmoid,
     * stats[slot + 2] = fraction of l > 0. dLogits may alias logits.
     */
    public void bceWithLogits(long logits, long targets, float target, float gradScale, long dLogits, long stats, int slot, long n) {
        String op = "bceWithLogits";
        count(op, "n", n);
        if (slot < 0) throw new IllegalArgumentException(op + ": slot must be at least 0, got " + slot);
        float k = (float) ((double) gradScale / n);
        run(grid(1), BLOCK_1D, args("bce_with_logits_forward").pointer(ptr(op, "logits", logits))
                .pointer(optional(op, "targets", targets)).f32(target).f32(k).pointer(ptr(op, "dLogits", dLogits))
                .pointer(ptr(op, "stats", stats) + 4L * slot).i64(n));
    }

    /**
     * A GAN loss on n raw D outputs, loss and gradient in one launch ({@code kind} a
     * {@link dev.jgan.backend.CriticLoss#code}): linear a l, hinge max(0, 1 - a l), squared
     * (l - a)^2 / 2, dLogits = gradScale dloss/dl / n. Writes stats[slot] = mean loss,
     * stats[slot + 1] = mean l, stats[slot + 2] = fraction above the kind's boundary. dLogits may alias logits.
     */
    public void criticLoss(int kind, long logits, float a, float gradScale, long dLogits, long stats, int slot, long n) {
        String op = "criticLoss";
        count(op, "n", n);
        if (slot < 0) throw new IllegalArgumentException(op + ": slot must be at least 0, got " + slot);
        if (kind < 0 || kind > 2) throw new IllegalArgumentException(op + ": kind must be 0, 1 or 2, got " + kind);
        float k = (float) ((double) gradScale / n);
        run(grid(1), BLOCK_1D, args("critic_loss_forward").pointer(ptr(op, "logits", logits)).i32(kind).f32(a).f32(k)
                .pointer(ptr(op, "dLogits", dLogits)).pointer(ptr(op, "stats", stats) + 4L * slot).i64(n));
    }

    /** Softmax of each row of x (n, k): y = exp(x - max) / sum exp(x - max). y may alias x. */
    public void softmax(long x, long y, int n, int k) {
        String op = "softmax";
        count(op, "n", n);
        count(op, "k", k);
        elementwise(n, args("softmax_forward").pointer(ptr(op, "x", x)).pointer(ptr(op, "y", y)).i64(n).i64(k));
    }

    /**
     * Softmax cross-entropy of logits (n, k) against labels (n, class indices as floats), one
     * launch: loss_r = lse_r - l[r, label_r], dLogits = gradScale (softmax - onehot) / n; writes
     * stats[slot] = mean loss, stats[slot + 1] = accuracy (first maximum == label). dLogits may alias logits.
     */
    public void softmaxCrossEntropy(long logits, long labels, float gradScale, long dLogits, long stats, int slot, int n, int k) {
        String op = "softmaxCrossEntropy";
        count(op, "n", n);
        count(op, "k", k);
        if (slot < 0) throw new IllegalArgumentException(op + ": slot must be at least 0, got " + slot);
        float scale = (float) ((double) gradScale / n);
        run(grid(1), BLOCK_1D, args("softmax_cross_entropy_forward").pointer(ptr(op, "logits", logits))
                .pointer(ptr(op, "labels", labels)).f32(scale).pointer(ptr(op, "dLogits", dLogits))
                .pointer(ptr(op, "stats", stats) + 4L * slot).i64(n).i64(k));
    }

    // ---- pooling (x: (planes = N * C, h, w), y: (planes, h / 2, w / 2)) ----------------------------

    /** 2x2 max pooling, stride 2: y[p, i, j] = max of x[p, 2i..2i+1, 2j..2j+1]. */
    public void maxPool2x2Forward(long x, long y, int planes, int h, int w) {
        String op = "maxPool2x2Forward";
        long outputs = pooled(op, planes, h, w);
        elementwise(outputs, args("max_pool_2x2_forward").pointer(ptr(op, "x", x)).pointer(ptr(op, "y", y))
                .i64(planes).i64(h).i64(w));
    }

    /** dx = dy at each window's first position (row-major) where x equals y, 0 elsewhere (written). */
    public void maxPool2x2Backward(long x, long y, long dy, long dx, int planes, int h, int w) {
        String op = "maxPool2x2Backward";
        pooled(op, planes, h, w);
        elementwise((long) planes * h * w, args("max_pool_2x2_backward").pointer(ptr(op, "x", x)).pointer(ptr(op, "y", y))
                .pointer(ptr(op, "dy", dy)).pointer(ptr(op, "dx", dx)).i64(planes).i64(h).i64(w));
    }

    // ---- averaging ------------------------------------------------------------------------------

    /** avg = decay avg + (1 - decay) x in place, two float products and a sum (no FMA); 0 <= decay <= 1. */
    public void ema(long avg, long x, long n, float decay) {
        String op = "ema";
        count(op, "n", n);
        if (!(decay >= 0f && decay <= 1f)) throw new IllegalArgumentException(op + ": decay must be in [0, 1], got " + decay);
        elementwise(n, args("ema_forward").pointer(ptr(op, "avg", avg)).pointer(ptr(op, "x", x)).i64(n).f32(decay)
                .f32(1f - decay));
    }

    // ---- optimizer ------------------------------------------------------------------------------

    /**
     * Adam step t >= 1 as PyTorch over every tensor k (in place): g = grad + weightDecay p;
     * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
     * One launch per {@value #ADAM_MAX_TENSORS} tensors.
     */
    public void adamStep(long[] params, long[] grads, long[] m, long[] v, long[] sizes,
                         float lr, float beta1, float beta2, float eps, float weightDecay, int t) {
        String op = "adamStep";
        if (t < 1) throw new IllegalArgumentException(op + ": step t must be at least 1, got " + t);
        int count = params.length;
        if (grads.length != count || m.length != count || v.length != count || sizes.length != count)
            throw new IllegalArgumentException(op + ": params, grads, m, v and sizes must have one entry per tensor, got "
                    + count + ", " + grads.length + ", " + m.length + ", " + v.length + ", " + sizes.length);
        for (int k = 0; k < count; k++) { // the names are built only for a failure
            if (sizes[k] < 1) count(op, "sizes[" + k + "]", sizes[k]);
            if (!devicePointer(params[k])) ptr(op, "params[" + k + "]", params[k]);
            if (!devicePointer(grads[k])) ptr(op, "grads[" + k + "]", grads[k]);
            if (!devicePointer(m[k])) ptr(op, "m[" + k + "]", m[k]);
            if (!devicePointer(v[k])) ptr(op, "v[" + k + "]", v[k]);
        }
        // as the CPU backend: the bias corrections in double, rounded to float once
        float stepSize = (float) (lr / (1.0 - Math.pow(beta1, t)));
        float invSqrtBc2 = (float) (1.0 / Math.sqrt(1.0 - Math.pow(beta2, t)));
        for (int from = 0; from < count; from += ADAM_MAX_TENSORS) {
            int to = Math.min(count, from + ADAM_MAX_TENSORS);
            // the table (JganAdamTable) is written in place in the site's packed arguments
            KernelArgs a = args("adam_forward");
            int t0 = a.struct(ADAM_TABLE_BYTES, 8);
            int tileStart = t0 + 8, size = tileStart + (ADAM_MAX_TENSORS + 1) * 8, p = size + ADAM_MAX_TENSORS * 8;
            int g = p + ADAM_MAX_TENSORS * 8, mm = g + ADAM_MAX_TENSORS * 8, vv = mm + ADAM_MAX_TENSORS * 8;
            a.putInt(t0, to - from);
            long tiles = 0;
            for (int k = from; k < to; k++) {
                int i = k - from;
                a.putLong(tileStart + 8 * i, tiles);
                tiles += ceilDiv(sizes[k], ADAM_TILE);
                a.putLong(size + 8 * i, sizes[k]);
                a.putLong(p + 8 * i, params[k]);
                a.putLong(g + 8 * i, grads[k]);
                a.putLong(mm + 8 * i, m[k]);
                a.putLong(vv + 8 * i, v[k]);
            }
            a.putLong(tileStart + 8 * (to - from), tiles);
            run(grid((int) Math.min(tiles, gridCap)), BLOCK_1D, a
                    .f32(beta1).f32(beta2).f32(eps).f32(weightDecay).f32(stepSize).f32(invSqrtBc2));
        }
    }

    /**
     * SGD with momentum as PyTorch over one tensor of n elements (in place):
     * buf = first ? g : momentum buf + g (one fused multiply-add); p -= lr buf.
     */
    public void sgdStep(long p, long grad, long buf, long n, float lr, float momentum, boolean first) {
        String op = "sgdStep";
        count(op, "n", n);
        elementwise(n, args("sgd_forward").pointer(ptr(op, "p", p)).pointer(ptr(op, "grad", grad))
                .pointer(ptr(op, "buf", buf)).i64(n).f32(lr).f32(momentum).i32(first ? 1 : 0));
    }

    /** RMSprop over one tensor of n floats, in place: v = alpha v + (1 - alpha) g^2; p -= lr (g / (sqrt(v) + eps)). */
    public void rmspropStep(long p, long grad, long v, long n, float lr, float alpha, float eps) {
        String op = "rmspropStep";
        count(op, "n", n);
        elementwise(n, args("rmsprop_forward").pointer(ptr(op, "p", p)).pointer(ptr(op, "grad", grad))
                .pointer(ptr(op, "v", v)).i64(n).f32(lr).f32(alpha).f32(1f - alpha).f32(eps));
    }

    /** t = t < lo ? lo : (t > hi ? hi : t) over n floats, in place (NaN stays NaN). */
    public void clamp(long t, long n, float lo, float hi) {
        String op = "clamp";
        count(op, "n", n);
        if (!(lo <= hi)) throw new IllegalArgumentException(op + ": lo must be <= hi, got " + lo + " and " + hi);
        elementwise(n, args("clamp_forward").pointer(ptr(op, "t", t)).i64(n).f32(lo).f32(hi));
    }

    // ---- spectral norm (kernels/spectral_norm.cu: M[r, o inner + j] = w[(o rows + r) inner + j]) ----------

    /**
     * With {@code update}, one power iteration: v = M^T u / |M^T u|, u = M v / |M v| (norms at
     * least 1e-12); then sigma = u . M v into work[0] and wsn = w / sigma. work: 2 + rows floats
     * (work[1] a scalar, work[2 ..] = M v).
     */
    public void spectralNorm(long w, long u, long v, boolean update, long wsn, long work, int rows, int outer, int inner) {
        String op = "spectralNorm";
        long cols = matrix(op, rows, outer, inner), mv = ptr(op, "work", work) + 8;
        ptr(op, "w", w); ptr(op, "u", u); ptr(op, "v", v); ptr(op, "wsn", wsn);
        if (update) {
            elementwise(cols, args("spectral_norm_wtu_forward").pointer(w).pointer(u).pointer(v).i64(rows).i64(outer).i64(inner));
            dot(v, v, work + 4, cols);
            normalize(v, work + 4, v, cols);
        }
        run(grid(rows), BLOCK_1D, args("spectral_norm_wv_forward").pointer(w).pointer(v).pointer(mv).i64(rows).i64(outer).i64(inner));
        if (update) {
            dot(mv, mv, work + 4, rows);
            normalize(mv, work + 4, u, rows);
        }
        dot(u, mv, work, rows);
        elementwise(cols * rows, args("spectral_norm_scale_forward").pointer(w).pointer(work).pointer(wsn).i64(cols * rows));
    }

    /** work[1] = g . wsn, then dw (=|+=) (g - work[1] u v^T) / work[0], from the last {@link #spectralNorm}'s work. */
    public void spectralNormBackward(long g, long wsn, long u, long v, long work, long dw, boolean accumulate,
                                     int rows, int outer, int inner) {
        String op = "spectralNormBackward";
        long n = matrix(op, rows, outer, inner) * rows;
        dot(ptr(op, "g", g), ptr(op, "wsn", wsn), ptr(op, "work", work) + 4, n);
        elementwise(n, args("spectral_norm_backward").pointer(g).pointer(ptr(op, "u", u)).pointer(ptr(op, "v", v))
                .pointer(work).pointer(ptr(op, "dw", dw)).i32(accumulate ? 1 : 0).i64(rows).i64(outer).i64(inner));
    }

    /** out[0] = a . b over n floats, one block. */
    private void dot(long a, long b, long out, long n) {
        run(grid(1), BLOCK_1D, args("spectral_norm_dot_forward").pointer(a).pointer(b).pointer(out).i64(n));
    }

    /** y = x / max(sqrt(squareNorm[0]), 1e-12) over n floats; y may be x. */
    private void normalize(long x, long squareNorm, long y, long n) {
        elementwise(n, args("spectral_norm_normalize_forward").pointer(x).pointer(squareNorm).pointer(y).i64(n));
    }

    /** rows, outer, inner all at least 1; returns cols = outer inner. */
    private static long matrix(String op, int rows, int outer, int inner) {
        if (rows < 1 || outer < 1 || inner < 1)
            throw new IllegalArgumentException(op + ": (rows, outer, inner) must be positive, got (" + rows + ", " + outer + ", " + inner + ")");
        return (long) outer * inner;
    }

    // ---- DiffAugment (x, y: (n, c, h, w); params: (n, k) numbers r in [0, 1) per image) ----------------

    /**
     * Colour (k = 3: brightness, saturation, contrast) of each image, or with {@code backward} its
     * adjoint given dy in x's place: see kernels/diff_augment.cu. y may alias x.
     */
    public void diffAugmentColor(boolean backward, long x, long params, long y, int n, int c, int h, int w) {
        String op = backward ? "diffAugmentBackward" : "diffAugment";
        images(op, n, c, h, w);
        long s = (long) h * w;
        run(grid(n), BLOCK_1D, args(backward ? "diff_augment_color_backward" : "diff_augment_color_forward")
                .pointer(ptr(op, "x", x)).pointer(ptr(op, "params", params)).pointer(ptr(op, "y", y)).i64(c).i64(s));
    }

    /** Translation (k = 2) by t = draw(r, 2 s + 1) - s, zero fill; with {@code backward} its adjoint (shift by -t). y apart from x. */
    public void diffAugmentTranslation(boolean backward, long x, long params, long y, int n, int c, int h, int w) {
        String op = backward ? "diffAugmentBackward" : "diffAugment";
        long total = images(op, n, c, h, w);
        elementwise(total, args(backward ? "diff_augment_translation_backward" : "diff_augment_translation_forward")
                .pointer(ptr(op, "x", x)).pointer(ptr(op, "params", params)).pointer(ptr(op, "y", y)).i64(n).i64(c).i64(h).i64(w));
    }

    /** Cutout (k = 2): y = 0 in each image's square, x elsewhere; its own adjoint. y may alias x. */
    public void diffAugmentCutout(long x, long params, long y, int n, int c, int h, int w) {
        String op = "diffAugment";
        long total = images(op, n, c, h, w);
        elementwise(total, args("diff_augment_cutout_forward").pointer(ptr(op, "x", x)).pointer(ptr(op, "params", params))
                .pointer(ptr(op, "y", y)).i64(n).i64(c).i64(h).i64(w));
    }

    // ---- random numbers (Philox 4x32-10, dev.jgan.random.Philox's mapping) -------------------------

    /** t[i] = lo + (hi - lo) u_i, u_i in (0, 1] the Philox uniform of element i. */
    public void fillUniform(long t, long n, float lo, float hi, long seed, long offset) {
        String op = "fillUniform";
        count(op, "n", n);
        philox(n, args("philox_uniform_forward").pointer(ptr(op, "t", t)).i64(n).f32(lo).f32(hi).i64(seed).i64(offset));
    }

    /** t[i] = mean + std z_i, z_i the Box-Muller normal of element i. */
    public void fillNormal(long t, long n, float mean, float std, long seed, long offset) {
        String op = "fillNormal";
        count(op, "n", n);
        philox(n, args("philox_normal_forward").pointer(ptr(op, "t", t)).i64(n).f32(mean).f32(std).i64(seed).i64(offset));
    }

    /** t[i] = u_i <= p ? ifTrue : ifFalse. */
    public void fillBernoulli(long t, long n, float p, float ifTrue, float ifFalse, long seed, long offset) {
        String op = "fillBernoulli";
        count(op, "n", n);
        philox(n, args("philox_bernoulli_forward").pointer(ptr(op, "t", t)).i64(n).f32(p).f32(ifTrue).f32(ifFalse)
                .i64(seed).i64(offset));
    }

    /** Inverted dropout: mask_i = u_i <= p ? 0 : 1 / (1 - p) (float), y = x * mask; 0 <= p < 1; y may alias x. */
    public void dropoutForward(long x, long mask, long y, long n, float p, long seed, long offset) {
        String op = "dropoutForward";
        count(op, "n", n);
        if (!(p >= 0f && p < 1f)) throw new IllegalArgumentException(op + ": p must be in [0, 1), got " + p);
        float scale = 1f / (1f - p);
        philox(n, args("dropout_forward").pointer(ptr(op, "x", x)).pointer(ptr(op, "mask", mask)).pointer(ptr(op, "y", y))
                .i64(n).f32(p).f32(scale).i64(seed).i64(offset));
    }

    /** dx = dy * mask (dx may alias dy). */
    public void dropoutBackward(long dy, long mask, long dx, long n) {
        String op = "dropoutBackward";
        count(op, "n", n);
        elementwise(n, args("dropout_backward").pointer(ptr(op, "dy", dy)).pointer(ptr(op, "mask", mask))
                .pointer(ptr(op, "dx", dx)).i64(n));
    }

    // ---- launch shapes ----------------------------------------------------------------------------

    private void unary(String op, String kernel, long x, long y, long n) {
        count(op, "n", n);
        elementwise(n, args(kernel).pointer(ptr(op, "x", x)).pointer(ptr(op, "y", y)).i64(n));
    }

    /** An activation backward: (y, dy) -> dx. */
    private void binary(String op, String kernel, long y, long dy, long dx, long n) {
        count(op, "n", n);
        elementwise(n, args(kernel).pointer(ptr(op, "y", y)).pointer(ptr(op, "dy", dy)).pointer(ptr(op, "dx", dx)).i64(n));
    }

    // the (N, C) and spatial kernels' names are passed whole: building them per launch would allocate
    private void bnForward(String op, String ncKernel, String kernel, boolean leaky, float slope, long x, long gamma, long beta, long runningMean,
                           long runningVar, float momentum, float eps, long y, long saveMean, long saveInvStd, int n, int c, int s) {
        shape(op, n, c, s);
        epsilon(op, eps);
        if (!(momentum >= 0f && momentum <= 1f)) throw new IllegalArgumentException(op + ": momentum must be in [0, 1], got " + momentum);
        if (leaky) slope(op, slope);
        KernelArgs a = args(s == 1 ? ncKernel : kernel).pointer(ptr(op, "x", x)).pointer(ptr(op, "gamma", gamma)).pointer(ptr(op, "beta", beta))
                .pointer(ptr(op, "runningMean", runningMean)).pointer(ptr(op, "runningVar", runningVar)).f32(momentum).f32(eps);
        if (leaky) a.f32(slope);
        a.pointer(ptr(op, "y", y)).pointer(ptr(op, "saveMean", saveMean)).pointer(ptr(op, "saveInvStd", saveInvStd)).i64(n).i64(c);
        if (s == 1) tile(c, a);
        else perChannel(c, a.i64(s));
    }

    private void bnBackward(String op, String ncKernel, String kernel, long beta, boolean leaky, float slope, long x, long dy, long gamma,
                            long saveMean, long saveInvStd, long dx, long dGamma, long dBeta, boolean accumulate,
                            int n, int c, int s) {
        shape(op, n, c, s);
        if (leaky) slope(op, slope);
        KernelArgs a = args(s == 1 ? ncKernel : kernel).pointer(ptr(op, "x", x)).pointer(ptr(op, "dy", dy)).pointer(ptr(op, "gamma", gamma));
        if (beta != 0) a.pointer(beta);
        if (leaky) a.f32(slope);
        a.pointer(ptr(op, "saveMean", saveMean)).pointer(ptr(op, "saveInvStd", saveInvStd)).pointer(ptr(op, "dx", dx))
                .pointer(ptr(op, "dGamma", dGamma)).pointer(ptr(op, "dBeta", dBeta)).i32(accumulate ? 1 : 0).i64(n).i64(c);
        if (s == 1) tile(c, a);
        else perChannel(c, a.i64(s));
    }

    private void elementwise(long work, KernelArgs a) {
        run(grid((int) Math.min(ceilDiv(work, BLOCK), gridCap)), BLOCK_1D, a);
    }

    private void philox(long n, KernelArgs a) {
        elementwise(ceilDiv(n, 4), a);
    }

    private void perChannel(int c, KernelArgs a) {
        run(grid(c), BLOCK_1D, a);
    }

    private void tile(int c, KernelArgs a) {
        run(grid((int) ceilDiv(c, TILE_CHANNELS)), TILE_BLOCK, a);
    }

    /** Launches the kernel of site {@code a} with its arguments as now written; remembers it (without allocating) for {@link #lastLaunch}. */
    private void run(Dim3 grid, Dim3 block, KernelArgs a) {
        a.build();
        lastKernel = a.kernel();
        lastGrid = grid;
        lastBlock = block;
        lastArgs = a;
        launcher.launch(a.kernel(), grid, block, 0, a);
    }

    /** The reusable arguments of {@code kernel}'s launch site, ready for this launch's values. */
    private KernelArgs args(String kernel) {
        KernelArgs a = sites.get(kernel);
        if (a == null) throw new IllegalArgumentException("no kernel " + kernel + " in Kernels.NAMES");
        return a.start();
    }

    /** A 1-D grid of x blocks: one instance per extent below {@value #GRID_CACHE}, so a launch allocates none. */
    private Dim3 grid(int x) {
        if (x >= GRID_CACHE) return Dim3.of(x);
        Dim3 g = grids[x];
        if (g == null) grids[x] = g = Dim3.of(x);
        return g;
    }

    // ---- preconditions ----------------------------------------------------------------------------

    /** What {@link #ptr} accepts: a non-null, 4-byte aligned address. */
    private static boolean devicePointer(long address) { return address != 0 && (address & 3) == 0; }

    private static long ptr(String op, String name, long address) {
        if (address == 0) throw new IllegalArgumentException(op + ": " + name + " is a null device pointer");
        return optional(op, name, address);
    }

    private static long optional(String op, String name, long address) {
        if ((address & 3) != 0)
            throw new IllegalArgumentException(op + ": " + name + " = 0x" + Long.toHexString(address) + " is not 4-byte aligned");
        return address;
    }

    private static void count(String op, String name, long n) {
        if (n < 1) throw new IllegalArgumentException(op + ": " + name + " must be at least 1, got " + n);
    }

    private static long shape(String op, int n, int c, int s) {
        if (n < 1 || c < 1 || s < 1)
            throw new IllegalArgumentException(op + ": (n, c, s) must be positive, got (" + n + ", " + c + ", " + s + ")");
        return Math.multiplyExact(Math.multiplyExact((long) n, c), s);
    }

    /** n images (c, h, w), every extent positive; returns the element count. */
    private static long images(String op, int n, int c, int h, int w) {
        if (n < 1 || c < 1 || h < 1 || w < 1)
            throw new IllegalArgumentException(op + ": (n, c, h, w) must be positive, got (" + n + ", " + c + ", " + h + ", " + w + ")");
        return Math.multiplyExact(Math.multiplyExact((long) n * c, h), w);
    }

    /** planes >= 1 and a 2x2 window fits: h, w >= 2; returns the output count. */
    private static long pooled(String op, int planes, int h, int w) {
        if (planes < 1 || h < 2 || w < 2)
            throw new IllegalArgumentException(op + ": planes must be positive and h, w at least 2, got (" + planes + ", " + h + ", " + w + ")");
        return Math.multiplyExact((long) planes, (long) (h / 2) * (w / 2));
    }

    private static void epsilon(String op, float eps) {
        if (!(eps >= 0f) || Float.isInfinite(eps)) throw new IllegalArgumentException(op + ": eps must be finite and >= 0, got " + eps);
    }

    private static void slope(String op, float slope) {
        // the backward reads the sign of x from the output y, which needs slope >= 0
        if (!(slope >= 0f)) throw new IllegalArgumentException(op + ": LeakyReLU slope must be >= 0, got " + slope);
    }

    private static long ceilDiv(long a, long b) { return (a + b - 1) / b; }
}
