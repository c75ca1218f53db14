package dev.jgan.optim;

import dev.jgan.tensor.Tensor;

import java.util.Map;

/** Updates a fixed list of parameters from their gradients, all in one backend call per step. */
public interface Optimizer {
    void step();

    /** Steps taken so far. */
    int steps();

    /** Restores the step count (after loading the state tensors from a checkpoint). */
    void setSteps(int steps);

    /** Moment buffers by name ({@code <parameter>.exp_avg}, ...), for checkpoints. */
    Map<String, Tensor> state();
}
