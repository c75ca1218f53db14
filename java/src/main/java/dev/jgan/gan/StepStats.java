package dev.jgan.gan;

/**
 * What one training step reports. With a sigmoid loss (nonsaturating, minimax) dReal and dFake
 * are mean D outputs (sigmoid of the logits) on the real and the fake batch of the D update, and
 * D's accuracies count logits on the right side of 0. With hinge, lsgan and wgan they are mean
 * critic scores (D's raw output), the accuracies count outputs on the right side of the loss's
 * boundary (0; lsgan 1/2) and are NaN for wgan, whose scores have no boundary.
 */
public record StepStats(long step, float dLoss, float dAccReal, float dAccFake, float gLoss, float dReal, float dFake,
                        Loss loss) {
    public StepStats(long step, float dLoss, float dAccReal, float dAccFake, float gLoss, float dReal, float dFake) {
        this(step, dLoss, dAccReal, dAccFake, gLoss, dReal, dFake, Loss.NONSATURATING);
    }

    public boolean finite() {
        return Float.isFinite(dLoss) && Float.isFinite(gLoss) && Float.isFinite(dReal) && Float.isFinite(dFake);
    }

    /** The first loss that is not finite, by name, for the divergence message. */
    public String firstNonFinite() {
        if (!Float.isFinite(dLoss)) return "D loss is " + dLoss;
        if (!Float.isFinite(gLoss)) return "G loss is " + gLoss;
        return (loss.sigmoid() ? "D output is " : "critic score is ") + (Float.isFinite(dReal) ? dFake : dReal);
    }

    /** The critic's mean score on real minus on fake (with a sigmoid loss, the same of D's probabilities). */
    public float gap() { return dReal - dFake; }

    /** One line of the step's numbers in the loss's own terms. */
    public String summary() {
        if (loss.sigmoid())
            return String.format(java.util.Locale.ROOT, "step %d: D loss %.4f, G loss %.4f, D(x) %.3f, D(G(z)) %.3f",
                    step, dLoss, gLoss, dReal, dFake);
        return String.format(java.util.Locale.ROOT, "step %d: D loss %.4f, G loss %.4f, critic on real %.3f, on fake %.3f, gap %.3f",
                step, dLoss, gLoss, dReal, dFake, gap());
    }
}
