package dev.jgan.data;

import dev.jgan.random.Philox;

/**
 * The 2-D toy of the mode-collapse literature (Metz et al., "Unrolled GANs", 2017): a mixture of
 * {@code modes} equally likely Gaussians with centres evenly spaced on a circle, mode k at angle
 * {@code 2 pi k / modes}; default 8 modes, radius 2, std 0.05.
 *
 * <p>Sample {@code i} of a draw with (seed, offset) uses one Philox 4x32-10 block: key = seed,
 * counter {@code (lo32(offset + i), hi32(offset + i), 0, RING_STREAM)}. Word 0 as a uniform u in
 * (0, 1] picks mode {@code min(floor(u * modes), modes - 1)}; words 2 and 3 give the Box-Muller
 * pair for the x and y noise ({@link Philox#normal} lanes 2 and 3). So a draw of n samples consumes
 * n blocks: successive draws pass offsets n apart. Counter word 3 is {@link #RING_STREAM}, never 0,
 * so these blocks never coincide with the backends' fills under the same seed.
 */
public final class RingOfGaussians {
    /** The dataset name of the toy's data in a run's config. */
    public static final String NAME = "ring";
    /** Counter word 3 of every ring draw ("ring"). */
    public static final int RING_STREAM = 0x72696E67;
    public static final int DEFAULT_MODES = 8;
    public static final double DEFAULT_RADIUS = 2.0, DEFAULT_STD = 0.05;

    private final int modes;
    private final double radius, std;
    private final float[][] centres;

    public RingOfGaussians() { this(DEFAULT_MODES, DEFAULT_RADIUS, DEFAULT_STD); }

    public RingOfGaussians(int modes, double radius, double std) {
        if (modes < 1 || !(radius >= 0) || !(std >= 0))
            throw new IllegalArgumentException("need modes >= 1, radius >= 0, std >= 0; got " + modes + ", " + radius + ", " + std);
        this.modes = modes;
        this.radius = radius;
        this.std = std;
        this.centres = new float[modes][];
        for (int k = 0; k < modes; k++) {
            double a = 2 * Math.PI * k / modes;
            centres[k] = new float[] {(float) (radius * Math.cos(a)), (float) (radius * Math.sin(a))};
        }
    }

    public int modeCount() { return modes; }

    public double radius() { return radius; }

    public double std() { return std; }

    /** The mode centres, (modes, 2); a copy. */
    public float[][] modes() {
        float[][] c = new float[modes][];
        for (int k = 0; k < modes; k++) c[k] = centres[k].clone();
        return c;
    }

    /** Philox blocks a draw of n samples consumes. */
    public static long blocks(int n) { return n; }

    /** Writes n samples as (x0, y0, x1, y1, ...) into dst[0 .. 2n). Deterministic in (seed, offset). */
    public void sample(float[] dst, int n, long seed, long offset) {
        sample(dst, n, seed, offset, null);
    }

    /** As {@link #sample(float[], int, long, long)}, also writing each sample's mode to {@code modesDst} (n) when it is not null. */
    public void sample(float[] dst, int n, long seed, long offset, int[] modesDst) {
        if (n < 0 || dst.length < 2L * n) throw new IllegalArgumentException("dst holds " + dst.length / 2 + " points, asked for " + n);
        int k0 = (int) seed, k1 = (int) (seed >>> 32);
        int[] w = new int[4];
        for (int i = 0; i < n; i++) {
            long b = offset + i;
            Philox.block((int) b, (int) (b >>> 32), 0, RING_STREAM, k0, k1, w);
            int mode = Math.min((int) (Philox.uniform(w[0]) * modes), modes - 1);
            if (modesDst != null) modesDst[i] = mode;
            dst[2 * i] = (float) (centres[mode][0] + std * Philox.normal(w, 2));
            dst[2 * i + 1] = (float) (centres[mode][1] + std * Philox.normal(w, 3));
        }
    }
}
