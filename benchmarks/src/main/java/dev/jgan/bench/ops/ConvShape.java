package dev.jgan.bench.ops;

import dev.jgan.backend.ConvGeometry;
import dev.jgan.tensor.Shape;

/**
 * Every distinct convolution of dcgan-28 and dcgan-64 at batch 64 (the list of the suite's
 * ConvCases.DCGAN): the single source of their sizes and FLOP counts for {@link ConvBenchmark}
 * and {@link dev.jgan.bench.Flops}.
 *
 * <p>Each is one convolution, image x (N, C, H, W) * weights (K, C, R, S) -> y (N, K, P, Q); the
 * name reads {@code <preset>_<C>TO<K>_<H>}. A transposed convolution Cin -> Cout is the
 * convolution Cout -> Cin from its (larger) output to its input, so a generator ConvT and the
 * discriminator Conv that mirrors it share a constant: the ConvT's forward is this convolution's
 * backwardData, its input gradient the forward.
 */
public enum ConvShape {
    /** dcgan-28 G ConvT 256 -> 128, 5x5 s1 p2, 7 -> 7. */
    DC28_128TO256_7(128, 7, 256, 5, 1, 2),
    /** dcgan-28 G ConvT 128 -> 64, 5x5 s2 p2 op1, 7 -> 14 = D Conv 64 -> 128, 14 -> 7. */
    DC28_64TO128_14(64, 14, 128, 5, 2, 2),
    /** dcgan-28 G ConvT 64 -> 1, 5x5 s2 p2 op1, 14 -> 28 = D Conv 1 -> 64, 28 -> 14. */
    DC28_1TO64_28(1, 28, 64, 5, 2, 2),
    /** dcgan-64 G ConvT 100 -> 512, 4x4 s1 p0, 1 -> 4 (kernel = image: one GEMM on the CPU). */
    DC64_512TO100_4(512, 4, 100, 4, 1, 0),
    /** dcgan-64 G ConvT 512 -> 256, 4x4 s2 p1, 4 -> 8 = D Conv 256 -> 512, 8 -> 4. */
    DC64_256TO512_8(256, 8, 512, 4, 2, 1),
    /** dcgan-64 G ConvT 256 -> 128, 8 -> 16 = D Conv 128 -> 256, 16 -> 8. */
    DC64_128TO256_16(128, 16, 256, 4, 2, 1),
    /** dcgan-64 G ConvT 128 -> 64, 16 -> 32 = D Conv 64 -> 128, 32 -> 16. */
    DC64_64TO128_32(64, 32, 128, 4, 2, 1),
    /** dcgan-64 G ConvT 64 -> 1, 32 -> 64 = D Conv 1 -> 64, 64 -> 32. */
    DC64_1TO64_64(1, 64, 64, 4, 2, 1),
    /** dcgan-64 D Conv 512 -> 1, 4x4 s1 p0, 4 -> 1 (the logit; kernel = image: one GEMM on the CPU). */
    DC64_512TO1_4(512, 4, 1, 4, 1, 0);

    /** The presets' batch size. */
    public static final int BATCH = 64;

    public final int n, c, h, w, k, r, s;
    public final ConvGeometry geometry;

    /** Square image (c, hw, hw), k square kernels of size rs, same stride and padding both ways. */
    ConvShape(int c, int hw, int k, int rs, int stride, int pad) {
        this.n = BATCH;
        this.c = c;
        this.h = hw;
        this.w = hw;
        this.k = k;
        this.r = rs;
        this.s = rs;
        this.geometry = ConvGeometry.of(stride, pad);
    }

    public Shape image() { return Shape.of(n, c, h, w); }

    public Shape weights() { return Shape.of(k, c, r, s); }

    public Shape output() { return Shape.of(n, k, geometry.outH(h, r), geometry.outW(w, s)); }

    /**
     * 2 N K P Q C R S: one multiply-add per (output, C R S window term), the same nominal count
     * for forward, backwardData and backwardFilter (the products are the same, summed differently);
     * terms that fall on the zero padding are counted too (the usual nominal count).
     */
    public double flops() {
        Shape y = output();
        return 2.0 * n * k * y.dim(2) * y.dim(3) * c * r * s;
    }
}
