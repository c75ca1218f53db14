package dev.jgan.cuda.emulated;

import dev.jgan.cuda.Dnn;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * cuDNN's convolution contract ({@link Dnn}) on the emulated device, with two algorithms per
 * direction, as cuDNN has several:
 * <ul>
 *   <li>{@value #DIRECT} "direct": plain loops with double accumulators, no workspace;</li>
 *   <li>{@value #IM2COL} "im2col+gemm": one image at a time, the patches of x unrolled into a
 *       (C R S, P Q) matrix in the caller's workspace, then a GEMM ({@link HostGemm}; forward:
 *       W (K, CRS) x cols; backward data: W^T x dy then the columns scattered back; backward
 *       filter: dy x cols^T summed over the images). Its workspace is that matrix: 4 C R S P Q
 *       bytes. The products are written row-major in the comments; HostGemm is column-major, so
 *       each is passed as its transpose (a row-major (r, c) matrix is a column-major (c, r) one).</li>
 * </ul>
 * Every call checks what cuDNN checks ({@link Dnn#checkProblem}), that the workspace it is given
 * is at least what {@link #workspaceSize} said (cuDNN: CUDNN_STATUS_BAD_PARAM), and that every
 * operand lies inside its allocation. alpha and beta blend as cuDNN's: out = alpha result + beta out,
 * out not read when beta is 0. Both algorithms are deterministic (each sum runs in a fixed order on
 * one thread), as find reports. {@link #find} does not time: it lists the algorithms that fit the
 * workspace, im2col+gemm first (faster), and writes NaN into the output operand, which cuDNN's
 * find leaves undefined.
 */
public final class EmulatedDnn implements Dnn {
    public static final int DIRECT = 0, IM2COL = 1;
    private static final String[] NAMES = {"direct", "im2col+gemm"};

    private final EmulatedMemory memory;

    public EmulatedDnn(EmulatedMemory memory) {
        this.memory = memory;
    }

    @Override public String describe() {
        return "emulated cuDNN (direct loops and im2col + host sgemm)";
    }

    @Override public int algorithmCount(Direction direction) { return NAMES.length; }

    @Override public long workspaceSize(Problem p, int algo) {
        Dnn.checkProblem("cudnnGetConvolutionWorkspaceSize (emulated)", p);
        return switch (algo) {
            case DIRECT -> 0;
            case IM2COL -> columnsBytes(p);
            default -> -1;
        };
    }

    @Override public List<Algo> find(Problem p, long x, long w, long y, long workspace, long workspaceBytes) {
        String call = "cudnnFindConvolutionAlgorithmEx (emulated)";
        Dnn.checkProblem(call, p);
        List<Algo> out = new ArrayList<>();
        for (int algo : new int[] {IM2COL, DIRECT}) {
            long need = workspaceSize(p, algo);
            if (need <= workspaceBytes) out.add(new Algo(algo, NAMES[algo], need, 0f, true)); // both sum in a fixed order
        }
        if (workspaceBytes > 0) memory.segment(workspace, workspaceBytes, call + " workspace");
        MemorySegment written = switch (p.direction()) {
            case FORWARD -> memory.segment(y, p.y().bytes(), call + " y");
            case BACKWARD_DATA -> memory.segment(x, p.x().bytes(), call + " dx");
            case BACKWARD_FILTER -> memory.segment(w, p.w().bytes(), call + " dw");
        };
        written.fill((byte) 0xff); // NaN: find leaves the output undefined
        return out;
    }

    @Override public void forward(float alpha, TensorDesc xDesc, long x, FilterDesc wDesc, long w, ConvDesc conv, int algo,
                                  long workspace, long workspaceBytes, float beta, TensorDesc yDesc, long y) {
        Problem p = new Problem(Direction.FORWARD, xDesc, wDesc, conv, yDesc);
        String call = "cudnnConvolutionForward (emulated) " + p;
        Operands o = operands(call, p, algo, x, w, y, workspace, workspaceBytes);
        Geometry g = new Geometry(p);
        if (algo == DIRECT) {
            for (int n = 0; n < g.n; n++)
                for (int k = 0; k < g.k; k++)
                    for (int oh = 0; oh < g.p; oh++)
                        for (int ow = 0; ow < g.q; ow++) {
                            double sum = 0;
                            for (int c = 0; c < g.c; c++)
                                for (int r = 0; r < g.r; r++) {
                                    int h = oh * g.sh - g.ph + r * g.dh;
                                    if (h < 0 || h >= g.h) continue;
                                    for (int s = 0; s < g.s; s++) {
                                        int iw = ow * g.sw - g.pw + s * g.dw;
                                        if (iw < 0 || iw >= g.w) continue;
                                        sum += (double) get(o.x, ((long) (n * g.c + c) * g.h + h) * g.w + iw)
                                                * get(o.w, ((long) (k * g.c + c) * g.r + r) * g.s + s);
                                    }
                                }
                            blend(o.y, ((long) (n * g.k + k) * g.p + oh) * g.q + ow, alpha, sum, beta);
                        }
            return;
        }
        int crs = g.c * g.r * g.s, pq = g.p * g.q;
        for (int n = 0; n < g.n; n++) {
            im2col(o.x, (long) n * g.c * g.h * g.w, g, o.workspace);
            // y_n (K, PQ) = alpha W (K, CRS) cols (CRS, PQ) + beta y_n, as y_n^T = cols^T W^T
            HostGemm.sgemm(false, false, pq, g.k, crs, alpha, o.workspace, pq, o.w, crs, beta, o.y.asSlice(4L * n * g.k * pq), pq);
        }
    }

    @Override public void backwardData(float alpha, FilterDesc wDesc, long w, TensorDesc dyDesc, long dy, ConvDesc conv, int algo,
                                       long workspace, long workspaceBytes, float beta, TensorDesc dxDesc, long dx) {
        Problem p = new Problem(Direction.BACKWARD_DATA, dxDesc, wDesc, conv, dyDesc);
        String call = "cudnnConvolutionBackwardData (emulated) " + p;
        Operands o = operands(call, p, algo, dx, w, dy, workspace, workspaceBytes);
        Geometry g = new Geometry(p);
        long image = (long) g.c * g.h * g.w;
        if (algo == DIRECT) {
            double[] acc = new double[Math.toIntExact(image)];
            for (int n = 0; n < g.n; n++) {
                Arrays.fill(acc, 0);
                for (int k = 0; k < g.k; k++)
                    for (int oh = 0; oh < g.p; oh++)
                        for (int ow = 0; ow < g.q; ow++) {
                            double d = get(o.y, ((long) (n * g.k + k) * g.p + oh) * g.q + ow);
                            for (int c = 0; c < g.c; c++)
                                for (int r = 0; r < g.r; r++) {
                                    int h = oh * g.sh - g.ph + r * g.dh;
                                    if (h < 0 || h >= g.h) continue;
                                    for (int s = 0; s < g.s; s++) {
                                        int iw = ow * g.sw - g.pw + s * g.dw;
                                        if (iw < 0 || iw >= g.w) continue;
                                        acc[(c * g.h + h) * g.w + iw] += d * get(o.w, ((long) (k * g.c + c) * g.r + r) * g.s + s);
                                    }
                                }
                        }
                for (int i = 0; i < acc.length; i++) blend(o.x, n * image + i, alpha, acc[i], beta);
            }
            return;
        }
        int crs = g.c * g.r * g.s, pq = g.p * g.q;
        for (int n = 0; n < g.n; n++) {
            // cols (CRS, PQ) = W^T (CRS, K) dy_n (K, PQ), as cols^T = dy_n^T W; then scattered back into dx_n
            HostGemm.sgemm(false, true, pq, crs, g.k, 1f, o.y.asSlice(4L * n * g.k * pq), pq, o.w, crs, 0f, o.workspace, pq);
            MemorySegment dxn = o.x.asSlice(4 * n * image, 4 * image);
            for (long i = 0; i < image; i++) dxn.setAtIndex(JAVA_FLOAT, i, beta == 0f ? 0f : beta * dxn.getAtIndex(JAVA_FLOAT, i));
            col2imAdd(o.workspace, g, alpha, dxn);
        }
    }

    @Override public void backwardFilter(float alpha, TensorDesc xDesc, long x, TensorDesc dyDesc, long dy, ConvDesc conv, int algo,
                                         long workspace, long workspaceBytes, float beta, FilterDesc dwDesc, long dw) {
        Problem p = new Problem(Direction.BACKWARD_FILTER, xDesc, dwDesc, conv, dyDesc);
        String call = "cudnnConvolutionBackwardFilter (emulated) " + p;
        Operands o = operands(call, p, algo, x, dw, dy, workspace, workspaceBytes);
        Geometry g = new Geometry(p);
        if (algo == DIRECT) {
            double[] acc = new double[Math.toIntExact((long) g.k * g.c * g.r * g.s)];
            for (int n = 0; n < g.n; n++)
                for (int k = 0; k < g.k; k++)
                    for (int oh = 0; oh < g.p; oh++)
                        for (int ow = 0; ow < g.q; ow++) {
                            double d = get(o.y, ((long) (n * g.k + k) * g.p + oh) * g.q + ow);
                            for (int c = 0; c < g.c; c++)
                                for (int r = 0; r < g.r; r++) {
                                    int h = oh * g.sh - g.ph + r * g.dh;
                                    if (h < 0 || h >= g.h) continue;
                                    for (int s = 0; s < g.s; s++) {
                                        int iw = ow * g.sw - g.pw + s * g.dw;
                                        if (iw < 0 || iw >= g.w) continue;
                                        acc[((k * g.c + c) * g.r + r) * g.s + s] += d * get(o.x, ((long) (n * g.c + c) * g.h + h) * g.w + iw);
                                    }
                                }
                        }
            for (int i = 0; i < acc.length; i++) blend(o.w, i, alpha, acc[i], beta);
            return;
        }
        int crs = g.c * g.r * g.s, pq = g.p * g.q;
        for (int n = 0; n < g.n; n++) {
            im2col(o.x, (long) n * g.c * g.h * g.w, g, o.workspace);
            // dw (K, CRS) = alpha dy_n (K, PQ) cols^T (PQ, CRS) + (n == 0 ? beta : 1) dw, as dw^T = cols dy_n^T
            HostGemm.sgemm(true, false, crs, g.k, pq, alpha, o.workspace, pq, o.y.asSlice(4L * n * g.k * pq), pq,
                    n == 0 ? beta : 1f, o.w, crs);
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------

    /** The operands resolved to host memory: x the image, w the filter, y the output (or their gradients). */
    private record Operands(MemorySegment x, MemorySegment w, MemorySegment y, MemorySegment workspace) {}

    private Operands operands(String call, Problem p, int algo, long x, long w, long y, long workspace, long workspaceBytes) {
        Dnn.checkProblem(call, p);
        long need = workspaceSize(p, algo);
        if (need < 0) throw new IllegalArgumentException(call + ": algorithm " + algo + " does not exist (CUDNN_STATUS_BAD_PARAM)");
        if (workspaceBytes < need)
            throw new IllegalArgumentException(call + ": algorithm " + NAMES[algo] + " needs a workspace of " + need
                    + " bytes, got " + workspaceBytes + " (CUDNN_STATUS_BAD_PARAM)");
        MemorySegment ws = need == 0 ? MemorySegment.NULL : memory.segment(workspace, need, call + " workspace");
        return new Operands(memory.segment(x, p.x().bytes(), call + " x"), memory.segment(w, p.w().bytes(), call + " w"),
                memory.segment(y, p.y().bytes(), call + " y"), ws);
    }

    private static long columnsBytes(Problem p) {
        return 4L * p.w().c() * p.w().r() * p.w().s() * p.y().h() * p.y().w();
    }

    /** The sizes of one problem as ints, named as in the Dnn contract. */
    private static final class Geometry {
        final int n, c, h, w, k, r, s, p, q, ph, pw, sh, sw, dh, dw;

        Geometry(Problem pr) {
            n = pr.x().n(); c = pr.x().c(); h = pr.x().h(); w = pr.x().w();
            k = pr.w().k(); r = pr.w().r(); s = pr.w().s(); p = pr.y().h(); q = pr.y().w();
            ph = pr.conv().padH(); pw = pr.conv().padW(); sh = pr.conv().strideH(); sw = pr.conv().strideW();
            dh = pr.conv().dilationH(); dw = pr.conv().dilationW();
        }
    }

    /** cols[(c R + r) S + s][p Q + q] = x_n[c, p sh - ph + r dh, q sw - pw + s dw] (0 outside). */
    private static void im2col(MemorySegment x, long base, Geometry g, MemorySegment cols) {
        long row = 0;
        for (int c = 0; c < g.c; c++)
            for (int r = 0; r < g.r; r++)
                for (int s = 0; s < g.s; s++, row++) {
                    long at = row * g.p * g.q;
                    for (int oh = 0; oh < g.p; oh++) {
                        int h = oh * g.sh - g.ph + r * g.dh;
                        boolean rowInside = h >= 0 && h < g.h;
                        long src = base + ((long) c * g.h + h) * g.w;
                        for (int ow = 0; ow < g.q; ow++, at++) {
                            int iw = ow * g.sw - g.pw + s * g.dw;
                            cols.setAtIndex(JAVA_FLOAT, at, rowInside && iw >= 0 && iw < g.w ? x.getAtIndex(JAVA_FLOAT, src + iw) : 0f);
                        }
                    }
                }
    }

    /** dx_n[c, h, w] += alpha cols[(c R + r) S + s][p Q + q] for every (r, s, p, q) that reads (h, w). */
    private static void col2imAdd(MemorySegment cols, Geometry g, float alpha, MemorySegment dxn) {
        long row = 0;
        for (int c = 0; c < g.c; c++)
            for (int r = 0; r < g.r; r++)
                for (int s = 0; s < g.s; s++, row++) {
                    long at = row * g.p * g.q;
                    for (int oh = 0; oh < g.p; oh++) {
                        int h = oh * g.sh - g.ph + r * g.dh;
                        if (h < 0 || h >= g.h) {
                            at += g.q;
                            continue;
                        }
                        long dst = ((long) c * g.h + h) * g.w;
                        for (int ow = 0; ow < g.q; ow++, at++) {
                            int iw = ow * g.sw - g.pw + s * g.dw;
                            if (iw < 0 || iw >= g.w) continue;
                            float v = dxn.getAtIndex(JAVA_FLOAT, dst + iw);
                            dxn.setAtIndex(JAVA_FLOAT, dst + iw, v + alpha * cols.getAtIndex(JAVA_FLOAT, at));
                        }
                    }
                }
    }

    private static float get(MemorySegment s, long i) { return s.getAtIndex(JAVA_FLOAT, i); }

    /** out[i] = alpha result + beta out[i], out not read when beta is 0. */
    private static void blend(MemorySegment out, long i, float alpha, double result, float beta) {
        double old = beta == 0f ? 0 : (double) beta * out.getAtIndex(JAVA_FLOAT, i);
        out.setAtIndex(JAVA_FLOAT, i, (float) (alpha * result + old));
    }

    @Override public String toString() { return describe(); }
}
