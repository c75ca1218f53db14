package dev.jgan.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.Vec.D;
import static dev.jgan.cpu.Vec.F;
import static dev.jgan.cpu.Vec.FH;
import static dev.jgan.cpu.Vec.FL;
import static dev.jgan.cpu.Vec.HL;
import static dev.jgan.cpu.Vec.ORDER;
import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.set;
import static jdk.incubator.vector.FloatVector.fromMemorySegment;
import static jdk.incubator.vector.VectorOperators.D2F;
import static jdk.incubator.vector.VectorOperators.F2D;

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
 * channels, and every channel when S > 1, are done one at a time along their runs. Each op is
 * one method with all its loops (see {@link Vec} on why kernels do not call kernels), but for train's
 * last steps: saving a channel's statistics and normalising it are methods of their own (public), so
 * that the kernel lab's variants of the statistics (dev.jgan.lab.cpu) save and normalise exactly as
 * production does.
 */
public final class BatchNorm {
    private BatchNorm() {}

    static void train(MemorySegment x, int n, int c, int s, MemorySegment gamma, MemorySegment beta,
                      MemorySegment runMean, MemorySegment runVar, float momentum, float eps,
                      MemorySegment y, MemorySegment saveMean, MemorySegment saveInvStd) {
        long m = (long) n * s;
        double keep = 1.0 - momentum, unbiasing = m > 1 ? (double) m / (m - 1) : 1.0;
        int c0 = 0;
        if (s == 1) {
            // (N, C): channels [c0, c0 + HL) as lanes, down the rows
            for (; c0 + HL <= c; c0 += HL) {
                long at = (long) c0 << 2;
                DoubleVector sum = DoubleVector.zero(D);
                for (int i = 0; i < n; i++)
                    sum = sum.add(fromMemorySegment(FH, x, ((long) i * c + c0) << 2, ORDER).convertShape(F2D, D, 0));
                DoubleVector mean = sum.div(n);
                DoubleVector squares = DoubleVector.zero(D);
                for (int i = 0; i < n; i++) {
                    DoubleVector d = ((DoubleVector) fromMemorySegment(FH, x, ((long) i * c + c0) << 2, ORDER)
                            .convertShape(F2D, D, 0)).sub(mean);
                    squares = d.fma(d, squares);
                }
                DoubleVector var = squares.div(n);
                FloatVector meanF = (FloatVector) mean.convertShape(D2F, FH, 0);
                FloatVector invStdF = (FloatVector) DoubleVector.broadcast(D, 1.0).div(var.add(eps).sqrt()).convertShape(D2F, FH, 0);
                meanF.intoMemorySegment(saveMean, at, ORDER);
                invStdF.intoMemorySegment(saveInvStd, at, ORDER);
                ((DoubleVector) fromMemorySegment(FH, runMean, at, ORDER).convertShape(F2D, D, 0)).mul(keep).add(mean.mul(momentum))
                        .convertShape(D2F, FH, 0).intoMemorySegment(runMean, at, ORDER);
                if (m > 1)
                    ((DoubleVector) fromMemorySegment(FH, runVar, at, ORDER).convertShape(F2D, D, 0)).mul(keep)
                            .add(var.mul(unbiasing * momentum)).convertShape(D2F, FH, 0).intoMemorySegment(runVar, at, ORDER);

                normaliseLanes(x, n, c, c0, gamma, beta, saveMean, saveInvStd, y);
            }
        }
        // one channel at a time along its runs
        for (; c0 < c; c0++) {
            double sum = 0;
            for (int i = 0; i < n; i++) {
                long off = ((long) i * c + c0) * s;
                DoubleVector acc = DoubleVector.zero(D);
                int j = 0;
                for (int bound = FH.loopBound(s); j < bound; j += HL)
                    acc = acc.add(fromMemorySegment(FH, x, (off + j) << 2, ORDER).convertShape(F2D, D, 0));
                sum += acc.reduceLanes(VectorOperators.ADD);
                for (; j < s; j++) sum += get(x, off + j);
            }
            double mean = sum / m;
            double squares = 0;
            for (int i = 0; i < n; i++) {
                long off = ((long) i * c + c0) * s;
                DoubleVector acc = DoubleVector.zero(D);
                int j = 0;
                for (int bound = FH.loopBound(s); j < bound; j += HL) {
                    DoubleVector d = ((DoubleVector) fromMemorySegment(FH, x, (off + j) << 2, ORDER).convertShape(F2D, D, 0)).sub(mean);
                    acc = d.fma(d, acc);
                }
                squares += acc.reduceLanes(VectorOperators.ADD);
                for (; j < s; j++) {
                    double d = get(x, off + j) - mean;
                    squares += d * d;
                }
            }
            saveStatistics(c0, mean, squares / m, m, momentum, eps, runMean, runVar, saveMean, saveInvStd);
            normaliseChannel(x, n, c, s, c0, gamma, beta, saveMean, saveInvStd, y);
        }
    }

    /*
     * The parts of train after a channel's statistics, public for the kernel lab's variants of the
     * statistics (dev.jgan.lab.cpu): they save and normalise exactly as train does, so a variant
     * differs from production in its statistics only.
     */

    /**
     * Channel ch's batch statistics, from its mean and biased variance (both from M = N * S values):
     * saveMean = mean, saveInvStd = 1 / sqrt(var + eps), and the running statistics with PyTorch's
     * momentum, the running variance unbiased (var * M / (M - 1)) and left alone when M == 1.
     */
    public static void saveStatistics(int ch, double mean, double var, long m, float momentum, float eps,
                                      MemorySegment runMean, MemorySegment runVar, MemorySegment saveMean, MemorySegment saveInvStd) {
        double keep = 1.0 - momentum, unbiasing = m > 1 ? (double) m / (m - 1) : 1.0;
        set(saveMean, ch, (float) mean);
        set(saveInvStd, ch, (float) (1.0 / Math.sqrt(var + eps)));
        set(runMean, ch, (float) (keep * get(runMean, ch) + momentum * mean));
        if (m > 1) set(runVar, ch, (float) (keep * get(runVar, ch) + momentum * var * unbiasing));
    }

    /** y = (x - mean) * (gamma * invStd) + beta over channel ch's runs of x: (N, C, S), from its saved statistics. */
    public static void normaliseChannel(MemorySegment x, int n, int c, int s, int ch, MemorySegment gamma, MemorySegment beta,
                                        MemorySegment saveMean, MemorySegment saveInvStd, MemorySegment y) {
        float meanF = get(saveMean, ch), scale = get(gamma, ch) * get(saveInvStd, ch), shift = get(beta, ch);
        FloatVector vm = FloatVector.broadcast(F, meanF), vk = FloatVector.broadcast(F, scale), vb = FloatVector.broadcast(F, shift);
        for (int i = 0; i < n; i++) {
            long off = ((long) i * c + ch) * s;
            int j = 0;
            for (int bound = F.loopBound(s); j < bound; j += FL) {
                long at = (off + j) << 2;
                fromMemorySegment(F, x, at, ORDER).sub(vm).fma(vk, vb).intoMemorySegment(y, at, ORDER);
            }
            for (; j < s; j++) set(y, off + j, (get(x, off + j) - meanF) * scale + shift);
        }
    }

    /**
     * y = (x - mean) * (gamma * invStd) + beta for channels [c0, c0 + {@link Vec#HL}) of x: (N, C), as lanes
     * down the rows, from their saved statistics.
     */
    public static void normaliseLanes(MemorySegment x, int n, int c, int c0, MemorySegment gamma, MemorySegment beta,
                                      MemorySegment saveMean, MemorySegment saveInvStd, MemorySegment y) {
        long at = (long) c0 << 2;
        FloatVector meanF = fromMemorySegment(FH, saveMean, at, ORDER);
        FloatVector scale = fromMemorySegment(FH, gamma, at, ORDER).mul(fromMemorySegment(FH, saveInvStd, at, ORDER));
        FloatVector shift = fromMemorySegment(FH, beta, at, ORDER);
        for (int i = 0; i < n; i++) {
            long off = ((long) i * c + c0) << 2;
            fromMemorySegment(FH, x, off, ORDER).sub(meanF).fma(scale, shift).intoMemorySegment(y, off, ORDER);
        }
    }

    // y = (x - runMean) * gamma / sqrt(runVar + eps) + beta
    static void infer(MemorySegment x, int n, int c, int s, MemorySegment gamma, MemorySegment beta,
                      MemorySegment runMean, MemorySegment runVar, float eps, MemorySegment y) {
        if (s == 1) {
            // (N, C): a row at a time, across channels
            for (int i = 0; i < n; i++) {
                long row = (long) i * c;
                int j = 0;
                for (int bound = F.loopBound(c); j < bound; j += FL) {
                    long at = (long) j << 2, xAt = (row + j) << 2;
                    FloatVector scale = fromMemorySegment(F, gamma, at, ORDER)
                            .div(fromMemorySegment(F, runVar, at, ORDER).add(eps).sqrt());
                    fromMemorySegment(F, x, xAt, ORDER).sub(fromMemorySegment(F, runMean, at, ORDER))
                            .fma(scale, fromMemorySegment(F, beta, at, ORDER)).intoMemorySegment(y, xAt, ORDER);
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
                long off = ((long) i * c + ch) * s;
                float mean = get(runMean, ch), shift = get(beta, ch);
                float scale = get(gamma, ch) / (float) Math.sqrt(get(runVar, ch) + eps);
                FloatVector vm = FloatVector.broadcast(F, mean), vk = FloatVector.broadcast(F, scale), vb = FloatVector.broadcast(F, shift);
                int j = 0;
                for (int bound = F.loopBound(s); j < bound; j += FL) {
                    long at = (off + j) << 2;
                    fromMemorySegment(F, x, at, ORDER).sub(vm).fma(vk, vb).intoMemorySegment(y, at, ORDER);
                }
                for (; j < s; j++) set(y, off + j, (get(x, off + j) - mean) * scale + shift);
            }
        }
    }

    /*
     * With xhat = (x - mean) * invStd, sums a = sum dy and b = sum dy * (x - mean) per channel:
     * dBeta = a, dGamma = b * invStd, and
     * dx = gamma * invStd * (dy - a / M - (x - mean) * invStd^2 * b / M),
     * the Backend's formula with the factor M moved inside.
     */
    static void backward(MemorySegment x, MemorySegment dy, int n, int c, int s, MemorySegment gamma,
                         MemorySegment saveMean, MemorySegment saveInvStd,
                         MemorySegment dx, MemorySegment dGamma, MemorySegment dBeta, boolean accumulate) {
        long m = (long) n * s;
        int c0 = 0;
        if (s == 1) {
            // (N, C): channels [c0, c0 + HL) as lanes, down the rows
            for (; c0 + HL <= c; c0 += HL) {
                long at = (long) c0 << 2;
                FloatVector meanF = fromMemorySegment(FH, saveMean, at, ORDER), invStdF = fromMemorySegment(FH, saveInvStd, at, ORDER);
                DoubleVector mean = (DoubleVector) meanF.convertShape(F2D, D, 0), invStd = (DoubleVector) invStdF.convertShape(F2D, D, 0);
                DoubleVector a = DoubleVector.zero(D), b = DoubleVector.zero(D);
                for (int i = 0; i < n; i++) {
                    long off = ((long) i * c + c0) << 2;
                    DoubleVector g = (DoubleVector) fromMemorySegment(FH, dy, off, ORDER).convertShape(F2D, D, 0);
                    DoubleVector centred = ((DoubleVector) fromMemorySegment(FH, x, off, ORDER).convertShape(F2D, D, 0)).sub(mean);
                    a = a.add(g);
                    b = g.fma(centred, b);
                }
                DoubleVector newDGamma = b.mul(invStd);
                if (accumulate) {
                    a.add(fromMemorySegment(FH, dBeta, at, ORDER).convertShape(F2D, D, 0))
                            .convertShape(D2F, FH, 0).intoMemorySegment(dBeta, at, ORDER);
                    newDGamma.add(fromMemorySegment(FH, dGamma, at, ORDER).convertShape(F2D, D, 0))
                            .convertShape(D2F, FH, 0).intoMemorySegment(dGamma, at, ORDER);
                } else {
                    a.convertShape(D2F, FH, 0).intoMemorySegment(dBeta, at, ORDER);
                    newDGamma.convertShape(D2F, FH, 0).intoMemorySegment(dGamma, at, ORDER);
                }

                FloatVector k = fromMemorySegment(FH, gamma, at, ORDER).mul(invStdF);
                FloatVector meanDy = (FloatVector) a.div(n).convertShape(D2F, FH, 0);
                FloatVector slope = (FloatVector) newDGamma.mul(invStd).div(n).convertShape(D2F, FH, 0);
                for (int i = 0; i < n; i++) {
                    long off = ((long) i * c + c0) << 2;
                    FloatVector centred = fromMemorySegment(FH, x, off, ORDER).sub(meanF);
                    fromMemorySegment(FH, dy, off, ORDER).sub(meanDy).sub(centred.mul(slope)).mul(k)
                            .intoMemorySegment(dx, off, ORDER);
                }
            }
        }
        // one channel at a time along its runs
        for (; c0 < c; c0++) {
            float meanF = get(saveMean, c0), invStdF = get(saveInvStd, c0);
            double a = 0, b = 0;
            for (int i = 0; i < n; i++) {
                long off = ((long) i * c + c0) * s;
                DoubleVector va = DoubleVector.zero(D), vb = DoubleVector.zero(D);
                int j = 0;
                for (int bound = FH.loopBound(s); j < bound; j += HL) {
                    long at = (off + j) << 2;
                    DoubleVector g = (DoubleVector) fromMemorySegment(FH, dy, at, ORDER).convertShape(F2D, D, 0);
                    DoubleVector centred = ((DoubleVector) fromMemorySegment(FH, x, at, ORDER).convertShape(F2D, D, 0)).sub(meanF);
                    va = va.add(g);
                    vb = g.fma(centred, vb);
                }
                a += va.reduceLanes(VectorOperators.ADD);
                b += vb.reduceLanes(VectorOperators.ADD);
                for (; j < s; j++) {
                    double g = get(dy, off + j);
                    a += g;
                    b += g * ((double) get(x, off + j) - meanF);
                }
            }
            double newDGamma = b * invStdF;
            set(dBeta, c0, (float) (accumulate ? get(dBeta, c0) + a : a));
            set(dGamma, c0, (float) (accumulate ? get(dGamma, c0) + newDGamma : newDGamma));

            // dx = (dy - meanDy - (x - mean) * slope) * k
            float k = get(gamma, c0) * invStdF;
            float meanDy = (float) (a / m);
            float slope = (float) (newDGamma * invStdF / m);
            FloatVector vm = FloatVector.broadcast(F, meanF), vk = FloatVector.broadcast(F, k);
            FloatVector vd = FloatVector.broadcast(F, meanDy), vs = FloatVector.broadcast(F, slope);
            for (int i = 0; i < n; i++) {
                long off = ((long) i * c + c0) * s;
                int j = 0;
                for (int bound = F.loopBound(s); j < bound; j += FL) {
                    long at = (off + j) << 2;
                    FloatVector centred = fromMemorySegment(F, x, at, ORDER).sub(vm);
                    fromMemorySegment(F, dy, at, ORDER).sub(vd).sub(centred.mul(vs)).mul(vk).intoMemorySegment(dx, at, ORDER);
                }
                for (; j < s; j++) set(dx, off + j, (get(dy, off + j) - meanDy - (get(x, off + j) - meanF) * slope) * k);
            }
        }
    }
}
