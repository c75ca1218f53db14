package dev.jgan.check;

import dev.jgan.backend.ConvGeometry;
import dev.jgan.tensor.Shape;

/**
 * Convolution cases of the test suite, and of {@code gan check --quick} ({@link OpSuite} takes
 * {@link #SWEEP}). Each is one convolution: image (N, C, H, W) (x or dx), weights
 * (K, C, R, S), output (N, K, P, Q) (y or dy). A transposed convolution Cin -> Cout is the
 * convolution Cout -> Cin from its (larger) output to its input, so it is listed that way.
 */
public final class ConvCases {
    private ConvCases() {}

    /** One convolution: image (n, c, h, w), weights (k, c, r, s), geometry; output from ConvGeometry. */
    public record Conv(String name, int n, int c, int h, int w, int k, int r, int s, ConvGeometry g) {
        public Shape image() { return Shape.of(n, c, h, w); }
        public Shape weights() { return Shape.of(k, c, r, s); }
        public Shape output() { return Shape.of(n, k, g.outH(h, r), g.outW(w, s)); }
        /** Terms in one output's sum, per op: forward C R S, backward data at most K R S, backward filter N P Q. */
        public int forwardTerms() { return c * r * s; }
        public int dataTerms() { return k * r * s; }
        public int filterTerms() { return n * output().dim(2) * output().dim(3); }
        public Conv withBatch(int batch) { return new Conv(name, batch, c, h, w, k, r, s, g); }
        @Override public String toString() {
            Shape o = output();
            return name + ": " + image() + " * " + weights() + " -> " + o;
        }
    }

    private static ConvGeometry geo(int sh, int sw, int ph, int pw) { return new ConvGeometry(sh, sw, ph, pw); }

    /** Odd sizes (N 2, C 3, K 5, H 7, W 9 unless said otherwise); "opN": dx N rows/cols over the minimum. */
    public static final Conv[] SWEEP = {
            new Conv("3x3 s1 p1", 2, 3, 7, 9, 5, 3, 3, ConvGeometry.of(1, 1)),
            new Conv("3x3 s2 p1 (op0 in H, op0 in W)", 2, 3, 7, 9, 5, 3, 3, ConvGeometry.of(2, 1)),
            new Conv("3x3 s2 p1 op1", 2, 3, 8, 10, 5, 3, 3, ConvGeometry.of(2, 1)),
            new Conv("1x1 s1 p0", 2, 3, 7, 9, 5, 1, 1, ConvGeometry.of(1, 0)),
            new Conv("1x1 s2 p0 (drops rows)", 2, 3, 7, 9, 5, 1, 1, ConvGeometry.of(2, 0)),
            new Conv("4x4 s2 p1 op1 in H", 2, 3, 9, 8, 5, 4, 4, ConvGeometry.of(2, 1)),
            new Conv("4x4 s2 p0 (floor drops a row: negative right padding)", 2, 3, 7, 9, 5, 4, 4, ConvGeometry.of(2, 0)),
            new Conv("5x5 s1 p2", 2, 3, 7, 9, 5, 5, 5, ConvGeometry.of(1, 2)),
            new Conv("5x5 s2 p2", 2, 3, 7, 9, 5, 5, 5, ConvGeometry.of(2, 2)),
            new Conv("3x3 s1 p2 (output larger than input)", 2, 3, 7, 9, 5, 3, 3, ConvGeometry.of(1, 2)),
            new Conv("3x3 s2 p0 op1 (extra row untouched)", 2, 3, 8, 10, 5, 3, 3, ConvGeometry.of(2, 0)),
            new Conv("5x5 s3 p0 op2 (output padding > padding)", 2, 3, 13, 12, 5, 5, 5, ConvGeometry.of(3, 0)),
            new Conv("3x4 kernel, stride 1x2, padding 2x0", 2, 3, 7, 9, 5, 3, 4, geo(1, 2, 2, 0)),
            new Conv("5x3 kernel, stride 2x1, padding 0x1, op1 in H", 2, 3, 8, 9, 5, 5, 3, geo(2, 1, 0, 1)),
            new Conv("N 1, C 1, K 1", 1, 1, 5, 6, 1, 3, 3, ConvGeometry.of(1, 1)),
            new Conv("kernel = image, s1 p0 (1x1 output: a dense layer)", 2, 7, 4, 4, 6, 4, 4, ConvGeometry.of(1, 0)),
            new Conv("kernel 5x5 over 3x3 with padding 1 (1x1 output, not dense)", 2, 3, 3, 3, 5, 5, 5, ConvGeometry.of(2, 1)),
    };

    /**
     * Sixteen or more image channels, where the CPU backend lets oneDNN pick blocked layouts and
     * reorders at the edges: channel counts that are not multiples of 16, odd sizes, output
     * padding and a negative right padding, so a reorder or layout mistake shows.
     */
    public static final Conv[] WIDE = {
            new Conv("C 17, K 19, 3x3 s2 p1 op1", 2, 17, 8, 10, 19, 3, 3, ConvGeometry.of(2, 1)),
            new Conv("C 32, K 16, 5x5 s2 p2, odd sizes", 3, 32, 7, 9, 16, 5, 5, ConvGeometry.of(2, 2)),
            new Conv("C 16, K 33, 4x4 s2 p0 (negative right padding)", 2, 16, 7, 9, 33, 4, 4, ConvGeometry.of(2, 0)),
            new Conv("C 48, K 5, 3x3 s1 p1 (few outputs)", 2, 48, 5, 6, 5, 3, 3, ConvGeometry.of(1, 1)),
    };

    /**
     * The presets' convolution shapes at batch 2, each distinct one once (a generator ConvT and the
     * discriminator Conv that mirrors it are the same three calls). Channels: dcgan-64 as Radford
     * et al. with one (grey) image channel.
     */
    public static final Conv[] DCGAN = {
            new Conv("dcgan-28 G ConvT 256->128 5x5 s1 p2 7->7", 2, 128, 7, 7, 256, 5, 5, ConvGeometry.of(1, 2)),
            new Conv("dcgan-28 G ConvT 128->64 5x5 s2 p2 op1 7->14 = D Conv 64->128 14->7", 2, 64, 14, 14, 128, 5, 5, ConvGeometry.of(2, 2)),
            new Conv("dcgan-28 G ConvT 64->1 5x5 s2 p2 op1 14->28 = D Conv 1->64 28->14", 2, 1, 28, 28, 64, 5, 5, ConvGeometry.of(2, 2)),
            new Conv("dcgan-64 G ConvT 100->512 4x4 s1 p0 1->4", 2, 512, 4, 4, 100, 4, 4, ConvGeometry.of(1, 0)),
            new Conv("dcgan-64 G ConvT 512->256 4x4 s2 p1 4->8 = D Conv 256->512 8->4", 2, 256, 8, 8, 512, 4, 4, ConvGeometry.of(2, 1)),
            new Conv("dcgan-64 G ConvT 256->128 8->16 = D Conv 128->256 16->8", 2, 128, 16, 16, 256, 4, 4, ConvGeometry.of(2, 1)),
            new Conv("dcgan-64 G ConvT 128->64 16->32 = D Conv 64->128 32->16", 2, 64, 32, 32, 128, 4, 4, ConvGeometry.of(2, 1)),
            new Conv("dcgan-64 G ConvT 64->1 32->64 = D Conv 1->64 64->32", 2, 1, 64, 64, 64, 4, 4, ConvGeometry.of(2, 1)),
            new Conv("dcgan-64 D Conv 512->1 4x4 s1 p0 4->1", 2, 512, 4, 4, 1, 4, 4, ConvGeometry.of(1, 0)),
    };
}
