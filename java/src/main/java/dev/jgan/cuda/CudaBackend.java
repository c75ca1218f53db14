package dev.jgan.cuda;

import dev.jgan.backend.AlgorithmChoice;
import dev.jgan.backend.Backend;
import dev.jgan.backend.ConvGeometry;
import dev.jgan.backend.CriticLoss;
import dev.jgan.backend.DiffAugment;
import dev.jgan.backend.OpChecks;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.Queue;
import java.util.function.UnaryOperator;
import java.util.concurrent.ConcurrentLinkedQueue;

import static dev.jgan.backend.OpChecks.channels;
import static dev.jgan.backend.OpChecks.distinct;
import static dev.jgan.backend.OpChecks.sameSize;

/**
 * The CUDA backend: orchestration over four ports, each with a real adapter (a GPU) and an
 * emulated one (CI without a GPU). This class never calls JCuda, JCublas or JCudnn itself.
 * <ul>
 *   <li>{@link DeviceMemory}: tensors, host copies at the edges, device copies and fills.</li>
 *   <li>{@link KernelLauncher} through {@link Kernels}: every op that is not a GEMM or a
 *       convolution (activations, bias add and bias gradient, batch norm, BCE, softmax and
 *       softmax cross-entropy, 2x2 max pooling, Adam, SGD, EMA, dropout, Philox fills) runs one of
 *       jgan's kernels (kernels/*.cu).</li>
 *   <li>{@link Blas}: GEMM, column-major as cuBLAS. A row-major C = op(A) op(B) is computed as the
 *       column-major C^T = op(B)^T op(A)^T: {@link #gemmRowMajor} does this, and nothing else
 *       in jgan does.</li>
 *   <li>{@link Dnn}: convolutions with cuDNN's descriptors. The algorithm of each distinct
 *       problem (direction, shapes, geometry) is found once, on first use, with
 *       cudnnFind...AlgorithmEx within the workspace limit, and cached; one workspace, grown to
 *       the largest algorithm chosen, serves every convolution. Only deterministic algorithms
 *       are chosen unless the backend was opened with nondeterministic ones allowed (the fastest
 *       backward algorithms often sum with atomics, so a resumed run could not reproduce the
 *       uninterrupted one); the choices can be exported and handed back to a later backend
 *       ({@link #algorithmChoices}, {@link #useAlgorithmChoices}), so a resumed run uses the same
 *       algorithms without find. This logic is here, not in an adapter, so that every adapter
 *       of the DNN port shares it. A transposed convolution is the
 *       same three calls swapped (its layer calls conv2dBackwardData for its forward), so it
 *       needs nothing here.</li>
 * </ul>
 * Conventions (the Backend's): float32, NCHW, dense; input gradients written (=), parameter
 * gradients written or added (+=) with {@code accumulate}. Bias gradient: the bias_backward
 * kernel (one block per channel, sums in double, as the CPU backend), not a GEMM against a ones
 * vector: it needs no ones tensor and sums in double.
 *
 * <p>Ordering: everything is queued on the one stream of the ports (on the emulated device every
 * call is synchronous); only {@link #toHost} and {@link #synchronize} wait. The only other waits
 * are the first convolution of each new problem (find runs the algorithms) and an allocation the
 * device cannot serve (the GPU adapter then synchronises and empties its cache of freed blocks;
 * freeing itself never waits, {@link CachingAllocator}). Any thread may call the backend, one at a time (it is not
 * thread-safe): the GPU adapters make the CUDA context current on the calling thread first.
 *
 * <p>Memory: a tensor's device memory is freed after the garbage collector drops the tensor, at
 * the next allocation or {@link #close} ({@link DeviceStorage}).
 */
public final class CudaBackend implements Backend {
    /** Default cuDNN workspace limit: what find may try and what one convolution may use. */
    public static final long DEFAULT_WORKSPACE_LIMIT = 256L << 20;

    private final DeviceMemory memory;
    private final Kernels kernels;
    private final Blas blas;
    private final Dnn dnn;
    private final long workspaceLimit;
    private final boolean nondeterministicAllowed;
    private final Queue<Long> releases = new ConcurrentLinkedQueue<>();
    private final Map<Dnn.Problem, Dnn.Algo> algorithms = new HashMap<>();
    /** Choices handed in by {@link #useAlgorithmChoices}, by problem name, used instead of find when the problem is met. */
    private final Map<String, AlgorithmChoice> given = new HashMap<>();
    private long workspace, workspaceBytes;

    /**
     * @param workspaceLimit the most bytes of cuDNN workspace one convolution may use (0: only
     *                       algorithms without a workspace)
     */
    public CudaBackend(DeviceMemory memory, KernelLauncher launcher, Blas blas, Dnn dnn, long workspaceLimit) {
        this(memory, launcher, blas, dnn, workspaceLimit, false);
    }

    /**
     * @param workspaceLimit          the most bytes of cuDNN workspace one convolution may use (0:
     *                                only algorithms without a workspace)
     * @param nondeterministicAllowed whether convolutions may use algorithms that cuDNN reports as
     *                                non-deterministic (faster, but runs differ in the last bits)
     */
    public CudaBackend(DeviceMemory memory, KernelLauncher launcher, Blas blas, Dnn dnn, long workspaceLimit,
                       boolean nondeterministicAllowed) {
        if (workspaceLimit < 0) throw new IllegalArgumentException("CudaBackend: the workspace limit must be >= 0, got " + workspaceLimit);
        this.memory = memory;
        this.kernels = new Kernels(launcher);
        this.blas = blas;
        this.dnn = dnn;
        this.workspaceLimit = workspaceLimit;
        this.nondeterministicAllowed = nondeterministicAllowed;
    }

    /**
     * The same device (memory, cuBLAS, cuDNN) with its kernels launched through {@code wrap} of
     * this backend's launcher: the kernel lab routes an op's kernels to the lab's image this way.
     * Tensors belong to the backend that allocated them.
     */
    public CudaBackend withLauncher(UnaryOperator<KernelLauncher> wrap) {
        return new CudaBackend(memory, wrap.apply(kernels.launcher()), blas, dnn, workspaceLimit, nondeterministicAllowed);
    }

    /** The kernels' launch settings (for tests and reports). */
    public Kernels kernels() { return kernels; }

    /** The algorithm chosen for each convolution problem met so far. */
    public Map<Dnn.Problem, Dnn.Algo> algorithms() { return Map.copyOf(algorithms); }

    /** Bytes of the shared cuDNN workspace. */
    public long workspaceBytes() { return workspaceBytes; }

    @Override public String name() { return "cuda"; }

    @Override public String describe() {
        // the launcher says "cuda: <GPU> ..." or "emulated: <library> ..."
        return "cuda: " + kernels.launcher().describe().replaceFirst("^cuda: ", "") + "; " + memory.describe() + "; "
                + blas.describe() + "; " + dnn.describe() + "; workspace limit " + (workspaceLimit >> 20) + " MiB"
                + (nondeterministicAllowed ? ", non-deterministic algorithms allowed" : "");
    }

    // ---- memory -------------------------------------------------------------------------

    @Override public Tensor allocate(Shape shape) {
        releaseCollected();
        long floats = shape.size();
        if (floats <= 0) throw new IllegalArgumentException("allocate: shape " + shape + " has no elements");
        long address = memory.allocate(floats * Float.BYTES);
        memory.fill32(address, 0, floats);
        return new Tensor(this, shape, new DeviceStorage(address, floats, releases));
    }

    @Override public void copyFromHost(float[] src, Tensor dst) {
        long d = ptr("copyFromHost", "dst", dst);
        if (src == null || src.length < dst.size())
            throw new IllegalArgumentException("copyFromHost: dst " + dst.shape() + " needs " + dst.size()
                    + " floats, the host array has " + (src == null ? "none (null)" : src.length));
        memory.copyToDevice(src, 0, d, dst.size());
    }

    @Override public void toHost(Tensor src, float[] dst) {
        long s = ptr("toHost", "src", src);
        if (dst == null || dst.length < src.size())
            throw new IllegalArgumentException("toHost: src " + src.shape() + " has " + src.size()
                    + " floats, the host array holds " + (dst == null ? "none (null)" : dst.length));
        memory.copyToHost(s, dst, 0, src.size());
    }

    @Override public void copy(Tensor src, Tensor dst) {
        long s = ptr("copy", "src", src), d = ptr("copy", "dst", dst);
        sameSize("copy", "src", src, "dst", dst);
        if (s != d) memory.copy(s, d, src.size() * Float.BYTES);
    }

    @Override public void fill(Tensor t, float value) {
        memory.fill32(ptr("fill", "t", t), Float.floatToRawIntBits(value), t.size());
    }

    @Override public void synchronize() { memory.synchronize(); }

    /** CUDA events on the stream (the wall clock on the emulated device). */
    @Override public Timer timer() {
        DeviceMemory.DeviceTimer t = memory.timer();
        return new Timer() {
            @Override public void start() { t.start(); }

            @Override public double stopMillis() { return t.stopMillis(); }

            @Override public void close() { t.close(); }
        };
    }

    // ---- GEMM and bias ------------------------------------------------------------------

    @Override public void gemm(boolean transA, boolean transB, int m, int n, int k,
                               float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        long pa = ptr("gemm", "A", a), pb = ptr("gemm", "B", b), pc = ptr("gemm", "C", c);
        OpChecks.gemm(transA, transB, m, n, k, a, b, c);
        gemmRowMajor(transA, transB, m, n, k, alpha, pa, pb, beta, pc);
    }

    /**
     * THE row-major to column-major translation. A row-major (r, c) matrix with leading dimension
     * c is, read column-major, its (c, r) transpose. So row-major C (m, n) = op(A) op(B) is
     * column-major C^T (n, m) = op(B)^T op(A)^T: cuBLAS gets B first with B's transpose flag,
     * m and n swapped, and leading dimensions the row lengths: B stored (k, n) or (n, k) has
     * ldb = n or k, A stored (m, k) or (k, m) has lda = k or m, and C has ldc = n.
     */
    void gemmRowMajor(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, long b, float beta, long c) {
        blas.sgemm(transB, transA, n, m, k, alpha, b, transB ? k : n, a, transA ? m : k, beta, c, n);
    }

    @Override public void addBias(Tensor y, Tensor bias) {
        long py = ptr("addBias", "y", y), pb = ptr("addBias", "bias", bias);
        channels("addBias", "y", y, "bias", bias);
        kernels.biasForward(py, pb, y.shape().dim(0), y.shape().dim(1), y.shape().spatial());
    }

    @Override public void biasGrad(Tensor dy, Tensor dBias, boolean accumulate) {
        long pdy = ptr("biasGrad", "dy", dy), pb = ptr("biasGrad", "dBias", dBias);
        channels("biasGrad", "dy", dy, "dBias", dBias);
        kernels.biasBackward(pdy, pb, dy.shape().dim(0), dy.shape().dim(1), dy.shape().spatial(), accumulate);
    }

    // ---- elementwise product --------------------------------------------------------------

    @Override public void multiply(Tensor a, Tensor b, Tensor y) {
        String op = "multiply";
        long pa = ptr(op, "a", a), pb = ptr(op, "b", b), py = ptr(op, "y", y);
        long rowLength = OpChecks.multiply(a, b, y);
        kernels.multiply(pa, pb, py, a.size(), rowLength);
    }

    // ---- convolution ----------------------------------------------------------------------

    @Override public void conv2dForward(Tensor x, Tensor w, Tensor y, ConvGeometry g) {
        String op = "conv2dForward";
        long px = ptr(op, "x", x), pw = ptr(op, "w", w), py = ptr(op, "y", y);
        Dnn.Problem p = convShapes(Dnn.Direction.FORWARD, op, "x", x, w, "y", y, g);
        distinct(op, "y", y, "x", x, "w", w);
        Dnn.Algo algo = algorithm(p, px, pw, py);
        dnn.forward(1f, p.x(), px, p.w(), pw, p.conv(), algo.id(), workspace, workspaceBytes, 0f, p.y(), py);
    }

    @Override public void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, ConvGeometry g) {
        String op = "conv2dBackwardData";
        long pdy = ptr(op, "dy", dy), pw = ptr(op, "w", w), pdx = ptr(op, "dx", dx);
        Dnn.Problem p = convShapes(Dnn.Direction.BACKWARD_DATA, op, "dx", dx, w, "dy", dy, g);
        distinct(op, "dx", dx, "dy", dy, "w", w);
        Dnn.Algo algo = algorithm(p, pdx, pw, pdy);
        dnn.backwardData(1f, p.w(), pw, p.y(), pdy, p.conv(), algo.id(), workspace, workspaceBytes, 0f, p.x(), pdx);
    }

    @Override public void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, ConvGeometry g, boolean accumulate) {
        String op = "conv2dBackwardFilter";
        long px = ptr(op, "x", x), pdy = ptr(op, "dy", dy), pdw = ptr(op, "dw", dw);
        Dnn.Problem p = convShapes(Dnn.Direction.BACKWARD_FILTER, op, "x", x, dw, "dy", dy, g);
        distinct(op, "dw", dw, "x", x, "dy", dy);
        Dnn.Algo algo = algorithm(p, px, pdw, pdy);
        dnn.backwardFilter(1f, p.x(), px, p.y(), pdy, p.conv(), algo.id(), workspace, workspaceBytes, accumulate ? 1f : 0f, p.w(), pdw);
    }

    /**
     * The algorithm of {@code p}: the cached one; else the one handed in for it
     * ({@link #useAlgorithmChoices}), checked against this device; else found. Find runs the
     * candidate algorithms on x, w and y but overwrites the operand the direction writes, which may
     * hold gradients to accumulate into, so it gets a scratch copy of that operand's size instead;
     * and a scratch workspace of the largest size any candidate asks for, capped at the limit.
     * The fastest algorithm found within the limit that is deterministic (or any, when
     * non-deterministic ones are allowed) is kept, and the shared workspace grows to its size.
     */
    private Dnn.Algo algorithm(Dnn.Problem p, long x, long w, long y) {
        Dnn.Algo cached = algorithms.get(p);
        if (cached != null) return cached;
        AlgorithmChoice handed = given.get(problemName(p));
        return use(p, handed != null ? given(p, handed) : find(p, x, w, y));
    }

    private Dnn.Algo find(Dnn.Problem p, long x, long w, long y) {
        long findBytes = 0;
        for (int a = 0; a < dnn.algorithmCount(p.direction()); a++) {
            long need = dnn.workspaceSize(p, a);
            if (need > findBytes && need <= workspaceLimit) findBytes = need;
        }
        long outBytes = switch (p.direction()) {
            case FORWARD -> p.y().bytes();
            case BACKWARD_DATA -> p.x().bytes();
            case BACKWARD_FILTER -> p.w().bytes();
        };
        long scratch = memory.allocate(outBytes), findWorkspace = findBytes > 0 ? memory.allocate(findBytes) : 0;
        List<Dnn.Algo> found;
        try {
            found = switch (p.direction()) {
                case FORWARD -> dnn.find(p, x, w, scratch, findWorkspace, findBytes);
                case BACKWARD_DATA -> dnn.find(p, scratch, w, y, findWorkspace, findBytes);
                case BACKWARD_FILTER -> dnn.find(p, x, scratch, y, findWorkspace, findBytes);
            };
        } finally {
            memory.free(scratch);
            if (findWorkspace != 0) memory.free(findWorkspace);
        }
        return choose(p, found, workspaceLimit, nondeterministicAllowed);
    }

    /**
     * The first (fastest) of {@code found} within {@code workspaceLimit} that is deterministic, or
     * any when {@code nondeterministicAllowed}; one line saying what to change when none is.
     */
    static Dnn.Algo choose(Dnn.Problem p, List<Dnn.Algo> found, long workspaceLimit, boolean nondeterministicAllowed) {
        boolean fits = false;
        for (Dnn.Algo a : found) {
            if (a.workspaceBytes() > workspaceLimit) continue;
            fits = true;
            if (a.deterministic() || nondeterministicAllowed) return a;
        }
        if (fits)
            throw new IllegalStateException("cuDNN found no deterministic algorithm for " + p + " within the workspace limit of "
                    + workspaceLimit + " bytes (raise --workspace-mb, or allow --cudnn-nondeterministic)");
        throw new IllegalStateException("cuDNN found no algorithm for " + p + " within the workspace limit of "
                + workspaceLimit + " bytes (raise --workspace-mb)");
    }

    /** A handed-in choice as this device's algorithm: it must exist here, fit the limit and, unless allowed, be deterministic. */
    private Dnn.Algo given(Dnn.Problem p, AlgorithmChoice c) {
        String what = "the saved algorithm choice " + c.name() + " (" + c.id() + ") for " + p;
        if (c.id() < 0 || c.id() >= dnn.algorithmCount(p.direction()))
            throw new IllegalStateException(what + " is not an algorithm of " + dnn.describe());
        if (!c.deterministic() && !nondeterministicAllowed)
            throw new IllegalStateException(what + " is non-deterministic; pass --cudnn-nondeterministic as the run was started");
        long need = dnn.workspaceSize(p, c.id());
        if (need < 0) throw new IllegalStateException(what + " does not support this problem on " + dnn.describe());
        if (need > workspaceLimit)
            throw new IllegalStateException(what + " needs " + need + " bytes of workspace, over the limit of " + workspaceLimit
                    + " bytes (raise --workspace-mb)");
        return new Dnn.Algo(c.id(), c.name(), need, 0f, c.deterministic());
    }

    /** Caches {@code a} as p's algorithm and grows the shared workspace to its size. */
    private Dnn.Algo use(Dnn.Problem p, Dnn.Algo a) {
        if (a.workspaceBytes() > workspaceBytes) {
            if (workspace != 0) memory.free(workspace);
            workspace = 0;
            workspaceBytes = 0;
            workspace = memory.allocate(a.workspaceBytes());
            workspaceBytes = a.workspaceBytes();
        }
        algorithms.put(p, a);
        given.remove(problemName(p));
        return a;
    }

    /** A problem's name in {@link AlgorithmChoice#problem}: its record's text (direction, shapes, geometry). */
    static String problemName(Dnn.Problem p) { return p.toString(); }

    /** Every algorithm chosen so far and every handed-in choice not yet met, by problem name. */
    @Override public List<AlgorithmChoice> algorithmChoices() {
        Map<String, AlgorithmChoice> all = new TreeMap<>(given);
        for (Map.Entry<Dnn.Problem, Dnn.Algo> e : algorithms.entrySet()) {
            Dnn.Algo a = e.getValue();
            String name = problemName(e.getKey());
            all.put(name, new AlgorithmChoice(name, a.id(), a.name(), a.workspaceBytes(), a.deterministic()));
        }
        return List.copyOf(all.values());
    }

    /**
     * Uses {@code choices} for their problems from now on instead of find (checked when each
     * problem is met: the algorithm must exist on this device, fit the workspace limit and, unless
     * non-deterministic ones are allowed, be deterministic). A problem already met keeps its algorithm.
     */
    @Override public void useAlgorithmChoices(List<AlgorithmChoice> choices) {
        for (AlgorithmChoice c : choices) {
            if (c == null || c.problem() == null) throw new IllegalArgumentException("an algorithm choice without a problem: " + c);
            given.put(c.problem(), c);
        }
        for (Dnn.Problem p : algorithms.keySet()) given.remove(problemName(p));
    }

    // ---- dropout ----------------------------------------------------------------------------

    @Override public void dropoutForward(Tensor x, Tensor mask, Tensor y, float p, long seed, long offset) {
        String op = "dropoutForward";
        long px = ptr(op, "x", x), pm = ptr(op, "mask", mask), py = ptr(op, "y", y);
        OpChecks.dropout(op, x, mask, y, p);
        kernels.dropoutForward(px, pm, py, x.size(), p, seed, offset);
    }

    @Override public void dropoutBackward(Tensor dy, Tensor mask, Tensor dx) {
        String op = "dropoutBackward";
        long pdy = ptr(op, "dy", dy), pm = ptr(op, "mask", mask), pdx = ptr(op, "dx", dx);
        OpChecks.dropoutBackward(dy, mask, dx);
        kernels.dropoutBackward(pdy, pm, pdx, dy.size());
    }

    // ---- activations ----------------------------------------------------------------------

    @Override public void leakyRelu(Tensor x, Tensor y, float slope) {
        long px = ptr("leakyRelu", "x", x), py = ptr("leakyRelu", "y", y);
        sameSize("leakyRelu", "x", x, "y", y);
        kernels.leakyReluForward(px, py, x.size(), slope);
    }

    @Override public void leakyReluBackward(Tensor y, Tensor dy, Tensor dx, float slope) {
        String op = "leakyReluBackward";
        long py = ptr(op, "y", y), pdy = ptr(op, "dy", dy), pdx = ptr(op, "dx", dx);
        OpChecks.backward(op, y, dy, dx);
        kernels.leakyReluBackward(py, pdy, pdx, y.size(), slope);
    }

    @Override public void relu(Tensor x, Tensor y) {
        long px = ptr("relu", "x", x), py = ptr("relu", "y", y);
        sameSize("relu", "x", x, "y", y);
        kernels.reluForward(px, py, x.size());
    }

    @Override public void reluBackward(Tensor y, Tensor dy, Tensor dx) {
        String op = "reluBackward";
        long py = ptr(op, "y", y), pdy = ptr(op, "dy", dy), pdx = ptr(op, "dx", dx);
        OpChecks.backward(op, y, dy, dx);
        kernels.reluBackward(py, pdy, pdx, y.size());
    }

    @Override public void tanh(Tensor x, Tensor y) {
        long px = ptr("tanh", "x", x), py = ptr("tanh", "y", y);
        sameSize("tanh", "x", x, "y", y);
        kernels.tanhForward(px, py, x.size());
    }

    @Override public void tanhBackward(Tensor y, Tensor dy, Tensor dx) {
        String op = "tanhBackward";
        long py = ptr(op, "y", y), pdy = ptr(op, "dy", dy), pdx = ptr(op, "dx", dx);
        OpChecks.backward(op, y, dy, dx);
        kernels.tanhBackward(py, pdy, pdx, y.size());
    }

    @Override public void sigmoid(Tensor x, Tensor y) {
        long px = ptr("sigmoid", "x", x), py = ptr("sigmoid", "y", y);
        sameSize("sigmoid", "x", x, "y", y);
        kernels.sigmoidForward(px, py, x.size());
    }

    @Override public void sigmoidBackward(Tensor y, Tensor dy, Tensor dx) {
        String op = "sigmoidBackward";
        long py = ptr(op, "y", y), pdy = ptr(op, "dy", dy), pdx = ptr(op, "dx", dx);
        OpChecks.backward(op, y, dy, dx);
        kernels.sigmoidBackward(py, pdy, pdx, y.size());
    }

    // ---- batch norm ---------------------------------------------------------------------------

    @Override public void batchNormTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                         float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        String op = "batchNormTrain";
        long px = ptr(op, "x", x), py = ptr(op, "y", y);
        long pg = ptr(op, "gamma", gamma), pb = ptr(op, "beta", beta),
                rm = ptr(op, "runningMean", runningMean), rv = ptr(op, "runningVar", runningVar),
                sm = ptr(op, "saveMean", saveMean), si = ptr(op, "saveInvStd", saveInvStd);
        OpChecks.batchNormTrain(op, x, y, gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        Shape s = x.shape();
        kernels.batchNormForward(px, pg, pb, rm, rv, momentum, eps, py, sm, si, s.dim(0), s.dim(1), s.spatial());
    }

    @Override public void batchNormInfer(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                         float eps, Tensor y) {
        String op = "batchNormInfer";
        long px = ptr(op, "x", x), py = ptr(op, "y", y);
        long pg = ptr(op, "gamma", gamma), pb = ptr(op, "beta", beta),
                rm = ptr(op, "runningMean", runningMean), rv = ptr(op, "runningVar", runningVar);
        OpChecks.batchNormInfer(x, y, gamma, beta, runningMean, runningVar);
        Shape s = x.shape();
        kernels.batchNormInfer(px, pg, pb, rm, rv, eps, py, s.dim(0), s.dim(1), s.spatial());
    }

    @Override public void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                            Tensor dx, Tensor dGamma, Tensor dBeta, boolean accumulate) {
        String op = "batchNormBackward";
        long px = ptr(op, "x", x), pdy = ptr(op, "dy", dy), pdx = ptr(op, "dx", dx);
        long pg = ptr(op, "gamma", gamma), sm = ptr(op, "saveMean", saveMean),
                si = ptr(op, "saveInvStd", saveInvStd), dg = ptr(op, "dGamma", dGamma),
                db = ptr(op, "dBeta", dBeta);
        OpChecks.batchNormBackward(op, x, dy, dx, gamma, saveMean, saveInvStd, dGamma, dBeta);
        Shape s = x.shape();
        kernels.batchNormBackward(px, pdy, pg, sm, si, pdx, dg, db, accumulate, s.dim(0), s.dim(1), s.spatial());
    }

    // The fused kernels; Kernels picks the (N, C) tile or the per-channel variant as for batchNormTrain.
    // Slope 0 runs the ReLU kernels (y = max(z, 0), as the relu op). The backward recomputes z
    // from x and does not read y.

    @Override public void batchNormLeakyReluTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                                  float momentum, float eps, float slope, Tensor y, Tensor saveMean,
                                                  Tensor saveInvStd) {
        String op = "batchNormLeakyReluTrain";
        long px = ptr(op, "x", x), py = ptr(op, "y", y);
        long pg = ptr(op, "gamma", gamma), pb = ptr(op, "beta", beta),
                rm = ptr(op, "runningMean", runningMean), rv = ptr(op, "runningVar", runningVar),
                sm = ptr(op, "saveMean", saveMean), si = ptr(op, "saveInvStd", saveInvStd);
        OpChecks.batchNormLeakyReluTrain(x, y, gamma, beta, runningMean, runningVar, saveMean, saveInvStd, slope);
        Shape s = x.shape();
        if (slope == 0f) kernels.batchNormReluForward(px, pg, pb, rm, rv, momentum, eps, py, sm, si, s.dim(0), s.dim(1), s.spatial());
        else kernels.batchNormLeakyReluForward(px, pg, pb, rm, rv, momentum, eps, slope, py, sm, si, s.dim(0), s.dim(1),
                s.spatial());
    }

    @Override public void batchNormLeakyReluBackward(Tensor x, Tensor y, Tensor dy, Tensor gamma, Tensor beta, float slope,
                                                     Tensor saveMean, Tensor saveInvStd, Tensor dx, Tensor dGamma,
                                                     Tensor dBeta, boolean accumulate) {
        String op = "batchNormLeakyReluBackward";
        long px = ptr(op, "x", x), pdy = ptr(op, "dy", dy), pdx = ptr(op, "dx", dx);
        ptr(op, "y", y);
        long pg = ptr(op, "gamma", gamma), pb = ptr(op, "beta", beta),
                sm = ptr(op, "saveMean", saveMean), si = ptr(op, "saveInvStd", saveInvStd),
                dg = ptr(op, "dGamma", dGamma), db = ptr(op, "dBeta", dBeta);
        OpChecks.batchNormLeakyReluBackward(x, y, dy, dx, gamma, beta, saveMean, saveInvStd, dGamma, dBeta, slope);
        Shape s = x.shape();
        if (slope == 0f) kernels.batchNormReluBackward(px, pdy, pg, pb, sm, si, pdx, dg, db, accumulate, s.dim(0), s.dim(1),
                s.spatial());
        else kernels.batchNormLeakyReluBackward(px, pdy, pg, pb, slope, sm, si, pdx, dg, db, accumulate, s.dim(0), s.dim(1),
                s.spatial());
    }

    // ---- loss -----------------------------------------------------------------------------

    @Override public void bceWithLogits(Tensor logits, Tensor targets, float target, float gradScale,
                                        Tensor dLogits, Tensor stats, int slot) {
        String op = "bceWithLogits";
        long pl = ptr(op, "logits", logits), pd = ptr(op, "dLogits", dLogits), ps = ptr(op, "stats", stats);
        long pt = 0;
        if (targets != null) {
            pt = ptr(op, "targets", targets);
        }
        OpChecks.bce(logits, targets, dLogits, stats, slot);
        kernels.bceWithLogits(pl, pt, target, gradScale, pd, ps, slot, logits.size());
    }

    @Override public void criticLoss(CriticLoss kind, Tensor logits, float a, float gradScale, Tensor dLogits,
                                     Tensor stats, int slot) {
        String op = "criticLoss";
        long pl = ptr(op, "logits", logits), pd = ptr(op, "dLogits", dLogits), ps = ptr(op, "stats", stats);
        OpChecks.criticLoss(kind, logits, dLogits, stats, slot);
        kernels.criticLoss(kind.code(), pl, a, gradScale, pd, ps, slot, logits.size());
    }

    // ---- optimizers -----------------------------------------------------------------------

    @Override public void adamStep(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v,
                                   float lr, float beta1, float beta2, float eps, float weightDecay, int t) {
        OpChecks.adam(params, grads, m, v, t);
        int count = params.size();
        if (count == 0) return;
        kernels.adamStep(pointers("adamStep", "params", params), pointers("adamStep", "grads", grads),
                pointers("adamStep", "m", m), pointers("adamStep", "v", v), sizes(params), lr, beta1, beta2, eps, weightDecay, t);
    }

    @Override public void sgdStep(List<Tensor> params, List<Tensor> grads, List<Tensor> velocity,
                                  float lr, float momentum, boolean firstStep) {
        OpChecks.sgd(params, grads, velocity);
        long[] pp = pointers("sgdStep", "params", params), pg = pointers("sgdStep", "grads", grads),
                pb = pointers("sgdStep", "velocity", velocity);
        for (int i = 0; i < pp.length; i++) kernels.sgdStep(pp[i], pg[i], pb[i], params.get(i).size(), lr, momentum, firstStep);
    }

    @Override public void rmspropStep(List<Tensor> params, List<Tensor> grads, List<Tensor> squareAvg, float lr,
                                      float alpha, float eps) {
        OpChecks.rmsprop(params, grads, squareAvg);
        long[] pp = pointers("rmspropStep", "params", params), pg = pointers("rmspropStep", "grads", grads),
                pv = pointers("rmspropStep", "squareAvg", squareAvg);
        for (int i = 0; i < pp.length; i++) kernels.rmspropStep(pp[i], pg[i], pv[i], params.get(i).size(), lr, alpha, eps);
    }

    @Override public void clamp(Tensor t, float lo, float hi) {
        long pt = ptr("clamp", "t", t);
        OpChecks.clamp(lo, hi);
        kernels.clamp(pt, t.size(), lo, hi);
    }

    // ---- spectral normalisation -------------------------------------------------------------

    @Override public void spectralNorm(Tensor w, int dim, Tensor u, Tensor v, boolean update, Tensor wsn, Tensor work) {
        String op = "spectralNorm";
        long pw = ptr(op, "w", w), pu = ptr(op, "u", u), pv = ptr(op, "v", v), pn = ptr(op, "wsn", wsn), pk = ptr(op, "work", work);
        int[] m = OpChecks.spectralNorm(op, w, dim, u, v, wsn, work);
        kernels.spectralNorm(pw, pu, pv, update, pn, pk, m[0], m[1], m[2]);
    }

    @Override public void spectralNormBackward(Tensor g, Tensor wsn, int dim, Tensor u, Tensor v, Tensor work, Tensor dw,
                                               boolean accumulate) {
        String op = "spectralNormBackward";
        long pg = ptr(op, "g", g), pn = ptr(op, "wsn", wsn), pu = ptr(op, "u", u), pv = ptr(op, "v", v),
                pk = ptr(op, "work", work), pd = ptr(op, "dw", dw);
        int[] m = OpChecks.spectralNorm(op, wsn, dim, u, v, g, work);
        OpChecks.sameSize(op, "wsn", wsn, "dw", dw);
        kernels.spectralNormBackward(pg, pn, pu, pv, pk, pd, accumulate, m[0], m[1], m[2]);
    }

    // ---- DiffAugment (x: (N, C, H, W)) ----------------------------------------------------------

    @Override public void diffAugment(DiffAugment kind, Tensor x, Tensor params, Tensor y) {
        augment("diffAugment", false, kind, x, params, y);
    }

    @Override public void diffAugmentBackward(DiffAugment kind, Tensor dy, Tensor params, Tensor dx) {
        augment("diffAugmentBackward", true, kind, dy, params, dx);
    }

    private void augment(String op, boolean backward, DiffAugment kind, Tensor in, Tensor params, Tensor out) {
        String inName = backward ? "dy" : "x", outName = backward ? "dx" : "y";
        long pi = ptr(op, inName, in), pp = ptr(op, "params", params), po = ptr(op, outName, out);
        OpChecks.diffAugment(op, kind, inName, in, params, outName, out);
        Shape s = in.shape();
        int n = s.dim(0), c = s.dim(1), h = s.dim(2), w = s.dim(3);
        switch (kind) {
            case COLOR -> kernels.diffAugmentColor(backward, pi, pp, po, n, c, h, w);
            case TRANSLATION -> kernels.diffAugmentTranslation(backward, pi, pp, po, n, c, h, w);
            case CUTOUT -> kernels.diffAugmentCutout(pi, pp, po, n, c, h, w);   // a 0/1 mask is its own adjoint
        }
    }

    // ---- softmax (x: (N, K) rows) ------------------------------------------------------------

    @Override public void softmax(Tensor x, Tensor y) {
        long px = ptr("softmax", "x", x), py = ptr("softmax", "y", y);
        OpChecks.softmax(x, y);
        kernels.softmax(px, py, x.shape().dim(0), x.shape().dim(1));
    }

    @Override public void softmaxCrossEntropy(Tensor logits, Tensor labels, float gradScale, Tensor dLogits, Tensor stats, int slot) {
        String op = "softmaxCrossEntropy";
        long pl = ptr(op, "logits", logits), pb = ptr(op, "labels", labels), pd = ptr(op, "dLogits", dLogits),
                ps = ptr(op, "stats", stats);
        OpChecks.softmaxCrossEntropy(op, logits, labels, dLogits, stats, slot);
        int n = logits.shape().dim(0);
        // The labels must be class indices, as on the CPU backend (the kernel would clamp them).
        // Checking means reading them: n floats and a wait for the queue, in the classifier's
        // steps only (a GAN step never calls this op).
        int k = logits.shape().dim(1);
        float[] host = new float[n];
        memory.copyToHost(pb, host, 0, n);
        for (int r = 0; r < n; r++) {
            float f = host[r];
            if ((int) f != f || f < 0 || f >= k)
                throw new IllegalArgumentException(op + ": labels[" + r + "] = " + f + " is not a class index in [0, " + k + ")");
        }
        kernels.softmaxCrossEntropy(pl, pb, gradScale, pd, ps, slot, n, k);
    }

    // ---- pooling ------------------------------------------------------------------------------

    @Override public void maxPool2x2Forward(Tensor x, Tensor y) {
        String op = "maxPool2x2Forward";
        long px = ptr(op, "x", x), py = ptr(op, "y", y);
        OpChecks.maxPoolForward(x, y);
        Shape s = x.shape();
        kernels.maxPool2x2Forward(px, py, s.dim(0) * s.dim(1), s.dim(2), s.dim(3));
    }

    @Override public void maxPool2x2Backward(Tensor x, Tensor y, Tensor dy, Tensor dx) {
        String op = "maxPool2x2Backward";
        long px = ptr(op, "x", x), py = ptr(op, "y", y), pdy = ptr(op, "dy", dy), pdx = ptr(op, "dx", dx);
        OpChecks.maxPoolBackward(op, x, y, dy, dx);
        Shape s = x.shape();
        kernels.maxPool2x2Backward(px, py, pdy, pdx, s.dim(0) * s.dim(1), s.dim(2), s.dim(3));
    }

    // ---- averaging ----------------------------------------------------------------------------

    @Override public void ema(Tensor avg, Tensor x, float decay) {
        long pa = ptr("ema", "avg", avg), px = ptr("ema", "x", x);
        OpChecks.ema(avg, x, decay);
        kernels.ema(pa, px, avg.size(), decay);
    }

    // ---- random numbers -------------------------------------------------------------------

    @Override public void fillUniform(Tensor t, float lo, float hi, long seed, long offset) {
        kernels.fillUniform(ptr("fillUniform", "t", t), t.size(), lo, hi, seed, offset);
    }

    @Override public void fillNormal(Tensor t, float mean, float std, long seed, long offset) {
        kernels.fillNormal(ptr("fillNormal", "t", t), t.size(), mean, std, seed, offset);
    }

    @Override public void fillBernoulli(Tensor t, float p, float ifTrue, float ifFalse, long seed, long offset) {
        kernels.fillBernoulli(ptr("fillBernoulli", "t", t), t.size(), p, ifTrue, ifFalse, seed, offset);
    }

    /**
     * Frees the workspace, the algorithm cache (and the handed-in choices) and the memory of collected tensors. The backend
     * stays usable (the next convolution finds its algorithm again): JUnit closes every
     * AutoCloseable argument of a parameterized test, and the tests share one backend. The
     * device, its context and stream live until the JVM exits.
     */
    @Override public void close() {
        synchronize();
        if (workspace != 0) memory.free(workspace);
        workspace = 0;
        workspaceBytes = 0;
        algorithms.clear();
        given.clear();
        releaseCollected();
    }

    @Override public String toString() { return "CudaBackend(" + kernels.launcher().describe() + ")"; }

    private void releaseCollected() {
        for (Long a; (a = releases.poll()) != null; ) memory.free(a);
    }

    // ---- argument checks (the shared ones are OpChecks') ------------------------------------

    private long ptr(String op, String name, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        if (!(t.storage() instanceof DeviceStorage d) || t.owner() != this)
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " belongs to the "
                    + t.owner().name() + " backend " + t.owner() + ", not " + this);
        return d.address();
    }


    /** The convolution's shapes, checked as on every backend ({@link OpChecks#conv}), as cuDNN's descriptors. */
    private static Dnn.Problem convShapes(Dnn.Direction direction, String op, String imageName, Tensor image, Tensor weights,
                                          String outName, Tensor out, ConvGeometry g) {
        OpChecks.ConvShape c = OpChecks.conv(direction == Dnn.Direction.BACKWARD_FILTER, op, imageName, image, weights, outName, out, g);
        return new Dnn.Problem(direction, new Dnn.TensorDesc(c.n(), c.c(), c.h(), c.w()),
                new Dnn.FilterDesc(c.k(), c.c(), c.r(), c.s()),
                new Dnn.ConvDesc(g.padH(), g.padW(), g.strideH(), g.strideW(), 1, 1),
                new Dnn.TensorDesc(c.n(), c.k(), c.p(), c.q()));
    }

    /** The device addresses of an optimizer's list, each checked as this backend's (the name is built only on failure). */
    private long[] pointers(String op, String name, List<Tensor> list) {
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) {
            Tensor t = list.get(i);
            out[i] = t.storage() instanceof DeviceStorage d && t.owner() == this ? d.address() : ptr(op, name + "[" + i + "]", t);
        }
        return out;
    }

    private static long[] sizes(List<Tensor> list) {
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) out[i] = list.get(i).size();
        return out;
    }
}
