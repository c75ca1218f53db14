package dev.jgan.lab.cpu;

import dev.jgan.backend.Backend;
import dev.jgan.backend.OpChecks;
import dev.jgan.cpu.BatchNorm;
import dev.jgan.lab.ForwardingBackend;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import jdk.incubator.vector.DoubleVector;

import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.CpuBackend.seg;
import static dev.jgan.cpu.Vec.D;
import static dev.jgan.cpu.Vec.FH;
import static dev.jgan.cpu.Vec.HL;
import static dev.jgan.cpu.Vec.ORDER;
import static dev.jgan.cpu.Vec.get;
import static jdk.incubator.vector.FloatVector.fromMemorySegment;
import static jdk.incubator.vector.VectorOperators.ADD;
import static jdk.incubator.vector.VectorOperators.F2D;

/**
 * Kernel lab, batch_norm:welford (CPU). Status: experiment.
 *
 * <p>Tries: the training statistics in one pass over x instead of production's two (mean, then the
 * centred squares). Welford's update per double lane (count k, mean += d / k, M2 += d (x - mean),
 * d = x - old mean), two independent streams of lanes that share their count (so one division per
 * two vectors, and the chain through the mean is half as long), streams for what is left of a run (a
 * vector, then scalars), and Chan's merge of the streams at the end
 * (M2 = sum M2_g + sum n_g (mean_g - mean)^2): as stable as the two-pass sums on shifted data (mean
 * 1e4, std 1), since no stream ever squares the mean. Then production's own saving of the
 * statistics and its normalise pass ({@link BatchNorm#saveStatistics}, {@link BatchNorm#normaliseChannel},
 * {@link BatchNorm#normaliseLanes}), so only the statistics differ. Backward and inference stay production.
 *
 * <p>Per element of x: reads x twice (statistics, normalise) and writes y once, 12 bytes (production:
 * three reads, 16 bytes); 9 FLOPs (sub, fma, sub, fma for the update, sub and fma to normalise; a
 * double division per two vectors besides), production 7 (add; sub, fma; sub, fma).
 *
 * <p>Layout and conventions are production's (cpu/BatchNorm.java): x: (N, C, S), M = N * S values a
 * channel, momentum PyTorch's, the running variance unbiased; y may alias x.
 */
public final class WelfordBatchNorm extends ForwardingBackend {
    public WelfordBatchNorm(Backend base) {
        super(base);
    }

    @Override public void batchNormTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                         float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        String op = "batchNormTrain";
        MemorySegment sx = seg(op, "x", x), sy = seg(op, "y", y);
        MemorySegment sg = seg(op, "gamma", gamma), sb = seg(op, "beta", beta),
                rm = seg(op, "runningMean", runningMean), rv = seg(op, "runningVar", runningVar),
                sm = seg(op, "saveMean", saveMean), si = seg(op, "saveInvStd", saveInvStd);
        OpChecks.batchNormTrain(op, x, y, gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        Shape s = x.shape();
        train(sx, s.dim(0), s.dim(1), s.spatial(), sg, sb, rm, rv, momentum, eps, sy, sm, si);
    }

    // the activation in place on y, as production's fused op does (slope 0: relu, for the same bits)
    @Override public void batchNormLeakyReluTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                                  float momentum, float eps, float slope, Tensor y, Tensor saveMean,
                                                  Tensor saveInvStd) {
        String op = "batchNormLeakyReluTrain";
        MemorySegment sx = seg(op, "x", x), sy = seg(op, "y", y);
        MemorySegment sg = seg(op, "gamma", gamma), sb = seg(op, "beta", beta),
                rm = seg(op, "runningMean", runningMean), rv = seg(op, "runningVar", runningVar),
                sm = seg(op, "saveMean", saveMean), si = seg(op, "saveInvStd", saveInvStd);
        OpChecks.batchNormLeakyReluTrain(x, y, gamma, beta, runningMean, runningVar, saveMean, saveInvStd, slope);
        Shape s = x.shape();
        train(sx, s.dim(0), s.dim(1), s.spatial(), sg, sb, rm, rv, momentum, eps, sy, sm, si);
        if (slope == 0f) base.relu(y, y);
        else base.leakyRelu(y, y, slope);
    }

    /** Production's train (cpu/BatchNorm.java) with one-pass statistics: the same paths, S == 1 lanes and per channel. */
    static void train(MemorySegment x, int n, int c, int s, MemorySegment gamma, MemorySegment beta,
                      MemorySegment runMean, MemorySegment runVar, float momentum, float eps,
                      MemorySegment y, MemorySegment saveMean, MemorySegment saveInvStd) {
        long m = (long) n * s;
        int c0 = 0;
        if (s == 1) {
            // (N, C): channels [c0, c0 + HL) as lanes; even rows to stream a, odd rows to stream b
            for (; c0 + HL <= c; c0 += HL) {
                DoubleVector meanA = DoubleVector.zero(D), m2A = meanA, meanB = meanA, m2B = meanA;
                int i = 0;
                for (long k = 1; i + 1 < n; i += 2, k++) {
                    DoubleVector r = DoubleVector.broadcast(D, 1.0 / k);
                    DoubleVector a = (DoubleVector) fromMemorySegment(FH, x, ((long) i * c + c0) << 2, ORDER).convertShape(F2D, D, 0);
                    DoubleVector b = (DoubleVector) fromMemorySegment(FH, x, ((long) (i + 1) * c + c0) << 2, ORDER).convertShape(F2D, D, 0);
                    DoubleVector da = a.sub(meanA), db = b.sub(meanB);
                    meanA = da.fma(r, meanA);
                    meanB = db.fma(r, meanB);
                    m2A = da.fma(a.sub(meanA), m2A);
                    m2B = db.fma(b.sub(meanB), m2B);
                }
                long kB = n / 2, kA = n - kB;
                if (i < n) {   // n odd: the last row is stream a's kA-th
                    DoubleVector a = (DoubleVector) fromMemorySegment(FH, x, ((long) i * c + c0) << 2, ORDER).convertShape(F2D, D, 0);
                    DoubleVector da = a.sub(meanA);
                    meanA = da.fma(DoubleVector.broadcast(D, 1.0 / kA), meanA);
                    m2A = da.fma(a.sub(meanA), m2A);
                }
                // Chan: mean = mean_a + delta kB / n, M2 = M2_a + M2_b + delta^2 kA kB / n
                DoubleVector delta = meanB.sub(meanA);
                DoubleVector mean = delta.fma(DoubleVector.broadcast(D, (double) kB / n), meanA);
                DoubleVector m2 = delta.mul(delta).fma(DoubleVector.broadcast(D, (double) kA * kB / n), m2A.add(m2B));
                for (int lane = 0; lane < HL; lane++)
                    BatchNorm.saveStatistics(c0 + lane, mean.lane(lane), m2.lane(lane) / n, m, momentum, eps,
                            runMean, runVar, saveMean, saveInvStd);
                BatchNorm.normaliseLanes(x, n, c, c0, gamma, beta, saveMean, saveInvStd, y);
            }
        }
        // one channel at a time along its runs: pairs of vectors to streams a and b (one count, so one division a
        // pair), a vector left over in a run to stream v, the run's tail to the scalar stream t
        for (; c0 < c; c0++) {
            DoubleVector meanA = DoubleVector.zero(D), m2A = meanA, meanB = meanA, m2B = meanA, meanV = meanA, m2V = meanA;
            long kAB = 0, kV = 0, kT = 0;
            double meanT = 0, m2T = 0;
            for (int i = 0; i < n; i++) {
                long off = ((long) i * c + c0) * s;
                int j = 0;
                for (int bound = s - s % (2 * HL); j < bound; j += 2 * HL) {
                    DoubleVector r = DoubleVector.broadcast(D, 1.0 / ++kAB);
                    DoubleVector a = (DoubleVector) fromMemorySegment(FH, x, (off + j) << 2, ORDER).convertShape(F2D, D, 0);
                    DoubleVector b = (DoubleVector) fromMemorySegment(FH, x, (off + j + HL) << 2, ORDER).convertShape(F2D, D, 0);
                    DoubleVector da = a.sub(meanA), db = b.sub(meanB);
                    meanA = da.fma(r, meanA);
                    meanB = db.fma(r, meanB);
                    m2A = da.fma(a.sub(meanA), m2A);
                    m2B = db.fma(b.sub(meanB), m2B);
                }
                if (j + HL <= s) {
                    DoubleVector v = (DoubleVector) fromMemorySegment(FH, x, (off + j) << 2, ORDER).convertShape(F2D, D, 0);
                    DoubleVector dv = v.sub(meanV);
                    meanV = dv.fma(DoubleVector.broadcast(D, 1.0 / ++kV), meanV);
                    m2V = dv.fma(v.sub(meanV), m2V);
                    j += HL;
                }
                for (; j < s; j++) {
                    double v = get(x, off + j), d = v - meanT;
                    meanT += d / ++kT;
                    m2T += d * (v - meanT);
                }
            }
            // Chan over the groups (each lane of a and b: kAB values, of v: kV, t: kT), about a's mean so the sums stay small
            double mA = meanA.reduceLanes(ADD) / HL, mB = meanB.reduceLanes(ADD) / HL, mV = meanV.reduceLanes(ADD) / HL;
            DoubleVector dA = meanA.sub(mA), dB = meanB.sub(mB), dV = meanV.sub(mV);
            double m2a = m2A.reduceLanes(ADD) + kAB * dA.mul(dA).reduceLanes(ADD);
            double m2b = m2B.reduceLanes(ADD) + kAB * dB.mul(dB).reduceLanes(ADD);
            double m2v = m2V.reduceLanes(ADD) + kV * dV.mul(dV).reduceLanes(ADD);
            double nAB = (double) kAB * HL, nV = (double) kV * HL;
            double base = kAB > 0 ? mA : kV > 0 ? mV : meanT;
            double mean = base + (nAB * (mA - base) + nAB * (mB - base) + nV * (mV - base) + kT * (meanT - base)) / m;
            double eA = mA - mean, eB = mB - mean, eV = mV - mean, eT = meanT - mean;
            double m2 = m2a + m2b + m2v + m2T + nAB * (eA * eA + eB * eB) + nV * eV * eV + kT * eT * eT;
            BatchNorm.saveStatistics(c0, mean, m2 / m, m, momentum, eps, runMean, runVar, saveMean, saveInvStd);
            BatchNorm.normaliseChannel(x, n, c, s, c0, gamma, beta, saveMean, saveInvStd, y);
        }
    }
}
