package dev.jgan.cpu;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.backend.ConvGeometry;
import dev.jgan.backend.CriticLoss;
import dev.jgan.backend.DiffAugment;
import dev.jgan.backend.OpChecks;
import dev.jgan.backend.Precision;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.openblas.global.openblas_full;

import java.lang.foreign.MemorySegment;
import java.util.List;

import static dev.jgan.cpu.Vec.F;
import static dev.jgan.backend.OpChecks.channels;
import static dev.jgan.backend.OpChecks.distinct;
import static dev.jgan.backend.OpChecks.sameSize;
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
 *   <li>Precision ({@link Precision}): fp32 by default. With bf16 or bf16-emulated, the inputs of
 *       every GEMM and convolution are rounded to bfloat16 ({@link Bf16}) and multiplied with
 *       float32 sums: bf16-emulated rounds them into two scratch buffers (grown to the largest
 *       operand, kept with the backend) and runs the float32 kernels; bf16 gives oneDNN's
 *       convolutions bf16 operands (its reorders round them) where the CPU has bf16 dot products,
 *       and rounds the GEMMs' operands as bf16-emulated does. Everything else stays float32.</li>
 * </ul>
 */
public final class CpuBackend implements Backend {
    /** Which library runs {@link #gemm}. */
    public enum Gemm { ONEDNN, OPENBLAS }

    private final int threads;
    private final Gemm gemm;
    private final Precision precision;
    /** bf16's rounded copies of a GEMM's or convolution's two inputs (grown on demand; see {@link #rounded}). */
    private HostStorage roundedFirst, roundedSecond;
    private OneDnn oneDnn; // on first use: loading oneDNN takes a few hundred ms

    /** What stands in for a CPU library's name where the build has none (the bundle of {@code ./gan bundle}). */
    public static final String ABSENT = "not in this bundle (CPU natives left out; use the full jar)";

    /**
     * Whether this build can run the CPU backend: oneDNN and OpenBLAS (javacpp's presets) on the
     * class path and jdk.incubator.vector in the runtime. The bundle of {@code ./gan bundle} has
     * neither, to stay small (it computes on the GPU and checks against the emulated device), so
     * callers ask here first instead of meeting a NoClassDefFoundError deep in a first call.
     */
    public static boolean available() { return AVAILABLE; }

    private static final boolean AVAILABLE = CpuBackend.class.getClassLoader().getResource("org/bytedeco/dnnl/global/dnnl.class") != null
            && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    /** @param threads oneDNN's (and OpenBLAS's) threads, at least 1; GEMM by oneDNN unless -Djgan.cpu.gemm=openblas */
    public CpuBackend(int threads) {
        this(threads, gemmFromProperty());
    }

    public CpuBackend(int threads, Gemm gemm) {
        this(threads, gemm, Precision.FP32);
    }

    /** @param precision fp32, bf16 (only where {@link #hasBf16Arithmetic()}) or bf16-emulated */
    public CpuBackend(int threads, Precision precision) {
        this(threads, gemmFromProperty(), precision);
    }

    public CpuBackend(int threads, Gemm gemm, Precision precision) {
        if (!available()) throw new UserError("--device cpu: the CPU backend is not in this bundle (CPU natives left out; use --device cuda, or the full jar)");
        if (threads < 1) throw new IllegalArgumentException("CpuBackend: threads must be at least 1, got " + threads);
        if (precision == Precision.BF16 && !hasBf16Arithmetic())
            throw new IllegalArgumentException("CpuBackend: --precision bf16 needs bf16 dot products (AVX-512 BF16 or AMX), which this CPU lacks");
        this.threads = threads;
        this.gemm = gemm;
        this.precision = precision;
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
        if (!available()) return ABSENT;
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

    /** The arithmetic of the GEMMs and convolutions. */
    public Precision precision() { return precision; }

    /**
     * Whether oneDNN has bf16 convolutions on this CPU (bf16 dot products: AVX-512 BF16 or AMX;
     * oneDNN refuses bf16 primitives on AVX2), found by asking it for one (loads oneDNN).
     */
    public static boolean hasBf16Arithmetic() { return available() && OneDnn.hasBf16(); }

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
                + ", Vector API " + vectorBits() + "-bit float" + (precision == Precision.FP32 ? "" : ", " + precision.id() + " GEMMs and convolutions");
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
        OpChecks.gemm(transA, transB, m, n, k, a, b, c);
        if (precision.roundsToBf16()) {
            synchronized (this) {
                gemmOn(transA, transB, m, n, k, alpha, rounded(sa, a.size(), true), rounded(sb, b.size(), false), beta, sc);
            }
            return;
        }
        gemmOn(transA, transB, m, n, k, alpha, sa, sb, beta, sc);
    }

    private void gemmOn(boolean transA, boolean transB, int m, int n, int k, float alpha, HostStorage sa, HostStorage sb,
                        float beta, HostStorage sc) {
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

    // ---- elementwise product --------------------------------------------------------------

    @Override public void multiply(Tensor a, Tensor b, Tensor y) {
        String op = "multiply";
        MemorySegment sa = seg(op, "a", a), sb = seg(op, "b", b), sy = seg(op, "y", y);
        long rowLength = OpChecks.multiply(a, b, y);
        Multiply.product(sa, sb, sy, a.size(), rowLength);
    }

    // ---- convolution ----------------------------------------------------------------------

    @Override public void conv2dForward(Tensor x, Tensor w, Tensor y, ConvGeometry g) {
        String op = "conv2dForward";
        HostStorage sx = host(op, "x", x), sw = host(op, "w", w), sy = host(op, "y", y);
        OneDnn.Key key = convShapes(OneDnn.FORWARD, op, "x", x, w, "y", y, g);
        distinct(op, "y", y, "x", x, "w", w);
        if (roundsHere(key)) {
            synchronized (this) {
                oneDnn().forward(rounded(sx, x.size(), true), rounded(sw, w.size(), false), sy, key);
            }
            return;
        }
        oneDnn().forward(sx, sw, sy, key);
    }

    @Override public void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, ConvGeometry g) {
        String op = "conv2dBackwardData";
        HostStorage sdy = host(op, "dy", dy), sw = host(op, "w", w), sdx = host(op, "dx", dx);
        OneDnn.Key key = convShapes(OneDnn.BACKWARD_DATA, op, "dx", dx, w, "dy", dy, g);
        distinct(op, "dx", dx, "dy", dy, "w", w);
        if (roundsHere(key)) {
            synchronized (this) {
                oneDnn().backwardData(rounded(sdy, dy.size(), true), rounded(sw, w.size(), false), sdx, key);
            }
            return;
        }
        oneDnn().backwardData(sdy, sw, sdx, key);
    }

    @Override public void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, ConvGeometry g, boolean accumulate) {
        String op = "conv2dBackwardFilter";
        HostStorage sx = host(op, "x", x), sdy = host(op, "dy", dy), sdw = host(op, "dw", dw);
        OneDnn.Key key = convShapes(OneDnn.BACKWARD_FILTER, op, "x", x, dw, "dy", dy, g);
        distinct(op, "dw", dw, "x", x, "dy", dy);
        if (roundsHere(key)) {
            synchronized (this) {
                oneDnn().backwardFilter(rounded(sx, x.size(), true), rounded(sdy, dy.size(), false), sdw, key, accumulate);
            }
            return;
        }
        oneDnn().backwardFilter(sx, sdy, sdw, key, accumulate);
    }

    /**
     * Whether this backend rounds a convolution's inputs itself: always under bf16-emulated; under
     * bf16 only where oneDNN runs it as a GEMM (a kernel over the whole image), since its bf16
     * convolutions round their inputs in their own reorders.
     */
    private boolean roundsHere(OneDnn.Key key) {
        return precision == Precision.BF16_EMULATED || (precision == Precision.BF16 && key.dense());
    }

    /**
     * {@code n} floats of {@code s} rounded to bf16, in the first or second scratch buffer (grown to
     * {@code n} if smaller). Callers hold this backend's lock until the op has read them.
     */
    private HostStorage rounded(HostStorage s, long n, boolean first) {
        HostStorage r = first ? roundedFirst : roundedSecond;
        if (r == null || r.floats() < n) {
            r = new HostStorage(n);
            if (first) roundedFirst = r;
            else roundedSecond = r;
        }
        Bf16.round(s.segment(), r.segment(), n);
        return r;
    }

    synchronized OneDnn oneDnn() { // package-private for the tests
        if (oneDnn == null) oneDnn = new OneDnn(threads, true, precision == Precision.BF16);
        return oneDnn;
    }

    /** oneDNN's version, e.g. "oneDNN 3.8.1" (loads oneDNN). */
    public static String oneDnnVersion() { return available() ? OneDnn.version() : ABSENT; }

    // ---- dropout ----------------------------------------------------------------------------

    @Override public void dropoutForward(Tensor x, Tensor mask, Tensor y, float p, long seed, long offset) {
        String op = "dropoutForward";
        MemorySegment sx = seg(op, "x", x), sm = seg(op, "mask", mask), sy = seg(op, "y", y);
        OpChecks.dropout(op, x, mask, y, p);
        Dropout.forward(sx, sm, sy, x.size(), p, seed, offset);
    }

    @Override public void dropoutBackward(Tensor dy, Tensor mask, Tensor dx) {
        String op = "dropoutBackward";
        MemorySegment sdy = seg(op, "dy", dy), sm = seg(op, "mask", mask), sdx = seg(op, "dx", dx);
        OpChecks.dropoutBackward(dy, mask, dx);
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
        OpChecks.backward("leakyReluBackward", y, dy, dx);
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
        OpChecks.backward("reluBackward", y, dy, dx);
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
        OpChecks.backward("tanhBackward", y, dy, dx);
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
        OpChecks.backward("sigmoidBackward", y, dy, dx);
        Activations.sigmoidBackward(sy, sdy, sdx, y.size());
    }

    // ---- batch norm ---------------------------------------------------------------------------

    @Override public void batchNormTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                         float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        String op = "batchNormTrain";
        MemorySegment sx = seg(op, "x", x), sy = seg(op, "y", y);
        MemorySegment sg = seg(op, "gamma", gamma), sb = seg(op, "beta", beta),
                rm = seg(op, "runningMean", runningMean), rv = seg(op, "runningVar", runningVar),
                sm = seg(op, "saveMean", saveMean), si = seg(op, "saveInvStd", saveInvStd);
        OpChecks.batchNormTrain(op, x, y, gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        Shape s = x.shape();
        BatchNorm.train(sx, s.dim(0), s.dim(1), s.spatial(), sg, sb, rm, rv, momentum, eps, sy, sm, si);
    }

    @Override public void batchNormInfer(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                         float eps, Tensor y) {
        String op = "batchNormInfer";
        MemorySegment sx = seg(op, "x", x), sy = seg(op, "y", y);
        MemorySegment sg = seg(op, "gamma", gamma), sb = seg(op, "beta", beta),
                rm = seg(op, "runningMean", runningMean), rv = seg(op, "runningVar", runningVar);
        OpChecks.batchNormInfer(x, y, gamma, beta, runningMean, runningVar);
        Shape s = x.shape();
        BatchNorm.infer(sx, s.dim(0), s.dim(1), s.spatial(), sg, sb, rm, rv, eps, sy);
    }

    @Override public void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                            Tensor dx, Tensor dGamma, Tensor dBeta, boolean accumulate) {
        String op = "batchNormBackward";
        MemorySegment sx = seg(op, "x", x), sdy = seg(op, "dy", dy), sdx = seg(op, "dx", dx);
        MemorySegment sg = seg(op, "gamma", gamma), sm = seg(op, "saveMean", saveMean),
                si = seg(op, "saveInvStd", saveInvStd), dg = seg(op, "dGamma", dGamma),
                db = seg(op, "dBeta", dBeta);
        OpChecks.batchNormBackward(op, x, dy, dx, gamma, saveMean, saveInvStd, dGamma, dBeta);
        Shape s = x.shape();
        BatchNorm.backward(sx, sdy, s.dim(0), s.dim(1), s.spatial(), sg, sm, si, sdx, dg, db, accumulate);
    }

    // For now the fused op is the two existing passes (one fast pass is later work); slope 0 runs
    // relu/reluBackward so that a fused ReLU gives the same bits as BatchNorm then ReLU.

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
        BatchNorm.train(sx, s.dim(0), s.dim(1), s.spatial(), sg, sb, rm, rv, momentum, eps, sy, sm, si);
        if (slope == 0f) Activations.relu(sy, sy, y.size());
        else Activations.leakyRelu(sy, sy, y.size(), slope);
    }

    @Override public void batchNormLeakyReluBackward(Tensor x, Tensor y, Tensor dy, Tensor gamma, Tensor beta, float slope,
                                                     Tensor saveMean, Tensor saveInvStd, Tensor dx, Tensor dGamma,
                                                     Tensor dBeta, boolean accumulate) {
        String op = "batchNormLeakyReluBackward";
        MemorySegment sx = seg(op, "x", x), sy = seg(op, "y", y), sdy = seg(op, "dy", dy), sdx = seg(op, "dx", dx);
        MemorySegment sg = seg(op, "gamma", gamma), sm = seg(op, "saveMean", saveMean),
                si = seg(op, "saveInvStd", saveInvStd), dg = seg(op, "dGamma", dGamma),
                db = seg(op, "dBeta", dBeta);
        seg(op, "beta", beta);
        OpChecks.batchNormLeakyReluBackward(x, y, dy, dx, gamma, beta, saveMean, saveInvStd, dGamma, dBeta, slope);
        Shape s = x.shape();
        // dz goes into dx, which the batch-norm backward may then read as its dy
        if (slope == 0f) Activations.reluBackward(sy, sdy, sdx, y.size());
        else Activations.leakyReluBackward(sy, sdy, sdx, y.size(), slope);
        BatchNorm.backward(sx, sdx, s.dim(0), s.dim(1), s.spatial(), sg, sm, si, sdx, dg, db, accumulate);
    }

    // ---- loss -----------------------------------------------------------------------------

    @Override public void bceWithLogits(Tensor logits, Tensor targets, float target, float gradScale,
                                        Tensor dLogits, Tensor stats, int slot) {
        String op = "bceWithLogits";
        MemorySegment sl = seg(op, "logits", logits), sd = seg(op, "dLogits", dLogits), ss = seg(op, "stats", stats);
        MemorySegment st = null;
        if (targets != null) {
            st = seg(op, "targets", targets);
        }
        OpChecks.bce(logits, targets, dLogits, stats, slot);
        Bce.withLogits(sl, st, target, gradScale, sd, logits.size(), ss, slot);
    }

    @Override public void criticLoss(CriticLoss kind, Tensor logits, float a, float gradScale, Tensor dLogits,
                                     Tensor stats, int slot) {
        String op = "criticLoss";
        MemorySegment sl = seg(op, "logits", logits), sd = seg(op, "dLogits", dLogits), ss = seg(op, "stats", stats);
        OpChecks.criticLoss(kind, logits, dLogits, stats, slot);
        CriticLosses.loss(kind, sl, a, gradScale, sd, logits.size(), ss, slot);
    }

    @Override public void softmax(Tensor x, Tensor y) {
        MemorySegment sx = seg("softmax", "x", x), sy = seg("softmax", "y", y);
        OpChecks.softmax(x, y);
        Softmax.forward(sx, sy, x.shape().dim(0), x.shape().dim(1));
    }

    @Override public void softmaxCrossEntropy(Tensor logits, Tensor labels, float gradScale, Tensor dLogits, Tensor stats, int slot) {
        String op = "softmaxCrossEntropy";
        MemorySegment sl = seg(op, "logits", logits), sb = seg(op, "labels", labels), sd = seg(op, "dLogits", dLogits),
                ss = seg(op, "stats", stats);
        OpChecks.softmaxCrossEntropy(op, logits, labels, dLogits, stats, slot);
        Softmax.crossEntropy(sl, sb, gradScale, sd, logits.shape().dim(0), logits.shape().dim(1), ss, slot);
    }

    // ---- pooling ------------------------------------------------------------------------------

    @Override public void maxPool2x2Forward(Tensor x, Tensor y) {
        String op = "maxPool2x2Forward";
        MemorySegment sx = seg(op, "x", x), sy = seg(op, "y", y);
        OpChecks.maxPoolForward(x, y);
        Shape s = x.shape();
        Pooling.forward(sx, sy, (long) s.dim(0) * s.dim(1), s.dim(2), s.dim(3));
    }

    @Override public void maxPool2x2Backward(Tensor x, Tensor y, Tensor dy, Tensor dx) {
        String op = "maxPool2x2Backward";
        MemorySegment sx = seg(op, "x", x), sy = seg(op, "y", y), sdy = seg(op, "dy", dy), sdx = seg(op, "dx", dx);
        OpChecks.maxPoolBackward(op, x, y, dy, dx);
        Shape s = x.shape();
        Pooling.backward(sx, sy, sdy, sdx, (long) s.dim(0) * s.dim(1), s.dim(2), s.dim(3));
    }

    // ---- averaging ----------------------------------------------------------------------------

    @Override public void ema(Tensor avg, Tensor x, float decay) {
        MemorySegment sa = seg("ema", "avg", avg), sx = seg("ema", "x", x);
        OpChecks.ema(avg, x, decay);
        Averaging.ema(sa, sx, avg.size(), decay);
    }

    // ---- optimizers -----------------------------------------------------------------------

    @Override public void adamStep(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v,
                                   float lr, float beta1, float beta2, float eps, float weightDecay, int t) {
        OpChecks.adam(params, grads, m, v, t);
        owned("adamStep", "params", params);
        owned("adamStep", "grads", grads);
        owned("adamStep", "m", m);
        owned("adamStep", "v", v);
        float stepSize = (float) (lr / (1.0 - Math.pow(beta1, t)));
        float invSqrtBc2 = (float) (1.0 / Math.sqrt(1.0 - Math.pow(beta2, t)));
        Optimizers.adam(params, grads, m, v, beta1, beta2, eps, weightDecay, stepSize, invSqrtBc2);
    }

    @Override public void sgdStep(List<Tensor> params, List<Tensor> grads, List<Tensor> velocity,
                                  float lr, float momentum, boolean firstStep) {
        OpChecks.sgd(params, grads, velocity);
        owned("sgdStep", "params", params);
        owned("sgdStep", "grads", grads);
        owned("sgdStep", "velocity", velocity);
        Optimizers.sgd(params, grads, velocity, lr, momentum, firstStep);
    }

    @Override public void rmspropStep(List<Tensor> params, List<Tensor> grads, List<Tensor> squareAvg, float lr,
                                      float alpha, float eps) {
        OpChecks.rmsprop(params, grads, squareAvg);
        owned("rmspropStep", "params", params);
        owned("rmspropStep", "grads", grads);
        owned("rmspropStep", "squareAvg", squareAvg);
        Optimizers.rmsprop(params, grads, squareAvg, lr, alpha, eps);
    }

    @Override public void clamp(Tensor t, float lo, float hi) {
        MemorySegment st = seg("clamp", "t", t);
        OpChecks.clamp(lo, hi);
        Clamp.inPlace(st, t.size(), lo, hi);
    }

    // ---- spectral normalisation -------------------------------------------------------------

    @Override public void spectralNorm(Tensor w, int dim, Tensor u, Tensor v, boolean update, Tensor wsn, Tensor work) {
        String op = "spectralNorm";
        MemorySegment sw = seg(op, "w", w), su = seg(op, "u", u), sv = seg(op, "v", v), sn = seg(op, "wsn", wsn),
                sk = seg(op, "work", work);
        int[] m = OpChecks.spectralNorm(op, w, dim, u, v, wsn, work);
        SpectralNorms.forward(sw, su, sv, update, sn, sk, m[0], m[1], m[2]);
    }

    @Override public void spectralNormBackward(Tensor g, Tensor wsn, int dim, Tensor u, Tensor v, Tensor work, Tensor dw,
                                               boolean accumulate) {
        String op = "spectralNormBackward";
        MemorySegment sg = seg(op, "g", g), sn = seg(op, "wsn", wsn), su = seg(op, "u", u), sv = seg(op, "v", v),
                sk = seg(op, "work", work), sd = seg(op, "dw", dw);
        int[] m = OpChecks.spectralNorm(op, wsn, dim, u, v, g, work);
        OpChecks.sameSize(op, "wsn", wsn, "dw", dw);
        SpectralNorms.backward(sg, sn, su, sv, sk, sd, accumulate, m[0], m[1], m[2]);
    }

    // ---- DiffAugment ------------------------------------------------------------------------

    @Override public void diffAugment(DiffAugment kind, Tensor x, Tensor params, Tensor y) {
        augment("diffAugment", false, kind, x, params, y);
    }

    @Override public void diffAugmentBackward(DiffAugment kind, Tensor dy, Tensor params, Tensor dx) {
        augment("diffAugmentBackward", true, kind, dy, params, dx);
    }

    private static void augment(String op, boolean backward, DiffAugment kind, Tensor in, Tensor params, Tensor out) {
        String inName = backward ? "dy" : "x", outName = backward ? "dx" : "y";
        MemorySegment si = seg(op, inName, in), sp = seg(op, "params", params), so = seg(op, outName, out);
        OpChecks.diffAugment(op, kind, inName, in, params, outName, out);
        Shape s = in.shape();
        DiffAugments.apply(kind, backward, si, sp, so, s.dim(0), s.dim(1), s.dim(2), s.dim(3));
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

    @Override public String toString() {
        return "CpuBackend(" + threads + " threads, GEMM by " + (gemm == Gemm.OPENBLAS ? "OpenBLAS" : "oneDNN")
                + (precision == Precision.FP32 ? "" : ", " + precision.id()) + ")";
    }

    // ---- argument checks (messages are built only on failure) -------------------------------

    private static HostStorage host(String op, String name, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        if (!(t.storage() instanceof HostStorage h))
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " belongs to the "
                    + t.owner().name() + " backend, not the cpu backend");
        return h;
    }

    /**
     * The memory of a CPU tensor argument, or the one-line failure of a null or foreign one; public
     * for the kernel lab's CPU variants (dev.jgan.lab.cpu), so that bad input fails as production's does.
     */
    public static MemorySegment seg(String op, String name, Tensor t) {
        return host(op, name, t).segment();
    }


    /** The convolution's shapes, checked ({@link OpChecks#conv}), as the key of its oneDNN primitive. */
    private static OneDnn.Key convShapes(int kind, String op, String imageName, Tensor image, Tensor weights,
                                         String outName, Tensor out, ConvGeometry g) {
        OpChecks.ConvShape c = OpChecks.conv(kind == OneDnn.BACKWARD_FILTER, op, imageName, image, weights, outName, out, g);
        return new OneDnn.Key(kind, c.n(), c.c(), c.h(), c.w(), c.k(), c.r(), c.s(), c.p(), c.q(), g);
    }

    /** Element i of a tensor list: the name is only formatted for a failure. */
    /** Every tensor of an optimizer's list is host memory (the name is built only on failure). */
    private static void owned(String op, String name, List<Tensor> list) {
        for (int i = 0; i < list.size(); i++)
            if (!(list.get(i).storage() instanceof HostStorage)) host(op, name + "[" + i + "]", list.get(i));
    }
}
