package dev.jgan.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.D;
import static dev.jgan.cpu.Vec.F;
import static dev.jgan.cpu.Vec.FL;
import static dev.jgan.cpu.Vec.FH;
import static dev.jgan.cpu.Vec.HL;
import static dev.jgan.cpu.Vec.ORDER;
import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.load;
import static dev.jgan.cpu.Vec.loadHalf;
import static dev.jgan.cpu.Vec.loadWide;
import static dev.jgan.cpu.Vec.narrow;
import static dev.jgan.cpu.Vec.set;
import static dev.jgan.cpu.Vec.store;

/**
 * Batch norm over x: (N, C, S) per channel, M = N * S values a channel. Channel c of item n is
 * the contiguous run [(n * C + c) * S, + S).
 *
 * <p>Statistics are two-pass (mean, then the centred sum of squares), both accumulated in double,
 * so a channel with a large mean and a small spread keeps its variance. Momentum is PyTorch's:
 * running = (1 - m) * running + m * batch, with the unbiased variance; normalisation uses the
 * biased one. Every element is read before it is written: y may alias x, dx may alias dy.
 *
 * <p>For S == 1 ((N, C) activations) HL channels go down the rows together as lanes; remaining
 * channels, and every channel when S > 1, are done one at a time along their runs.
 */
final class BatchNorm {
    private BatchNorm() {}

    // ---- training forward -------------------------------------------------------------------

    static void train(MemorySegment x, int n, int c, int s, MemorySegment gamma, MemorySegment beta,
                      MemorySegment runMean, MemorySegment runVar, float momentum, float eps,
                      MemorySegment y, MemorySegment saveMean, MemorySegment saveInvStd) {
        int c0 = 0;
        if (s == 1) {
            for (; c0 + HL <= c; c0 += HL)
                trainLanes(x, n, c, c0, gamma, beta, runMean, runVar, momentum, eps, y, saveMean, saveInvStd);
        }
        for (; c0 < c; c0++)
            trainChannel(x, n, c, s, c0, gamma, beta, runMean, runVar, momentum, eps, y, saveMean, saveInvStd);
    }

    // channels [c0, c0 + HL) of an (N, C) input, one lane each
    private static void trainLanes(MemorySegment x, int n, int c, int c0, MemorySegment gamma, MemorySegment beta,
                                   MemorySegment runMean, MemorySegment runVar, float momentum, float eps,
                                   MemorySegment y, MemorySegment saveMean, MemorySegment saveInvStd) {
        DoubleVector sum = DoubleVector.zero(D);
        for (int i = 0; i < n; i++) sum = sum.add(loadWide(x, (long) i * c + c0));
        DoubleVector mean = sum.div(n);
        DoubleVector squares = DoubleVector.zero(D);
        for (int i = 0; i < n; i++) {
            DoubleVector d = loadWide(x, (long) i * c + c0).sub(mean);
            squares = d.fma(d, squares);
        }
        DoubleVector var = squares.div(n);
        DoubleVector invStd = DoubleVector.broadcast(D, 1.0).div(var.add(eps).sqrt());

        long byteOff = (long) c0 << 2;
        FloatVector meanF = narrow(mean), invStdF = narrow(invStd);
        meanF.intoMemorySegment(saveMean, byteOff, ORDER);
        invStdF.intoMemorySegment(saveInvStd, byteOff, ORDER);
        double keep = 1.0 - momentum;
        narrow(loadWide(runMean, c0).mul(keep).add(mean.mul(momentum))).intoMemorySegment(runMean, byteOff, ORDER);
        if (n > 1) {
            DoubleVector unbiased = var.mul((double) n / (n - 1));
            narrow(loadWide(runVar, c0).mul(keep).add(unbiased.mul(momentum))).intoMemorySegment(runVar, byteOff, ORDER);
        }

        FloatVector scale = loadHalf(gamma, c0).mul(invStdF), shift = loadHalf(beta, c0);
        for (int i = 0; i < n; i++) {
            long off = (long) i * c + c0;
            loadHalf(x, off).sub(meanF).fma(scale, shift).intoMemorySegment(y, off << 2, ORDER);
        }
    }

    private static void trainChannel(MemorySegment x, int n, int c, int s, int ch, MemorySegment gamma, MemorySegment beta,
                                     MemorySegment runMean, MemorySegment runVar, float momentum, float eps,
                                     MemorySegment y, MemorySegment saveMean, MemorySegment saveInvStd) {
        long m = (long) n * s;
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Vec.sum(x, ((long) i * c + ch) * s, s);
        double mean = sum / m;
        double squares = 0;
        for (int i = 0; i < n; i++) squares += Vec.sumSquaredDeviations(x, ((long) i * c + ch) * s, s, mean);
        double var = squares / m;
        float invStd = (float) (1.0 / Math.sqrt(var + eps));

        set(saveMean, ch, (float) mean);
        set(saveInvStd, ch, invStd);
        double keep = 1.0 - momentum;
        set(runMean, ch, (float) (keep * get(runMean, ch) + momentum * mean));
        if (m > 1) set(runVar, ch, (float) (keep * get(runVar, ch) + momentum * var * m / (m - 1)));

        float meanF = (float) mean, scale = get(gamma, ch) * invStd, shift = get(beta, ch);
        for (int i = 0; i < n; i++) affine(x, y, ((long) i * c + ch) * s, s, meanF, scale, shift);
    }

    // y = (x - mean) * scale + shift over one run
    private static void affine(MemorySegment x, MemorySegment y, long off, int len, float mean, float scale, float shift) {
        int j = 0;
        if (len >= FL) {
            FloatVector m = FloatVector.broadcast(F, mean), k = FloatVector.broadcast(F, scale), b = FloatVector.broadcast(F, shift);
            for (int bound = F.loopBound(len); j < bound; j += FL) store(load(x, off + j).sub(m).fma(k, b), y, off + j);
        }
        for (; j < len; j++) set(y, off + j, (get(x, off + j) - mean) * scale + shift);
    }

    // ---- inference forward ------------------------------------------------------------------

    // y = (x - runMean) * gamma / sqrt(runVar + eps) + beta
    static void infer(MemorySegment x, int n, int c, int s, MemorySegment gamma, MemorySegment beta,
                      MemorySegment runMean, MemorySegment runVar, float eps, MemorySegment y) {
        if (s == 1) {
            FloatVector one = FloatVector.broadcast(F, 1f);
            for (int i = 0; i < n; i++) {
                long row = (long) i * c;
                int j = 0;
                for (int bound = F.loopBound(c); j < bound; j += FL) {
                    FloatVector scale = load(gamma, j).div(load(runVar, j).add(eps).sqrt());
                    store(load(x, row + j).sub(load(runMean, j)).fma(scale, load(beta, j)), y, row + j);
                }
                for (; j < c; j++) {
                    float scale = get(gamma, j) / (float) Math.sqrt(get(runVar, j) + eps);
                    set(y, row + j, (get(x, row + j) - get(runMean, j)) * scale + get(beta, j));
                }
            }
            return;
        }
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < c; ch++) {
                float scale = get(gamma, ch) / (float) Math.sqrt(get(runVar, ch) + eps);
                affine(x, y, ((long) i * c + ch) * s, s, get(runMean, ch), scale, get(beta, ch));
            }
        }
    }

    // ---- backward ---------------------------------------------------------------------------

    /*
     * With xhat = (x - mean) * invStd, sums a = sum dy and b = sum dy * (x - mean) per channel:
     * dBeta = a, dGamma = b * invStd, and
     * dx = gamma * invStd * (dy - a / M - (x - mean) * invStd^2 * b / M),
     * the Backend's formula with the factor M moved inside.
     */
    static void backward(MemorySegment x, MemorySegment dy, int n, int c, int s, MemorySegment gamma,
                         MemorySegment saveMean, MemorySegment saveInvStd,
                         MemorySegment dx, MemorySegment dGamma, MemorySegment dBeta, boolean accumulate) {
        int c0 = 0;
        if (s == 1) {
            for (; c0 + HL <= c; c0 += HL)
                backwardLanes(x, dy, n, c, c0, gamma, saveMean, saveInvStd, dx, dGamma, dBeta, accumulate);
        }
        for (; c0 < c; c0++)
            backwardChannel(x, dy, n, c, s, c0, gamma, saveMean, saveInvStd, dx, dGamma, dBeta, accumulate);
    }

    private static void backwardLanes(MemorySegment x, MemorySegment dy, int n, int c, int c0, MemorySegment gamma,
                                      MemorySegment saveMean, MemorySegment saveInvStd,
                                      MemorySegment dx, MemorySegment dGamma, MemorySegment dBeta, boolean accumulate) {
        FloatVector meanF = loadHalf(saveMean, c0), invStdF = loadHalf(saveInvStd, c0);
        DoubleVector mean = Vec.widen(meanF), invStd = Vec.widen(invStdF);
        DoubleVector a = DoubleVector.zero(D), b = DoubleVector.zero(D);
        for (int i = 0; i < n; i++) {
            long off = (long) i * c + c0;
            DoubleVector g = loadWide(dy, off);
            a = a.add(g);
            b = g.fma(loadWide(x, off).sub(mean), b);
        }
        long byteOff = (long) c0 << 2;
        DoubleVector dGammaNew = b.mul(invStd);
        narrow(accumulate ? a.add(loadWide(dBeta, c0)) : a).intoMemorySegment(dBeta, byteOff, ORDER);
        narrow(accumulate ? dGammaNew.add(loadWide(dGamma, c0)) : dGammaNew).intoMemorySegment(dGamma, byteOff, ORDER);

        FloatVector k = loadHalf(gamma, c0).mul(invStdF);
        FloatVector meanDy = narrow(a.div(n));
        FloatVector slope = narrow(b.mul(invStd).mul(invStd).div(n));
        for (int i = 0; i < n; i++) {
            long off = (long) i * c + c0;
            FloatVector centred = loadHalf(x, off).sub(meanF);
            loadHalf(dy, off).sub(meanDy).sub(centred.mul(slope)).mul(k).intoMemorySegment(dx, off << 2, ORDER);
        }
    }

    private static void backwardChannel(MemorySegment x, MemorySegment dy, int n, int c, int s, int ch, MemorySegment gamma,
                                        MemorySegment saveMean, MemorySegment saveInvStd,
                                        MemorySegment dx, MemorySegment dGamma, MemorySegment dBeta, boolean accumulate) {
        long m = (long) n * s;
        float meanF = get(saveMean, ch), invStdF = get(saveInvStd, ch);
        double a = 0, b = 0;
        for (int i = 0; i < n; i++) {
            long off = ((long) i * c + ch) * s;
            DoubleVector va = DoubleVector.zero(D), vb = DoubleVector.zero(D);
            int j = 0;
            for (int bound = FH.loopBound(s); j < bound; j += HL) {
                DoubleVector g = loadWide(dy, off + j);
                va = va.add(g);
                vb = g.fma(loadWide(x, off + j).sub(meanF), vb);
            }
            a += va.reduceLanes(VectorOperators.ADD);
            b += vb.reduceLanes(VectorOperators.ADD);
            for (; j < s; j++) {
                double g = get(dy, off + j);
                a += g;
                b += g * ((double) get(x, off + j) - meanF);
            }
        }
        double dGammaNew = b * invStdF;
        set(dBeta, ch, (float) (accumulate ? get(dBeta, ch) + a : a));
        set(dGamma, ch, (float) (accumulate ? get(dGamma, ch) + dGammaNew : dGammaNew));

        float k = get(gamma, ch) * invStdF;
        float meanDy = (float) (a / m);
        float slope = (float) (b * invStdF * invStdF / m);
        for (int i = 0; i < n; i++) {
            long off = ((long) i * c + ch) * s;
            int j = 0;
            if (s >= FL) {
                FloatVector vm = FloatVector.broadcast(F, meanF), vk = FloatVector.broadcast(F, k);
                FloatVector vd = FloatVector.broadcast(F, meanDy), vs = FloatVector.broadcast(F, slope);
                for (int bound = F.loopBound(s); j < bound; j += FL) {
                    FloatVector centred = load(x, off + j).sub(vm);
                    store(load(dy, off + j).sub(vd).sub(centred.mul(vs)).mul(vk), dx, off + j);
                }
            }
            for (; j < s; j++) set(dx, off + j, (get(dy, off + j) - meanDy - (get(x, off + j) - meanF) * slope) * k);
        }
    }
}
