package dev.jgan.gan;

import dev.jgan.UserError;
import dev.jgan.backend.CriticLoss;

/**
 * The GAN objective: what D minimises on real and fake outputs and what G minimises on D's output
 * for its fakes. The first two put a sigmoid on D's output (binary cross-entropy, D's output a
 * probability); the others use D's raw output as a score.
 */
public enum Loss {
    /** BCE for D; G minimises -log D(G(z)) (Goodfellow et al.'s practical variant; strong early gradients). */
    NONSATURATING("nonsaturating", null, 0, 0, null, 0),
    /** BCE for D; G minimises log(1 - D(G(z))), the original minimax objective (saturates early). */
    MINIMAX("minimax", null, 0, 0, null, 0),
    /**
     * Hinge (Lim & Ye 2017; Miyato et al. 2018's SN-GAN): D minimises max(0, 1 - D(x)) + max(0, 1 + D(G(z))),
     * G minimises -D(G(z)).
     */
    HINGE("hinge", CriticLoss.HINGE, 1f, -1f, CriticLoss.LINEAR, -1f),
    /**
     * Least squares (Mao et al. 2017, LSGAN with the 0-1 coding): D minimises (D(x) - 1)^2 / 2 + D(G(z))^2 / 2,
     * G minimises (D(G(z)) - 1)^2 / 2.
     */
    LEAST_SQUARES("lsgan", CriticLoss.SQUARED, 1f, 0f, CriticLoss.SQUARED, 1f),
    /**
     * Wasserstein (Arjovsky et al. 2017): the critic minimises D(G(z)) - D(x) with its weights
     * clipped to [-c, c] after each update (--clip, 0.01), G minimises -D(G(z)); trained with
     * RMSprop at 5e-5 and 5 critic updates per G update, as the paper does, unless flags say otherwise.
     */
    WASSERSTEIN("wgan", CriticLoss.LINEAR, -1f, 1f, CriticLoss.LINEAR, -1f);

    private final String flag;
    private final CriticLoss d, g;
    private final float dReal, dFake, gTarget;

    Loss(String flag, CriticLoss d, float dReal, float dFake, CriticLoss g, float gTarget) {
        this.flag = flag;
        this.d = d;
        this.dReal = dReal;
        this.dFake = dFake;
        this.g = g;
        this.gTarget = gTarget;
    }

    public String flag() { return flag; }

    /** Whether D's output goes through a sigmoid (BCE): then D(x) and D(G(z)) are probabilities. */
    public boolean sigmoid() { return d == null; }

    /** Whether D's accuracies mean something: the side of a boundary its loss trains outputs towards (not WGAN's). */
    public boolean hasBoundary() { return this != WASSERSTEIN; }

    /** D's function on raw outputs (null for the BCE losses), with its targets on real and fake outputs. */
    public CriticLoss critic() { return d; }

    public float criticRealTarget() { return dReal; }

    public float criticFakeTarget() { return dFake; }

    /** G's function on D's raw output for its fakes (null for the BCE losses), with its target. */
    public CriticLoss generator() { return g; }

    public float generatorTarget() { return gTarget; }

    public static Loss of(String s) {
        for (Loss l : values()) if (l.flag.equals(s)) return l;
        throw new UserError("unknown loss '" + s + "'; use nonsaturating, minimax, hinge, lsgan or wgan");
    }
}
