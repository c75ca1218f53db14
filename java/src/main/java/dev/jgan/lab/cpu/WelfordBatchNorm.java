package dev.jgan.lab.cpu;

import dev.jgan.backend.Backend;
import dev.jgan.backend.OpChecks;
import dev.jgan.cpu.BatchNorm;
import dev.jgan.lab.ForwardingBackend;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.jgan.cpu.CpuBackend.seg;
import static dev.jgan.cpu.Vec.D;
import static dev.jgan.cpu.Vec.F;
import static dev.jgan.cpu.Vec.FL;
import static dev.jgan.cpu.Vec.FH;
import static dev.jgan.cpu.Vec.HL;
import static dev.jgan.cpu.Vec.ORDER;
import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.set;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static jdk.incubator.vector.FloatVector.fromMemorySegment;
import static jdk.incubator.vector.VectorOperators.ADD;
import static jdk.incubator.vector.VectorOperators.F2D;

/**
 * Kernel lab, batch_norm:welford and batch_norm:welford-rows (CPU). Status: both experiments.
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
 * <p>welford-rows tries, besides: (N, C) inputs (S == 1) along their rows, statistics and normalise,
 * instead of HL channels at a time down the columns as production does (a stride of C floats: at C =
 * 1024 every row of a column block falls in the same few cache sets). A row has one count for all its
 * channels, so one division a row; each channel's Welford mean and M2 live in a per-thread state of
 * 2 C doubles. Its normalise is its own (production has no row-wise one), so it differs from
 * production in more than the statistics; S > 1 is welford's. Its state, 16 B per channel read and
 * written per row, stays in L1/L2 at the presets' C (at most 12544) and is not counted in the bytes.
 *
 * <p>Measured (train, {@code ./gan kernels bench batch_norm:welford --vs baseline}, 2 cores shared with
 * other jobs, to be re-measured): welford 1.05-1.42x production at the presets' ten shapes, welford-rows
 * 1.5x (64x256) to 4.8x (64x1024) at the (N, C) ones. Statistics on x ~ N(1e4, 1): both, like production,
 * the float roundings of the exact values (WelfordBatchNormTest).
 *
 * <p>Per element of x: reads x twice (statistics, normalise) and writes y once, 12 bytes (production:
 * three reads, 16 bytes); 9 FLOPs (sub, fma, sub, fma for the update, sub and fma to normalise; a
 * double division per two vectors besides), production 7 (add; sub, fma; sub, fma).
 *
 * <p>Layout and conventions are production's (cpu/BatchNorm.java): x: (N, C, S), M = N * S values a
 * channel, momentum PyTorch's, the running variance unbiased; y may alias x.
 */
public final class WelfordBatchNorm extends ForwardingBackend {
    /** Per thread: the rows path's running mean and M2 of every channel, 2 C doubles, grown on demand (warm calls allocate nothing). */
    private static final ThreadLocal<MemorySegment[]> ROW_STATE = ThreadLocal.withInitial(() -> new MemorySegment[] {MemorySegment.NULL});

    private final boolean rows;

    private WelfordBatchNorm(Backend base, boolean rows) {
        super(base);
        this.rows = rows;
    }

    /** batch_norm:welford: production's paths (S == 1 lanes down the columns, else per channel) with one-pass statistics. */
    public static Backend lanes(Backend base) { return new WelfordBatchNorm(base, false); }

    /** batch_norm:welford-rows: the same, but (N, C) inputs (S == 1) go along the rows, statistics and normalise. */
    public static Backend rows(Backend base) { return new WelfordBatchNorm(base, true); }

    @Override public void batchNormTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                         float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        String op = "batchNormTrain";
        MemorySegment sx = seg(op, "x", x), sy = seg(op, "y", y);
        MemorySegment sg = seg(op, "gamma", gamma), sb = seg(op, "beta", beta),
                rm = seg(op, "runningMean", runningMean), rv = seg(op, "runningVar", runningVar),
                sm = seg(op, "saveMean", saveMean), si = seg(op, "saveInvStd", saveInvStd);
        OpChecks.batchNormTrain(op, x, y, gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        Shape s = x.shape();
        if (rows && s.spatial() == 1) trainRows(sx, s.dim(0), s.dim(1), sg, sb, rm, rv, momentum, eps, sy, sm, si);
        else train(sx, s.dim(0), s.dim(1), s.spatial(), sg, sb, rm, rv, momentum, eps, sy, sm, si);
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
        if (rows && s.spatial() == 1) trainRows(sx, s.dim(0), s.dim(1), sg, sb, rm, rv, momentum, eps, sy, sm, si);
        else train(sx, s.dim(0), s.dim(1), s.spatial(), sg, sb, rm, rv, momentum, eps, sy, sm, si);
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

    /**
     * x: (N, C) along its rows, where production walks HL channels down the columns (a stride of C
     * floats, the same few cache sets for every row): per row i one count, so one division, for all
     * channels; each channel's Welford mean and M2 in double in a per-thread state (2 C doubles, in L1
     * or L2). Then production's saving of the statistics, and y along the rows.
     *
     * <p>The normalising loop is written here, not in a method of its own: that method (227 bytes of
     * bytecode) was inlined into this one, and this one (146 bytes) into batchNormTrain, and in that
     * compile C2 (JDK 25) left the loop's vector loads and fma to the allocating Java fallback (34 kB per
     * call, WelfordBatchNormTest.warmTrainingCallAllocatesNothing). With the loop here this method is over
     * C2's FreqInlineSize (325 bytes), so it is compiled on its own, as rowStatistics is.
     */
    static void trainRows(MemorySegment x, int n, int c, MemorySegment gamma, MemorySegment beta,
                          MemorySegment runMean, MemorySegment runVar, float momentum, float eps,
                          MemorySegment y, MemorySegment saveMean, MemorySegment saveInvStd) {
        MemorySegment[] holder = ROW_STATE.get();
        if (holder[0].byteSize() < 16L * c) holder[0] = Arena.ofAuto().allocate(16L * c, 64);
        MemorySegment st = holder[0];
        rowStatistics(x, n, c, st);
        for (int ch = 0; ch < c; ch++)
            BatchNorm.saveStatistics(ch, st.getAtIndex(JAVA_DOUBLE, ch), st.getAtIndex(JAVA_DOUBLE, c + ch) / n, n, momentum, eps,
                    runMean, runVar, saveMean, saveInvStd);
        // y = (x - mean) * (gamma * invStd) + beta, a row at a time (as production's lanes, in F vectors)
        int fBound = F.loopBound(c);
        for (int i = 0; i < n; i++) {
            long row = (long) i * c;
            int j = 0;
            for (; j < fBound; j += FL) {
                long at = (long) j << 2, xAt = (row + j) << 2;
                FloatVector scale = FloatVector.fromMemorySegment(F, gamma, at, ORDER).mul(FloatVector.fromMemorySegment(F, saveInvStd, at, ORDER));
                FloatVector.fromMemorySegment(F, x, xAt, ORDER).sub(FloatVector.fromMemorySegment(F, saveMean, at, ORDER))
                        .fma(scale, FloatVector.fromMemorySegment(F, beta, at, ORDER)).intoMemorySegment(y, xAt, ORDER);
            }
            for (; j < c; j++) set(y, row + j, (get(x, row + j) - get(saveMean, j)) * (get(gamma, j) * get(saveInvStd, j)) + get(beta, j));
        }
    }

    /*
     * Each channel's Welford mean and M2 over the rows of x: (N, C) into st (C means, then C M2s).
     * Methods of their own, each small: compiled inside one large method, C2 was seen (JDK 25) to
     * leave these loops' vector operations to the allocating Java fallback when other callers had
     * compiled the Vector API's methods first (their code then exceeds what C2 inlines).
     */
    private static void rowStatistics(MemorySegment x, int n, int c, MemorySegment st) {
        long q = 8L * c;   // M2 after the C means
        int bound = FH.loopBound(c);
        // row 0: mean = x, M2 = 0
        int j = 0;
        for (; j < bound; j += HL) {
            long at = (long) j << 3;
            fromMemorySegment(FH, x, (long) j << 2, ORDER).convertShape(F2D, D, 0).intoMemorySegment(st, at, ORDER);
            DoubleVector.zero(D).intoMemorySegment(st, q + at, ORDER);
        }
        for (; j < c; j++) {
            st.setAtIndex(JAVA_DOUBLE, j, get(x, j));
            st.setAtIndex(JAVA_DOUBLE, c + j, 0.0);
        }
        for (int i = 1; i < n; i++) {
            double rs = 1.0 / (i + 1);
            DoubleVector r = DoubleVector.broadcast(D, rs);
            long row = (long) i * c;
            j = 0;
            for (; j < bound; j += HL) {
                long at = (long) j << 3;
                DoubleVector v = (DoubleVector) fromMemorySegment(FH, x, (row + j) << 2, ORDER).convertShape(F2D, D, 0);
                DoubleVector mean = DoubleVector.fromMemorySegment(D, st, at, ORDER);
                DoubleVector d = v.sub(mean);
                mean = d.fma(r, mean);
                d.fma(v.sub(mean), DoubleVector.fromMemorySegment(D, st, q + at, ORDER)).intoMemorySegment(st, q + at, ORDER);
                mean.intoMemorySegment(st, at, ORDER);
            }
            for (; j < c; j++) {
                double v = get(x, row + j), mean = st.getAtIndex(JAVA_DOUBLE, j), d = v - mean;
                mean += d * rs;
                st.setAtIndex(JAVA_DOUBLE, c + j, st.getAtIndex(JAVA_DOUBLE, c + j) + d * (v - mean));
                st.setAtIndex(JAVA_DOUBLE, j, mean);
            }
        }
    }
}
