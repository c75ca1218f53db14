package dev.jgan.cpu;

import dev.jgan.backend.Backend;
import dev.jgan.backend.ConvGeometry;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.openblas.global.openblas_full;

import java.lang.foreign.MemorySegment;
import java.util.List;

import static dev.jgan.cpu.Vec.F;
import static dev.jgan.cpu.Vec.FL;

/**
 * The CPU backend: oneDNN for GEMM and convolutions (OpenBLAS for GEMM on request), Vector API
 * kernels for everything elementwise, batch norm, the loss, the optimizers, dropout and the Philox
 * fills.
 *
 * <ul>
 *   <li>Memory: each tensor is off-heap, 64-byte aligned, zero-filled, freed by the garbage
 *       collector ({@link HostStorage}). A tensor's data starts at its storage's first float.</li>
 *   <li>GEMM: oneDNN's dnnl_sgemm (row-major, like the Backend's definition: lda = k or m,
 *       ldb = n or k, ldc = n), or OpenBLAS's cblas_sgemm with CblasRowMajor when made with
 *       {@link Gemm#OPENBLAS} (or {@code -Djgan.cpu.gemm=openblas}). oneDNN is the default because
 *       its GEMMs and its convolutions share one OpenMP thread team: with OpenBLAS's pthreads beside
 *       it, each library's idle workers spin for a while after a call and take a core from the
 *       other's, which cost dcgan-28 a third of its step on two cores (223 vs 144 ms); on mlp-gan,
 *       GEMMs only, oneDNN was also ahead (8.6 vs 9.6 ms). As in BLAS, beta == 0 means C is not
 *       read (NaN in C does not propagate).</li>
 *   <li>Convolutions: oneDNN primitives over nchw/oihw tensors (blocked layouts inside), made once per distinct
 *       (op, shapes, geometry) and cached; a kernel that covers the whole image is a dense layer
 *       and runs as oneDNN's sgemm ({@link OneDnn}). oneDNN is loaded on first use;
 *       {@link #close} frees its objects (and the next call makes them again).</li>
 *   <li>Threads: {@code threads} is oneDNN's OpenMP thread count, which each oneDNN call sets on
 *       its calling thread, and with {@link Gemm#OPENBLAS} OpenBLAS's thread count, a process-wide
 *       setting (the last CpuBackend made sets it). The other kernels run single-threaded on the
 *       caller's thread.</li>
 *   <li>Ops are synchronous; {@link #synchronize} has nothing to wait for. Ops allocate nothing:
 *       arguments are checked first, then one vectorised pass (two or three for batch norm). A
 *       convolution allocates its cache key (56 bytes) and, the first time it meets a shape,
 *       oneDNN's objects.</li>
 *   <li>Reductions (bias gradient, batch-norm statistics and sums, loss statistics) accumulate
 *       in double.</li>
 * </ul>
 */
public final class CpuBackend implements Backend {
    /** Which library runs {@link #gemm}. */
    public enum Gemm { ONEDNN, OPENBLAS }

    private final int threads;
    private final Gemm gemm;
    private OneDnn oneDnn; // on first use: loading oneDNN takes a few hundred ms

    /** @param threads oneDNN's (and OpenBLAS's) threads, at least 1; GEMM by oneDNN unless -Djgan.cpu.gemm=openblas */
    public CpuBackend(int threads) {
        this(threads, gemmFromProperty());
    }

    public CpuBackend(int threads, Gemm gemm) {
        if (threads < 1) throw new IllegalArgumentException("CpuBackend: threads must be at least 1, got " + threads);
        this.threads = threads;
        this.gemm = gemm;
        if (gemm == Gemm.OPENBLAS) openblas_full.openblas_set_num_threads(threads);
    }

    private static Gemm gemmFromProperty() {
        String g = System.getProperty("jgan.cpu.gemm", "onednn");
        return switch (g) {
            case "onednn" -> Gemm.ONEDNN;
            case "openblas" -> Gemm.OPENBLAS;
            default -> throw new IllegalArgumentException("-Djgan.cpu.gemm must be onednn or openblas, got '" + g + "'");
        };
    }

    /** OpenBLAS's build configuration, e.g. "OpenBLAS 0.3.30 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64". */
    public static String openBlasConfig() {
        BytePointer config = openblas_full.openblas_get_config();
        return config == null ? "OpenBLAS (no config)" : config.getString().trim();
    }

    /** Width of the Vector API's preferred float vector in bits (512 with AVX-512, 256 with AVX2). */
    public static int vectorBits() {
        return FloatVector.SPECIES_PREFERRED.vectorBitSize();
    }

    /** Threads this backend was made with. */
    public int threads() { return threads; }

    /** The library that runs GEMMs. */
    public Gemm gemmLibrary() { return gemm; }

    @Override public String name() { return "cpu"; }

    @Override public String describe() {
        String blas;
        if (gemm == Gemm.OPENBLAS) { // "OpenBLAS 0.3.30 DYNAMIC_ARCH ..." -> "OpenBLAS 0.3.30 (DYNAMIC_ARCH ...)"
            String config = openBlasConfig();
            String[] parts = config.split(" ", 3);
            blas = (parts.length == 3 ? parts[0] + " " + parts[1] + " (" + parts[2] + ")" : config) + " GEMM, " + oneDnnVersion() + " convolutions";
        } else {
            blas = oneDnnVersion() + " GEMM and convolutions";
        }
        return "cpu: " + blas + ", " + threads + (threads == 1 ? " thread" : " threads")
                + ", Vector API " + vectorBits() + "-bit float";
    }

    // ---- memory -------------------------------------------------------------------------

    @Override public Tensor allocate(Shape shape) {
        return new Tensor(this, shape, new HostStorage(shape.size()));
    }

    @Override public void copyFromHost(float[] src, Tensor dst) {
        MemorySegment d = seg("copyFromHost", "dst", dst);
        if (src == null || src.length < dst.size())
            throw new IllegalArgumentException("copyFromHost: dst " + dst.shape() + " needs " + dst.size()
                    + " floats, the host array has " + (src == null ? "none (null)" : src.length));
        MemorySegment.copy(src, 0, d, Vec.FLOAT, 0, (int) dst.size());
    }

    @Override public void toHost(Tensor src, float[] dst) {
        MemorySegment s = seg("toHost", "src", src);
        if (dst == null || dst.length < src.size())
            throw new IllegalArgumentException("toHost: src " + src.shape() + " has " + src.size()
                    + " floats, the host array holds " + (dst == null ? "none (null)" : dst.length));
        MemorySegment.copy(s, Vec.FLOAT, 0, dst, 0, (int) src.size());
    }

    @Override public void copy(Tensor src, Tensor dst) {
        MemorySegment s = seg("copy", "src", src), d = seg("copy", "dst", dst);
        sameSize("copy", "src", src, "dst", dst);
        MemorySegment.copy(s, 0, d, 0, src.size() * Float.BYTES);
    }

    @Override public void fill(Tensor t, float value) {
        MemorySegment s = seg("fill", "t", t);
        long n = t.size(), i = 0;
        FloatVector v = FloatVector.broadcast(F, value);
        for (long bound = F.loopBound(n); i < bound; i += FL) v.intoMemorySegment(s, i << 2, Vec.ORDER);
        for (; i < n; i++) Vec.set(s, i, value);
    }

    @Override public void synchronize() {}

    // ---- GEMM and bias ------------------------------------------------------------------

    @Override public void gemm(boolean transA, boolean transB, int m, int n, int k,
                               float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        HostStorage sa = host("gemm", "A", a), sb = host("gemm", "B", b), sc = host("gemm", "C", c);
        if (m <= 0 || n <= 0 || k <= 0)
            throw new IllegalArgumentException("gemm: m, n, k must be positive, got " + m + ", " + n + ", " + k);
        gemmOperand("A", a, transA ? "(k, m)" : "(m, k)", (long) m * k, m, n, k);
        gemmOperand("B", b, transB ? "(n, k)" : "(k, n)", (long) k * n, m, n, k);
        gemmOperand("C", c, "(m, n)", (long) m * n, m, n, k);
        if (c.sameStorage(a) || c.sameStorage(b))
            throw new IllegalArgumentException("gemm: C " + c.shape() + " must not share memory with A or B");
        if (gemm == Gemm.ONEDNN) {
            oneDnn().sgemm(transA, transB, m, n, k, alpha, sa, transA ? m : k, sb, transB ? k : n, beta, sc, n);
            return;
        }
        openblas_full.cblas_sgemm(openblas_full.CblasRowMajor,
                transA ? openblas_full.CblasTrans : openblas_full.CblasNoTrans,
                transB ? openblas_full.CblasTrans : openblas_full.CblasNoTrans,
                m, n, k, alpha, sa.pointer(), transA ? m : k, sb.pointer(), transB ? k : n,
                beta, sc.pointer(), n);
    }

    private static void gemmOperand(String name, Tensor t, String layout, long needed, int m, int n, int k) {
        if (t.size() != needed)
            throw new IllegalArgumentException("gemm: " + name + " " + t.shape() + " has " + t.size()
                    + " elements, but " + layout + " with (m, n, k) = (" + m + ", " + n + ", " + k + ") needs " + needed);
    }

    @Override public void addBias(Tensor y, Tensor bias) {
        MemorySegment sy = seg("addBias", "y", y), sb = seg("addBias", "bias", bias);
        channels("addBias", "y", y, "bias", bias);
        Bias.add(sy, y.shape().dim(0), y.shape().dim(1), y.shape().spatial(), sb);
    }

    @Override public void biasGrad(Tensor dy, Tensor dBias, boolean accumulate) {
        MemorySegment sy = seg("biasGrad", "dy", dy), sb = seg("biasGrad", "dBias", dBias);
        channels("biasGrad", "dy", dy, "dBias", dBias);
        Bias.grad(sy, dy.shape().dim(0), dy.shape().dim(1), dy.shape().spatial(), sb, accumulate);
    }

    // ---- convolution ----------------------------------------------------------------------

    @Override public void conv2dForward(Tensor x, Tensor w, Tensor y, ConvGeometry g) {
        String op = "conv2dForward";
        HostStorage sx = host(op, "x", x), sw = host(op, "w", w), sy = host(op, "y", y);
        OneDnn.Key key = convShapes(OneDnn.FORWARD, op, "x", x, w, "y", y, g);
        distinct(op, "y", y, "x", x, "w", w);
        oneDnn().forward(sx, sw, sy, key);
    }

    @Override public void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, ConvGeometry g) {
        String op = "conv2dBackwardData";
        HostStorage sdy = host(op, "dy", dy), sw = host(op, "w", w), sdx = host(op, "dx", dx);
        OneDnn.Key key = convShapes(OneDnn.BACKWARD_DATA, op, "dx", dx, w, "dy", dy, g);
        distinct(op, "dx", dx, "dy", dy, "w", w);
        oneDnn().backwardData(sdy, sw, sdx, key);
    }

    @Override public void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, ConvGeometry g, boolean accumulate) {
        String op = "conv2dBackwardFilter";
        HostStorage sx = host(op, "x", x), sdy = host(op, "dy", dy), sdw = host(op, "dw", dw);
        OneDnn.Key key = convShapes(OneDnn.BACKWARD_FILTER, op, "x", x, dw, "dy", dy, g);
        distinct(op, "dw", dw, "x", x, "dy", dy);
        oneDnn().backwardFilter(sx, sdy, sdw, key, accumulate);
    }

    synchronized OneDnn oneDnn() { // package-private for the tests
        if (oneDnn == null) oneDnn = new OneDnn(threads);
        return oneDnn;
    }

    /** oneDNN's version, e.g. "oneDNN 3.8.1" (loads oneDNN). */
    public static String oneDnnVersion() { return OneDnn.version(); }

    // ---- dropout ----------------------------------------------------------------------------

    @Override public void dropoutForward(Tensor x, Tensor mask, Tensor y, float p, long seed, long offset) {
        String op = "dropoutForward";
        MemorySegment sx = seg(op, "x", x), sm = seg(op, "mask", mask), sy = seg(op, "y", y);
        sameSize(op, "x", x, "mask", mask);
        sameSize(op, "x", x, "y", y);
        if (!(p >= 0f && p < 1f)) throw new IllegalArgumentException(op + ": p must be in [0, 1), got " + p);
        if (mask.sameStorage(x) || mask.sameStorage(y))
            throw new IllegalArgumentException(op + ": mask " + mask.shape() + " must not share memory with x or y");
        Dropout.forward(sx, sm, sy, x.size(), p, seed, offset);
    }

    @Override public void dropoutBackward(Tensor dy, Tensor mask, Tensor dx) {
        String op = "dropoutBackward";
        MemorySegment sdy = seg(op, "dy", dy), sm = seg(op, "mask", mask), sdx = seg(op, "dx", dx);
        sameSize(op, "dy", dy, "mask", mask);
        sameSize(op, "dy", dy, "dx", dx);
        Dropout.backward(sdy, sm, sdx, dy.size());
    }

    // ---- activations ----------------------------------------------------------------------

    @Override public void leakyRelu(Tensor x, Tensor y, float slope) {
        MemorySegment sx = seg("leakyRelu", "x", x), sy = seg("leakyRelu", "y", y);
        sameSize("leakyRelu", "x", x, "y", y);
        Activations.leakyRelu(sx, sy, x.size(), slope);
    }

    @Override public void leakyReluBackward(Tensor y, Tensor dy, Tensor dx, float slope) {
        MemorySegment sy = seg("leakyReluBackward", "y", y), sdy = seg("leakyReluBackward", "dy", dy),
                sdx = seg("leakyReluBackward", "dx", dx);
        sameSize("leakyReluBackward", "y", y, "dy", dy);
        sameSize("leakyReluBackward", "y", y, "dx", dx);
        Activations.leakyReluBackward(sy, sdy, sdx, y.size(), slope);
    }

    @Override public void relu(Tensor x, Tensor y) {
        MemorySegment sx = seg("relu", "x", x), sy = seg("relu", "y", y);
        sameSize("relu", "x", x, "y", y);
        Activations.relu(sx, sy, x.size());
    }

    @Override public void reluBackward(Tensor y, Tensor dy, Tensor dx) {
        MemorySegment sy = seg("reluBackward", "y", y), sdy = seg("reluBackward", "dy", dy),
                sdx = seg("reluBackward", "dx", dx);
        sameSize("reluBackward", "y", y, "dy", dy);
        sameSize("reluBackward", "y", y, "dx", dx);
        Activations.reluBackward(sy, sdy, sdx, y.size());
    }

    @Override public void tanh(Tensor x, Tensor y) {
        MemorySegment sx = seg("tanh", "x", x), sy = seg("tanh", "y", y);
        sameSize("tanh", "x", x, "y", y);
        Activations.tanh(sx, sy, x.size());
    }

    @Override public void tanhBackward(Tensor y, Tensor dy, Tensor dx) {
        MemorySegment sy = seg("tanhBackward", "y", y), sdy = seg("tanhBackward", "dy", dy),
                sdx = seg("tanhBackward", "dx", dx);
        sameSize("tanhBackward", "y", y, "dy", dy);
        sameSize("tanhBackward", "y", y, "dx", dx);
        Activations.tanhBackward(sy, sdy, sdx, y.size());
    }

    @Override public void sigmoid(Tensor x, Tensor y) {
        MemorySegment sx = seg("sigmoid", "x", x), sy = seg("sigmoid", "y", y);
        sameSize("sigmoid", "x", x, "y", y);
        Activations.sigmoid(sx, sy, x.size());
    }

    @Override public void sigmoidBackward(Tensor y, Tensor dy, Tensor dx) {
        MemorySegment sy = seg("sigmoidBackward", "y", y), sdy = seg("sigmoidBackward", "dy", dy),
                sdx = seg("sigmoidBackward", "dx", dx);
        sameSize("sigmoidBackward", "y", y, "dy", dy);
        sameSize("sigmoidBackward", "y", y, "dx", dx);
        Activations.sigmoidBackward(sy, sdy, sdx, y.size());
    }

    // ---- batch norm ---------------------------------------------------------------------------

    @Override public void batchNormTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                         float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        String op = "batchNormTrain";
        MemorySegment sx = seg(op, "x", x), sy = seg(op, "y", y);
        sameSize(op, "x", x, "y", y);
        MemorySegment sg = perChannel(op, x, "gamma", gamma), sb = perChannel(op, x, "beta", beta),
                rm = perChannel(op, x, "runningMean", runningMean), rv = perChannel(op, x, "runningVar", runningVar),
                sm = perChannel(op, x, "saveMean", saveMean), si = perChannel(op, x, "saveInvStd", saveInvStd);
        Shape s = x.shape();
        BatchNorm.train(sx, s.dim(0), s.dim(1), s.spatial(), sg, sb, rm, rv, momentum, eps, sy, sm, si);
    }

    @Override public void batchNormInfer(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                         float eps, Tensor y) {
        String op = "batchNormInfer";
        MemorySegment sx = seg(op, "x", x), sy = seg(op, "y", y);
        sameSize(op, "x", x, "y", y);
        MemorySegment sg = perChannel(op, x, "gamma", gamma), sb = perChannel(op, x, "beta", beta),
                rm = perChannel(op, x, "runningMean", runningMean), rv = perChannel(op, x, "runningVar", runningVar);
        Shape s = x.shape();
        BatchNorm.infer(sx, s.dim(0), s.dim(1), s.spatial(), sg, sb, rm, rv, eps, sy);
    }

    @Override public void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                            Tensor dx, Tensor dGamma, Tensor dBeta, boolean accumulate) {
        String op = "batchNormBackward";
        MemorySegment sx = seg(op, "x", x), sdy = seg(op, "dy", dy), sdx = seg(op, "dx", dx);
        sameSize(op, "x", x, "dy", dy);
        sameSize(op, "x", x, "dx", dx);
        MemorySegment sg = perChannel(op, x, "gamma", gamma), sm = perChannel(op, x, "saveMean", saveMean),
                si = perChannel(op, x, "saveInvStd", saveInvStd), dg = perChannel(op, x, "dGamma", dGamma),
                db = perChannel(op, x, "dBeta", dBeta);
        Shape s = x.shape();
        BatchNorm.backward(sx, sdy, s.dim(0), s.dim(1), s.spatial(), sg, sm, si, sdx, dg, db, accumulate);
    }

    // ---- loss -----------------------------------------------------------------------------

    @Override public void bceWithLogits(Tensor logits, Tensor targets, float target, float gradScale,
                                        Tensor dLogits, Tensor stats, int slot) {
        String op = "bceWithLogits";
        MemorySegment sl = seg(op, "logits", logits), sd = seg(op, "dLogits", dLogits), ss = seg(op, "stats", stats);
        MemorySegment st = null;
        if (targets != null) {
            st = seg(op, "targets", targets);
            sameSize(op, "logits", logits, "targets", targets);
        }
        sameSize(op, "logits", logits, "dLogits", dLogits);
        if (slot < 0 || slot + 3L > stats.size())
            throw new IllegalArgumentException(op + ": slot " + slot + " needs stats[" + slot + ".." + (slot + 2)
                    + "], but stats " + stats.shape() + " has " + stats.size() + " elements");
        Bce.withLogits(sl, st, target, gradScale, sd, logits.size(), ss, slot);
    }

    @Override public void softmax(Tensor x, Tensor y) {
        MemorySegment sx = seg("softmax", "x", x), sy = seg("softmax", "y", y);
        rows("softmax", "x", x);
        sameSize("softmax", "x", x, "y", y);
        Softmax.forward(sx, sy, x.shape().dim(0), x.shape().dim(1));
    }

    @Override public void softmaxCrossEntropy(Tensor logits, Tensor labels, float gradScale, Tensor dLogits, Tensor stats, int slot) {
        String op = "softmaxCrossEntropy";
        MemorySegment sl = seg(op, "logits", logits), sb = seg(op, "labels", labels), sd = seg(op, "dLogits", dLogits),
                ss = seg(op, "stats", stats);
        rows(op, "logits", logits);
        sameSize(op, "logits", logits, "dLogits", dLogits);
        int n = logits.shape().dim(0);
        if (labels.size() != n)
            throw new IllegalArgumentException(op + ": labels " + labels.shape() + " must hold one label per row of logits " + logits.shape());
        if (slot < 0 || slot + 2L > stats.size())
            throw new IllegalArgumentException(op + ": slot " + slot + " needs stats[" + slot + ".." + (slot + 1)
                    + "], but stats " + stats.shape() + " has " + stats.size() + " elements");
        Softmax.crossEntropy(sl, sb, gradScale, sd, n, logits.shape().dim(1), ss, slot);
    }

    /** (N, K) rows. */
    private static void rows(String op, String name, Tensor t) {
        if (t.shape().rank() != 2)
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " must be (N, K)");
    }

    // ---- pooling ------------------------------------------------------------------------------

    @Override public void maxPool2x2Forward(Tensor x, Tensor y) {
        String op = "maxPool2x2Forward";
        MemorySegment sx = seg(op, "x", x), sy = seg(op, "y", y);
        pooled(op, x, "y", y);
        distinct(op, "y", y, "x", x, "x", x);
        Shape s = x.shape();
        Pooling.forward(sx, sy, (long) s.dim(0) * s.dim(1), s.dim(2), s.dim(3));
    }

    @Override public void maxPool2x2Backward(Tensor x, Tensor y, Tensor dy, Tensor dx) {
        String op = "maxPool2x2Backward";
        MemorySegment sx = seg(op, "x", x), sy = seg(op, "y", y), sdy = seg(op, "dy", dy), sdx = seg(op, "dx", dx);
        pooled(op, x, "y", y);
        pooled(op, x, "dy", dy);
        if (!dx.shape().equals(x.shape()))
            throw new IllegalArgumentException(op + ": dx " + dx.shape() + " must have x's shape " + x.shape());
        distinct(op, "dx", dx, "x", x, "y", y);
        distinct(op, "dx", dx, "dy", dy, "dy", dy);
        Shape s = x.shape();
        Pooling.backward(sx, sy, sdy, sdx, (long) s.dim(0) * s.dim(1), s.dim(2), s.dim(3));
    }

    /** x (N, C, H, W) with H, W >= 2 and a pooled tensor (N, C, H / 2, W / 2). */
    private static void pooled(String op, Tensor x, String name, Tensor t) {
        Shape s = x.shape();
        if (s.rank() != 4 || s.dim(2) < 2 || s.dim(3) < 2)
            throw new IllegalArgumentException(op + ": x " + s + " must be (N, C, H, W) with H, W >= 2");
        Shape want = Shape.of(s.dim(0), s.dim(1), s.dim(2) / 2, s.dim(3) / 2);
        if (!t.shape().equals(want))
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " must be " + want + " for x " + s);
    }

    // ---- averaging ----------------------------------------------------------------------------

    @Override public void ema(Tensor avg, Tensor x, float decay) {
        MemorySegment sa = seg("ema", "avg", avg), sx = seg("ema", "x", x);
        sameSize("ema", "avg", avg, "x", x);
        if (!(decay >= 0f && decay <= 1f)) throw new IllegalArgumentException("ema: decay must be in [0, 1], got " + decay);
        Averaging.ema(sa, sx, avg.size(), decay);
    }

    // ---- optimizers -----------------------------------------------------------------------

    @Override public void adamStep(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v,
                                   float lr, float beta1, float beta2, float eps, float weightDecay, int t) {
        String op = "adamStep";
        if (t < 1) throw new IllegalArgumentException(op + ": step t must be at least 1, got " + t);
        sameCount(op, params, "grads", grads);
        sameCount(op, params, "m", m);
        sameCount(op, params, "v", v);
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            listed(op, "params", i, p);
            slot(op, p, "grads", grads, i);
            slot(op, p, "m", m, i);
            slot(op, p, "v", v, i);
        }
        float stepSize = (float) (lr / (1.0 - Math.pow(beta1, t)));
        float invSqrtBc2 = (float) (1.0 / Math.sqrt(1.0 - Math.pow(beta2, t)));
        Optimizers.adam(params, grads, m, v, beta1, beta2, eps, weightDecay, stepSize, invSqrtBc2);
    }

    @Override public void sgdStep(List<Tensor> params, List<Tensor> grads, List<Tensor> velocity,
                                  float lr, float momentum, boolean firstStep) {
        String op = "sgdStep";
        sameCount(op, params, "grads", grads);
        sameCount(op, params, "velocity", velocity);
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            listed(op, "params", i, p);
            slot(op, p, "grads", grads, i);
            slot(op, p, "velocity", velocity, i);
        }
        Optimizers.sgd(params, grads, velocity, lr, momentum, firstStep);
    }

    // ---- random numbers -------------------------------------------------------------------

    @Override public void fillUniform(Tensor t, float lo, float hi, long seed, long offset) {
        RandomFill.fill(seg("fillUniform", "t", t), t.size(), RandomFill.UNIFORM, lo, hi, 0f, seed, offset);
    }

    @Override public void fillNormal(Tensor t, float mean, float std, long seed, long offset) {
        RandomFill.fill(seg("fillNormal", "t", t), t.size(), RandomFill.NORMAL, mean, std, 0f, seed, offset);
    }

    @Override public void fillBernoulli(Tensor t, float p, float ifTrue, float ifFalse, long seed, long offset) {
        RandomFill.fill(seg("fillBernoulli", "t", t), t.size(), RandomFill.BERNOULLI, p, ifTrue, ifFalse, seed, offset);
    }

    /**
     * Frees oneDNN's engine, stream and cached primitives. The backend stays usable: tensors are
     * the garbage collector's, and the next convolution makes oneDNN's objects again. (JUnit closes
     * every AutoCloseable argument of a parameterized test, so the tests' shared backend is closed
     * after each invocation and must keep working.)
     */
    @Override public synchronized void close() {
        if (oneDnn != null) oneDnn.close();
        oneDnn = null;
    }

    @Override public String toString() { return "CpuBackend(" + threads + " BLAS threads)"; }

    // ---- argument checks (messages are built only on failure) -------------------------------

    private static HostStorage host(String op, String name, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        if (!(t.storage() instanceof HostStorage h))
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " belongs to the "
                    + t.backend().name() + " backend, not the cpu backend");
        return h;
    }

    private static MemorySegment seg(String op, String name, Tensor t) {
        return host(op, name, t).segment();
    }

    private static void sameSize(String op, String an, Tensor a, String bn, Tensor b) {
        if (a.size() != b.size())
            throw new IllegalArgumentException(op + ": " + bn + " " + b.shape() + " must have as many elements as "
                    + an + " " + a.shape());
    }

    /** y: (N, C, S...) and a per-channel tensor of C elements. */
    private static void channels(String op, String yn, Tensor y, String bn, Tensor b) {
        if (y.shape().rank() < 2)
            throw new IllegalArgumentException(op + ": " + yn + " " + y.shape() + " must be (N, C) or (N, C, H, W)");
        if (b.size() != y.shape().dim(1))
            throw new IllegalArgumentException(op + ": " + bn + " " + b.shape() + " must have C = " + y.shape().dim(1)
                    + " elements for " + yn + " " + y.shape());
    }

    private static MemorySegment perChannel(String op, Tensor x, String name, Tensor t) {
        MemorySegment s = seg(op, name, t);
        channels(op, "x", x, name, t);
        return s;
    }

    /**
     * Checks a convolution's three shapes against each other and the geometry: image (N, C, H, W)
     * (x or dx), weights (K, C, R, S) (w or dw), output (N, K, P, Q) (y or dy) with P and Q from
     * {@link ConvGeometry#outH}/{@link ConvGeometry#outW}; so a dx up to stride - 1 rows larger
     * than the minimum (output padding) passes.
     */
    private static OneDnn.Key convShapes(int kind, String op, String imageName, Tensor image, Tensor weights,
                                               String outName, Tensor out, ConvGeometry g) {
        String weightsName = kind == OneDnn.BACKWARD_FILTER ? "dw" : "w";
        if (g == null) throw new IllegalArgumentException(op + ": the geometry is null");
        Shape is = image.shape(), ws = weights.shape(), os = out.shape();
        if (is.rank() != 4 || ws.rank() != 4 || os.rank() != 4)
            throw new IllegalArgumentException(op + ": " + imageName + " " + is + ", " + weightsName + " " + ws + " and "
                    + outName + " " + os + " must all be rank 4: (N, C, H, W), (K, C, R, S), (N, K, P, Q)");
        if (ws.dim(1) != is.dim(1))
            throw new IllegalArgumentException(op + ": " + weightsName + " " + ws + " must have C = " + is.dim(1)
                    + " input channels (dimension 1) for " + imageName + " " + is);
        int p, q;
        try {
            p = g.outH(is.dim(2), ws.dim(2));
            q = g.outW(is.dim(3), ws.dim(3));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(op + ": " + e.getMessage() + " for " + imageName + " " + is + ", "
                    + weightsName + " " + ws + ", " + describe(g));
        }
        if (os.dim(0) != is.dim(0) || os.dim(1) != ws.dim(0) || os.dim(2) != p || os.dim(3) != q)
            throw new IllegalArgumentException(op + ": " + outName + " " + os + " must be " + Shape.of(is.dim(0), ws.dim(0), p, q)
                    + " for " + imageName + " " + is + ", " + weightsName + " " + ws + ", " + describe(g));
        return new OneDnn.Key(kind, is.dim(0), is.dim(1), is.dim(2), is.dim(3), ws.dim(0), ws.dim(2), ws.dim(3), p, q, g);
    }

    private static String describe(ConvGeometry g) {
        return "stride " + g.strideH() + "x" + g.strideW() + ", padding " + g.padH() + "x" + g.padW();
    }

    /** The output of an op that is not elementwise must not share memory with its inputs. */
    private static void distinct(String op, String outName, Tensor out, String an, Tensor a, String bn, Tensor b) {
        if (out.sameStorage(a) || out.sameStorage(b))
            throw new IllegalArgumentException(op + ": " + outName + " " + out.shape() + " must not share memory with "
                    + an + " or " + bn);
    }

    private static void sameCount(String op, List<Tensor> params, String name, List<Tensor> other) {
        if (params == null || other == null || params.size() != other.size())
            throw new IllegalArgumentException(op + ": " + name + " must list one tensor per parameter ("
                    + (params == null ? "params is null" : params.size() + " params") + ", "
                    + (other == null ? name + " is null" : other.size() + " " + name) + ")");
    }

    /** Element i of a tensor list: the name is only formatted for a failure. */
    private static void listed(String op, String list, int i, Tensor t) {
        if (t == null || !(t.storage() instanceof HostStorage)) host(op, list + "[" + i + "]", t);
    }

    private static void slot(String op, Tensor p, String name, List<Tensor> list, int i) {
        Tensor t = list.get(i);
        listed(op, name, i, t);
        if (t.size() != p.size())
            throw new IllegalArgumentException(op + ": " + name + "[" + i + "] " + t.shape()
                    + " must have as many elements as params[" + i + "] " + p.shape());
    }
}
