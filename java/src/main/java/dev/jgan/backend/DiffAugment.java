package dev.jgan.backend;

/**
 * The transforms of DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient
 * GAN Training", arXiv 2006.10738) as its official DiffAugment_pytorch.py defines them, for
 * {@link Backend#diffAugment}: each reads, per image n, {@link #params()} numbers r in [0, 1) from
 * row n of a params tensor (N, params()), which the trainer fills with Philox uniforms.
 *
 * <p>An integer uniform in [0, m) is {@link #draw}: floor(q m / 2^24) with q = floor(r 2^24), exact
 * in integers, so every backend and the reference pick the same pixel for the same r.
 */
public enum DiffAugment {
    /** Brightness, saturation and contrast, in that order (r_b, r_s, r_c): the paper's "color". */
    COLOR("color", 3),
    /** A shift of up to 1/8 of the image (r_h, r_w), zero fill: "translation". */
    TRANSLATION("translation", 2),
    /** A square of half the image set to 0 (r_h, r_w), clipped at the borders: "cutout". */
    CUTOUT("cutout", 2);

    /** Quantisation of r: fillUniform's draws are multiples of 2^-24, so q = r 2^24 exactly. */
    private static final float STEPS = 16777216f;

    private final String flag;
    private final int params;

    DiffAugment(String flag, int params) {
        this.flag = flag;
        this.params = params;
    }

    /** The name in a --diffaugment policy, as the paper's code names it. */
    public String flag() { return flag; }

    /** Numbers per image in the params tensor. */
    public int params() { return params; }

    /** floor(r m) for r quantised to q = floor(r 2^24), clamped to [0, 2^24): an integer in [0, m). */
    public static int draw(float r, int m) {
        int q = (int) Math.min(Math.max(r * STEPS, 0f), STEPS - 1);
        return (int) (((long) q * m) >> 24);
    }

    /** Translation's largest shift along an extent of e pixels: int(e / 8 + 0.5) (ratio 1/8). */
    public static int maxShift(int e) { return (e + 4) / 8; }

    /** Translation's shift: draw(r, 2 s + 1) - s in [-s, s], s = maxShift(e); output i reads input i + shift. */
    public static int shift(float r, int e) {
        int s = maxShift(e);
        return draw(r, 2 * s + 1) - s;
    }

    /** Cutout's side along an extent of e pixels: int(e / 2 + 0.5) (ratio 1/2). */
    public static int cutSize(int e) { return (e + 1) / 2; }

    /**
     * Cutout's first cut row (column): centre draw(r, e + 1 - size % 2) minus size / 2, so the cut
     * is [start, start + size) clipped to [0, e), as the paper's offsets and clamp make it.
     */
    public static int cutStart(float r, int e) {
        int size = cutSize(e);
        return draw(r, e + 1 - size % 2) - size / 2;
    }
}
