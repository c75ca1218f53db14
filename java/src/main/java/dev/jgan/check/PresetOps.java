package dev.jgan.check;

import dev.jgan.backend.Backend;
import dev.jgan.backend.CallObserver;
import dev.jgan.backend.ConvGeometry;
import dev.jgan.backend.CriticLoss;
import dev.jgan.backend.DiffAugment;
import dev.jgan.gan.Bench;
import dev.jgan.gan.GanTrainer;
import dev.jgan.gan.Preset;
import dev.jgan.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The op cases at the shapes a preset really uses, derived from the preset itself rather than
 * listed by hand: one training step of the preset (the benchmark's trainer) runs through a
 * recording wrapper of a backend, and each distinct call it makes (op, tensor shapes, scalar
 * arguments) becomes the {@link OpSuite} case of that op at those arguments. A new layer, a
 * changed channel count or a new op in the step is checked without editing a list.
 *
 * <p>Ops that share one case are recorded once: a convolution's three calls (keyed by image,
 * weights and geometry, so a generator's transposed convolution and the discriminator
 * convolution that mirrors it are one case), batch norm's train/infer/backward (keyed by the
 * training call), a fused backward by its forward.
 */
public final class PresetOps {
    private PresetOps() {}

    /**
     * The distinct cases of one step of {@code p} at {@code batch}, recorded on {@code b} (which
     * computes the step: any backend will do, the shapes do not depend on it).
     */
    public static List<OpSuite.Case> cases(Backend b, Preset p, int batch) {
        Map<String, OpSuite.Case> found = new LinkedHashMap<>();
        Backend recording = CallObserver.wrap(b, (call, args) -> {
            OpSuite.Case c = caseOf(call, args);
            if (c != null) found.putIfAbsent(c.key(), c);
        });
        GanTrainer t = Bench.trainer(recording, p, batch);
        t.step();
        t.readStats();
        List<OpSuite.Case> out = new ArrayList<>();
        for (OpSuite.Case c : found.values())
            out.add(new OpSuite.Case(p.name() + " " + c.name(), c.shape(), c.ops(), c.body()));
        return out;
    }

    /** The case that checks this call, or null for calls that move no arithmetic or are covered by another call's case. */
    private static OpSuite.Case caseOf(String op, Object[] a) {
        return switch (op) {
            case "copy", "fill" -> OpSuite.memory(size(a[0]));
            case "gemm" -> OpSuite.gemm((Boolean) a[0], (Boolean) a[1], (Integer) a[2], (Integer) a[3], (Integer) a[4],
                    (Float) a[5], (Float) a[8]);
            case "addBias" -> OpSuite.bias(t(a[0]).shape(), false);
            case "biasGrad" -> OpSuite.bias(t(a[0]).shape(), (Boolean) a[2]);
            case "multiply" -> OpSuite.multiply(t(a[0]).shape(), size(a[1]) != size(a[0]), t(a[2]).sameStorage(t(a[0])));
            case "conv2dForward" -> OpSuite.conv(t(a[0]).shape(), t(a[1]).shape(), (ConvGeometry) a[3]);
            case "conv2dBackwardData" -> OpSuite.conv(t(a[2]).shape(), t(a[1]).shape(), (ConvGeometry) a[3]);
            case "conv2dBackwardFilter" -> OpSuite.conv(t(a[0]).shape(), t(a[2]).shape(), (ConvGeometry) a[3]);
            case "dropoutForward" -> OpSuite.dropout(size(a[0]), (Float) a[3]);
            case "leakyRelu", "leakyReluBackward" -> OpSuite.leakyRelu(size(a[0]), (Float) a[a.length - 1]);
            case "relu", "reluBackward" -> OpSuite.relu(size(a[0]));
            case "tanh", "tanhBackward" -> OpSuite.tanh(size(a[0]));
            case "sigmoid", "sigmoidBackward" -> OpSuite.sigmoid(size(a[0]));
            case "batchNormTrain" -> OpSuite.batchNorm(t(a[0]).shape(), (Float) a[5], (Float) a[6]);
            case "batchNormLeakyReluTrain" -> OpSuite.batchNormLeakyRelu(t(a[0]).shape(), (Float) a[5], (Float) a[6], (Float) a[7]);
            case "bceWithLogits" -> OpSuite.bce(size(a[0]), a[1] != null, (Float) a[2], (Float) a[3]);
            case "criticLoss" -> OpSuite.criticLoss(size(a[1]), (CriticLoss) a[0], (Float) a[2], (Float) a[3]);
            case "clamp" -> OpSuite.clamp(size(a[0]), (Float) a[1], (Float) a[2]);
            case "spectralNorm" -> OpSuite.spectralNorm(t(a[0]).shape(), (Integer) a[1], (Boolean) a[4]);
            case "spectralNormBackward" -> OpSuite.spectralNormBackward(t(a[0]).shape(), (Integer) a[2], (Boolean) a[7]);
            case "diffAugment", "diffAugmentBackward" -> OpSuite.diffAugment((DiffAugment) a[0], t(a[1]).shape());
            case "softmax" -> OpSuite.softmax(t(a[0]).shape().dim(0), t(a[0]).shape().dim(1));
            case "softmaxCrossEntropy" -> OpSuite.softmaxCrossEntropy(t(a[0]).shape().dim(0), t(a[0]).shape().dim(1));
            case "maxPool2x2Forward" -> OpSuite.maxPool(t(a[0]).shape());
            case "ema" -> OpSuite.ema(size(a[0]), (Float) a[2]);
            case "adamStep" -> OpSuite.adam(sizes(a[0]), (Float) a[4], (Float) a[5], (Float) a[6], (Float) a[7], (Float) a[8], (Integer) a[9]);
            case "sgdStep" -> OpSuite.sgd(sizes(a[0]), (Float) a[3], (Float) a[4], (Boolean) a[5]);
            case "rmspropStep" -> OpSuite.rmsprop(sizes(a[0]), (Float) a[3], (Float) a[4], (Float) a[5]);
            case "fillUniform" -> OpSuite.fillUniform(size(a[0]), (Float) a[1], (Float) a[2]);
            case "fillNormal" -> OpSuite.fillNormal(size(a[0]), (Float) a[1], (Float) a[2]);
            case "fillBernoulli" -> OpSuite.fillBernoulli(size(a[0]), (Float) a[1]);
            default -> null;   // allocate, transfers, synchronize, describe ...; backwards covered by their forward's case
        };
    }

    private static Tensor t(Object o) { return (Tensor) o; }

    private static int size(Object o) { return t(o).shape().intSize(); }

    private static int[] sizes(Object list) {
        List<?> l = (List<?>) list;
        int[] s = new int[l.size()];
        for (int i = 0; i < s.length; i++) s[i] = size(l.get(i));
        return s;
    }
}
