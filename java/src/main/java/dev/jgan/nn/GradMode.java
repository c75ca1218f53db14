package dev.jgan.nn;

/** What a backward pass does with parameter gradients. Input gradients are always written. */
public enum GradMode {
    /** dW = ...: the first batch of an optimizer step. */
    WRITE,
    /** dW += ...: further batches of the same step (D sees real and fake as separate batches). */
    ACCUMULATE,
    /** No parameter gradients: only dx flows (D during G's update, whose parameters stay untouched). */
    SKIP;

    public boolean accumulate() { return this == ACCUMULATE; }
}
