package dev.jgan.lab;

import dev.jgan.backend.AlgorithmChoice;
import dev.jgan.backend.Backend;
import dev.jgan.backend.ConvGeometry;
import dev.jgan.backend.CriticLoss;
import dev.jgan.backend.DiffAugment;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.List;
import java.util.Objects;

/**
 * A backend that does what {@code base} does: every call is handed to it. A CPU variant of the
 * kernel lab extends it and overrides the calls of its op (e.g. {@code batchNormTrain}); the rest
 * stays production. Tensors are the base's (allocate is passed through), so the variant's
 * overrides read their memory as the base's kernels do.
 */
public class ForwardingBackend implements Backend {
    /** The backend every call not overridden goes to. */
    protected final Backend base;

    public ForwardingBackend(Backend base) {
        this.base = Objects.requireNonNull(base, "base");
    }

    /** The backend every call not overridden goes to. */
    public Backend base() { return base; }

    @Override public String name() { return base.name(); }
    @Override public String describe() { return base.describe(); }
    @Override public Tensor allocate(Shape shape) { return base.allocate(shape); }
    @Override public void copyFromHost(float[] src, Tensor dst) { base.copyFromHost(src, dst); }
    @Override public void toHost(Tensor src, float[] dst) { base.toHost(src, dst); }
    @Override public void copy(Tensor src, Tensor dst) { base.copy(src, dst); }
    @Override public void fill(Tensor t, float value) { base.fill(t, value); }
    @Override public void synchronize() { base.synchronize(); }
    @Override public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a,
                               Tensor b, float beta, Tensor c) {
        base.gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
    }
    @Override public void addBias(Tensor y, Tensor bias) { base.addBias(y, bias); }
    @Override public void biasGrad(Tensor dy, Tensor dBias, boolean accumulate) { base.biasGrad(dy, dBias, accumulate); }
    @Override public void multiply(Tensor a, Tensor b, Tensor y) { base.multiply(a, b, y); }
    @Override public void conv2dForward(Tensor x, Tensor w, Tensor y, ConvGeometry g) { base.conv2dForward(x, w, y, g); }
    @Override public void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, ConvGeometry g) {
        base.conv2dBackwardData(dy, w, dx, g);
    }
    @Override public void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, ConvGeometry g, boolean accumulate) {
        base.conv2dBackwardFilter(x, dy, dw, g, accumulate);
    }
    @Override public void dropoutForward(Tensor x, Tensor mask, Tensor y, float p, long seed, long offset) {
        base.dropoutForward(x, mask, y, p, seed, offset);
    }
    @Override public void dropoutBackward(Tensor dy, Tensor mask, Tensor dx) { base.dropoutBackward(dy, mask, dx); }
    @Override public void leakyRelu(Tensor x, Tensor y, float slope) { base.leakyRelu(x, y, slope); }
    @Override public void leakyReluBackward(Tensor y, Tensor dy, Tensor dx, float slope) {
        base.leakyReluBackward(y, dy, dx, slope);
    }
    @Override public void relu(Tensor x, Tensor y) { base.relu(x, y); }
    @Override public void reluBackward(Tensor y, Tensor dy, Tensor dx) { base.reluBackward(y, dy, dx); }
    @Override public void tanh(Tensor x, Tensor y) { base.tanh(x, y); }
    @Override public void tanhBackward(Tensor y, Tensor dy, Tensor dx) { base.tanhBackward(y, dy, dx); }
    @Override public void sigmoid(Tensor x, Tensor y) { base.sigmoid(x, y); }
    @Override public void sigmoidBackward(Tensor y, Tensor dy, Tensor dx) { base.sigmoidBackward(y, dy, dx); }
    @Override public void batchNormTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                         Tensor runningVar, float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        base.batchNormTrain(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd);
    }
    @Override public void batchNormInfer(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                         Tensor runningVar, float eps, Tensor y) {
        base.batchNormInfer(x, gamma, beta, runningMean, runningVar, eps, y);
    }
    @Override public void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                            Tensor dx, Tensor dGamma, Tensor dBeta, boolean accumulate) {
        base.batchNormBackward(x, dy, gamma, saveMean, saveInvStd, dx, dGamma, dBeta, accumulate);
    }
    @Override public void batchNormLeakyReluTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                                  Tensor runningVar, float momentum, float eps, float slope, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        base.batchNormLeakyReluTrain(x, gamma, beta, runningMean, runningVar, momentum, eps, slope, y, saveMean, saveInvStd);
    }
    @Override public void batchNormLeakyReluBackward(Tensor x, Tensor y, Tensor dy, Tensor gamma, Tensor beta,
                                                     float slope, Tensor saveMean, Tensor saveInvStd, Tensor dx, Tensor dGamma, Tensor dBeta, boolean accumulate) {
        base.batchNormLeakyReluBackward(x, y, dy, gamma, beta, slope, saveMean, saveInvStd, dx, dGamma, dBeta, accumulate);
    }
    @Override public void bceWithLogits(Tensor logits, Tensor targets, float target, float gradScale,
                                        Tensor dLogits, Tensor stats, int slot) {
        base.bceWithLogits(logits, targets, target, gradScale, dLogits, stats, slot);
    }
    @Override public void criticLoss(CriticLoss kind, Tensor logits, float a, float gradScale, Tensor dLogits,
                                     Tensor stats, int slot) {
        base.criticLoss(kind, logits, a, gradScale, dLogits, stats, slot);
    }
    @Override public void softmax(Tensor x, Tensor y) { base.softmax(x, y); }
    @Override public void softmaxCrossEntropy(Tensor logits, Tensor labels, float gradScale, Tensor dLogits,
                                              Tensor stats, int slot) {
        base.softmaxCrossEntropy(logits, labels, gradScale, dLogits, stats, slot);
    }
    @Override public void maxPool2x2Forward(Tensor x, Tensor y) { base.maxPool2x2Forward(x, y); }
    @Override public void maxPool2x2Backward(Tensor x, Tensor y, Tensor dy, Tensor dx) { base.maxPool2x2Backward(x, y, dy, dx); }
    @Override public void ema(Tensor avg, Tensor x, float decay) { base.ema(avg, x, decay); }
    @Override public void adamStep(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v,
                                   float lr, float beta1, float beta2, float eps, float weightDecay, int t) {
        base.adamStep(params, grads, m, v, lr, beta1, beta2, eps, weightDecay, t);
    }
    @Override public void sgdStep(List<Tensor> params, List<Tensor> grads, List<Tensor> velocity, float lr,
                                  float momentum, boolean firstStep) {
        base.sgdStep(params, grads, velocity, lr, momentum, firstStep);
    }
    @Override public void rmspropStep(List<Tensor> params, List<Tensor> grads, List<Tensor> squareAvg, float lr,
                                      float alpha, float eps) {
        base.rmspropStep(params, grads, squareAvg, lr, alpha, eps);
    }
    @Override public void clamp(Tensor t, float lo, float hi) { base.clamp(t, lo, hi); }
    @Override public void spectralNorm(Tensor w, int dim, Tensor u, Tensor v, boolean update, Tensor wsn, Tensor work) {
        base.spectralNorm(w, dim, u, v, update, wsn, work);
    }
    @Override public void spectralNormBackward(Tensor g, Tensor wsn, int dim, Tensor u, Tensor v, Tensor work, Tensor dw,
                                               boolean accumulate) {
        base.spectralNormBackward(g, wsn, dim, u, v, work, dw, accumulate);
    }
    @Override public void diffAugment(DiffAugment kind, Tensor x, Tensor params, Tensor y) { base.diffAugment(kind, x, params, y); }
    @Override public void diffAugmentBackward(DiffAugment kind, Tensor dy, Tensor params, Tensor dx) {
        base.diffAugmentBackward(kind, dy, params, dx);
    }
    @Override public void fillUniform(Tensor t, float lo, float hi, long seed, long offset) {
        base.fillUniform(t, lo, hi, seed, offset);
    }
    @Override public void fillNormal(Tensor t, float mean, float std, long seed, long offset) {
        base.fillNormal(t, mean, std, seed, offset);
    }
    @Override public void fillBernoulli(Tensor t, float p, float ifTrue, float ifFalse, long seed, long offset) {
        base.fillBernoulli(t, p, ifTrue, ifFalse, seed, offset);
    }
    @Override public Timer timer() { return base.timer(); }
    @Override public List<AlgorithmChoice> algorithmChoices() { return base.algorithmChoices(); }
    @Override public void useAlgorithmChoices(List<AlgorithmChoice> choices) { base.useAlgorithmChoices(choices); }
    @Override public void close() { base.close(); }
}

