package dev.jgan.bench.ops;

/**
 * The GEMMs of the presets' dense layers at batch 64, one constant per distinct call: the
 * single source of their sizes and FLOP counts for {@link GemmBenchmark} and {@link dev.jgan.bench.Flops}.
 *
 * <p>A {@code Dense(in -> out)} layer (x (N, in), W (out, in), y (N, out)) makes three calls of
 * the row-major {@code Backend.gemm(transA, transB, m, n, k, ...)}:
 * <pre>
 *   FWD  y  = x W^T   (false, true ) m = N,   n = out, k = in
 *   DW   dW = dy^T x  (true,  false) m = out, n = in,  k = N
 *   DX   dx = dy W    (false, false) m = N,   n = in,  k = out
 * </pre>
 * G's first layer needs no DX (its input is the noise z). mlp-gan's D is 784 -> 512 -> 256 -> 1;
 * dcgan-64 has no dense layer (its whole-image convolutions are in {@link ConvShape}).
 */
public enum GemmShape {
    // mlp-gan G: 100 -> 256 -> 512 -> 1024 -> 784
    MLP_G_100_256_FWD(Call.FWD, 100, 256),
    MLP_G_100_256_DW(Call.DW, 100, 256),
    MLP_G_256_512_FWD(Call.FWD, 256, 512),
    MLP_G_256_512_DW(Call.DW, 256, 512),
    MLP_G_256_512_DX(Call.DX, 256, 512),
    MLP_G_512_1024_FWD(Call.FWD, 512, 1024),
    MLP_G_512_1024_DW(Call.DW, 512, 1024),
    MLP_G_512_1024_DX(Call.DX, 512, 1024),
    MLP_G_1024_784_FWD(Call.FWD, 1024, 784),
    MLP_G_1024_784_DW(Call.DW, 1024, 784),
    MLP_G_1024_784_DX(Call.DX, 1024, 784),
    // mlp-gan D: 784 -> 512 -> 256 -> 1 (D's first DX runs in G's update, through D)
    MLP_D_784_512_FWD(Call.FWD, 784, 512),
    MLP_D_784_512_DW(Call.DW, 784, 512),
    MLP_D_784_512_DX(Call.DX, 784, 512),
    MLP_D_512_256_FWD(Call.FWD, 512, 256),
    MLP_D_512_256_DW(Call.DW, 512, 256),
    MLP_D_512_256_DX(Call.DX, 512, 256),
    MLP_D_256_1_FWD(Call.FWD, 256, 1),
    MLP_D_256_1_DW(Call.DW, 256, 1),
    MLP_D_256_1_DX(Call.DX, 256, 1),
    // dcgan-28 G: Dense 100 -> 7*7*256 (no bias); D: Dense 128*7*7 -> 1 (the logit)
    DC28_G_100_12544_FWD(Call.FWD, 100, 12544),
    DC28_G_100_12544_DW(Call.DW, 100, 12544),
    DC28_D_6272_1_FWD(Call.FWD, 6272, 1),
    DC28_D_6272_1_DW(Call.DW, 6272, 1),
    DC28_D_6272_1_DX(Call.DX, 6272, 1);

    /** The presets' batch size. */
    public static final int BATCH = 64;

    /** Which of a Dense layer's three GEMMs. */
    enum Call { FWD, DW, DX }

    public final int m, n, k;
    public final boolean transA, transB;

    GemmShape(Call call, int in, int out) {
        int batch = BATCH;
        switch (call) {
            case FWD -> { m = batch; n = out; k = in; transA = false; transB = true; }
            case DW -> { m = out; n = in; k = batch; transA = true; transB = false; }
            default -> { m = batch; n = in; k = out; transA = false; transB = false; }
        }
    }

    /** Elements of A as stored: (m, k), or (k, m) transposed. */
    public long aSize() { return (long) m * k; }

    /** Elements of B as stored: (k, n), or (n, k) transposed. */
    public long bSize() { return (long) k * n; }

    /** One multiply and one add per term: 2 m n k. */
    public double flops() { return 2.0 * m * n * k; }
}
