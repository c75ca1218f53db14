package dev.jgan.gan;

/**
 * What one training step reports. D's accuracies count logits on the right side of 0; dReal and
 * dFake are mean D outputs (sigmoid of the logits) on the real and the fake batch of the D update.
 */
public record StepStats(long step, float dLoss, float dAccReal, float dAccFake, float gLoss, float dReal, float dFake) {
    public boolean finite() {
        return Float.isFinite(dLoss) && Float.isFinite(gLoss) && Float.isFinite(dReal) && Float.isFinite(dFake);
    }

    /** The first loss that is not finite, by name, for the divergence message. */
    public String firstNonFinite() {
        if (!Float.isFinite(dLoss)) return "D loss is " + dLoss;
        if (!Float.isFinite(gLoss)) return "G loss is " + gLoss;
        return "D output is " + (Float.isFinite(dReal) ? dFake : dReal);
    }
}
