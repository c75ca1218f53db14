package dev.jgan.lab;

import java.util.List;
import java.util.Set;

/**
 * An op of the kernel lab: a family of {@link dev.jgan.backend.Backend} calls that a variant
 * replaces together (a forward and its backward), the production CUDA kernels that serve them
 * (by name prefix, as kernels/*.cu names them) and the file that holds the CPU kernels. Every
 * Backend call that runs arithmetic belongs to exactly one op (KernelLabTest reads the interface).
 */
public enum LabOp {
    GEMM("gemm", Set.of("gemm"), List.of(), "cpu/OneDnn.java"),
    BIAS("bias", Set.of("addBias", "biasGrad"), List.of("bias_"), "cpu/Bias.java"),
    MULTIPLY("multiply", Set.of("multiply"), List.of("multiply_"), "cpu/Multiply.java"),
    CONV("conv", Set.of("conv2dForward", "conv2dBackwardData", "conv2dBackwardFilter"), List.of(), "cpu/OneDnn.java"),
    DROPOUT("dropout", Set.of("dropoutForward", "dropoutBackward"), List.of("dropout_"), "cpu/Dropout.java"),
    ACTIVATIONS("activations", Set.of("leakyRelu", "leakyReluBackward", "relu", "reluBackward", "tanh", "tanhBackward",
            "sigmoid", "sigmoidBackward"), List.of("leaky_relu_", "relu_", "tanh_", "sigmoid_"), "cpu/Activations.java"),
    BATCH_NORM("batch_norm", Set.of("batchNormTrain", "batchNormInfer", "batchNormBackward", "batchNormLeakyReluTrain",
            "batchNormLeakyReluBackward"), List.of("batch_norm_"), "cpu/BatchNorm.java"),
    BCE("bce", Set.of("bceWithLogits"), List.of("bce_"), "cpu/Bce.java"),
    CRITIC_LOSS("critic_loss", Set.of("criticLoss"), List.of("critic_loss_"), "cpu/CriticLosses.java"),
    SOFTMAX("softmax", Set.of("softmax", "softmaxCrossEntropy"), List.of("softmax_"), "cpu/Softmax.java"),
    POOLING("pooling", Set.of("maxPool2x2Forward", "maxPool2x2Backward"), List.of("max_pool_"), "cpu/Pooling.java"),
    EMA("ema", Set.of("ema"), List.of("ema_"), "cpu/Averaging.java"),
    ADAM("adam", Set.of("adamStep"), List.of("adam_"), "cpu/Optimizers.java"),
    SGD("sgd", Set.of("sgdStep"), List.of("sgd_"), "cpu/Optimizers.java"),
    RMSPROP("rmsprop", Set.of("rmspropStep"), List.of("rmsprop_"), "cpu/Optimizers.java"),
    CLAMP("clamp", Set.of("clamp"), List.of("clamp_"), "cpu/Clamp.java"),
    SPECTRAL_NORM("spectral_norm", Set.of("spectralNorm", "spectralNormBackward"), List.of("spectral_norm_"), "cpu/SpectralNorms.java"),
    DIFF_AUGMENT("diff_augment", Set.of("diffAugment", "diffAugmentBackward"), List.of("diff_augment_"), "cpu/DiffAugments.java"),
    RANDOM("random", Set.of("fillUniform", "fillNormal", "fillBernoulli"), List.of("philox_"), "cpu/RandomFill.java");

    /** Backend calls that move or describe memory and run no kernel of jgan's: not lab ops. */
    public static final Set<String> NOT_KERNELS = Set.of("name", "describe", "allocate", "copyFromHost", "toHost", "copy",
            "fill", "synchronize", "timer", "algorithmChoices", "useAlgorithmChoices", "fromHost", "close");

    private final String id;
    private final Set<String> calls;
    private final List<String> kernelPrefixes;
    private final String cpuSource;

    LabOp(String id, Set<String> calls, List<String> kernelPrefixes, String cpuSource) {
        this.id = id;
        this.calls = calls;
        this.kernelPrefixes = kernelPrefixes;
        this.cpuSource = cpuSource;
    }

    /** The name on the command line: {@code batch_norm}, as kernels/lab/batch_norm/. */
    public String id() { return id; }

    /** The Backend calls of the op. */
    public Set<String> calls() { return calls; }

    /** Whether a production CUDA kernel (kernels/*.cu) belongs to this op; GEMMs and convolutions are cuBLAS's and cuDNN's. */
    public boolean ownsKernel(String kernel) {
        for (String p : kernelPrefixes) if (kernel.startsWith(p)) return true;
        return false;
    }

    /** The CPU backend's file of this op, under java/src/main/java/dev/jgan/. */
    public String cpuSource() { return cpuSource; }

    /** The op named {@code id}; one line naming the ops when there is none. */
    public static LabOp of(String id) {
        for (LabOp op : values()) if (op.id.equals(id)) return op;
        StringBuilder names = new StringBuilder();
        for (LabOp op : values()) names.append(names.isEmpty() ? "" : ", ").append(op.id);
        throw new IllegalArgumentException("no kernel-lab op '" + id + "'; the ops are " + names);
    }

    @Override public String toString() { return id; }
}
