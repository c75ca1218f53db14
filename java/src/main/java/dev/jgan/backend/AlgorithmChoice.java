package dev.jgan.backend;

/**
 * One algorithm a backend chose at run time for one problem, where the choice decides the
 * result's bits: the CUDA backend's cuDNN convolution algorithm of a (direction, shapes,
 * geometry). A run saves its backend's choices ({@link Backend#algorithmChoices}) and a resumed
 * run hands them back ({@link Backend#useAlgorithmChoices}), so it computes with the same
 * algorithms instead of timing them again (timings differ from run to run, and so would the choice).
 *
 * @param problem        the problem, as the backend names it (e.g. "backward_data x (8, 64, 14, 14), w ...")
 * @param id             the algorithm (cuDNN's enum value for the direction)
 * @param name           its name (e.g. "CUDNN_CONVOLUTION_BWD_DATA_ALGO_1"), for people
 * @param workspaceBytes the workspace it needed when it was chosen
 * @param deterministic  whether it gives the same bits on every run
 */
public record AlgorithmChoice(String problem, int id, String name, long workspaceBytes, boolean deterministic) {}
