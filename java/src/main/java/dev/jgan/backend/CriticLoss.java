package dev.jgan.backend;

/**
 * The per-output functions of {@link Backend#criticLoss}: GAN losses on D's raw outputs l (no
 * sigmoid), each with a target a.
 */
public enum CriticLoss {
    /** loss = a l: the Wasserstein critic (a = -1 on real, +1 on fake) and the generator of hinge and WGAN (a = -1). */
    LINEAR,
    /** loss = max(0, 1 - a l): the hinge discriminator (a = +1 on real, -1 on fake). */
    HINGE,
    /** loss = (l - a)^2 / 2: least squares (LSGAN: a = 1 on real, 0 on fake; G's a = 1). */
    SQUARED;

    /** The kernel's code of the function (kernels/critic_loss.cu). */
    public int code() { return ordinal(); }

    /** Where {@link Backend#criticLoss}'s third statistic puts its boundary: 1/2 for SQUARED (midway between 0 and 1), else 0. */
    public float boundary() { return this == SQUARED ? 0.5f : 0f; }
}
