package dev.jgan.cpu;

import dev.jgan.backend.ConvGeometry;
import jdk.incubator.vector.FloatVector;
import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.ref.Reference;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

import static dev.jgan.cpu.Vec.F;
import static dev.jgan.cpu.Vec.FL;
import static dev.jgan.cpu.Vec.ORDER;
import static dev.jgan.cpu.Vec.get;
import static dev.jgan.cpu.Vec.set;
import static jdk.incubator.vector.FloatVector.fromMemorySegment;
import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * oneDNN for the CPU backend: its sgemm ({@link #sgemm}, row-major, on the same OpenMP threads as
 * the convolutions) and 2-D convolutions through its C API, with cuDNN's semantics (cross-correlation, NCHW,
 * dilation 1, one group). Every op is one oneDNN convolution primitive over three tensors:
 * the image side {@code (N, C, H, W)} (x or dx), the weights {@code (K, C, R, S)} (w or dw) and
 * the output side {@code (N, K, P, Q)} (y or dy); CpuBackend has checked the shapes.
 *
 * <ul>
 *   <li>Tensors are plain (nchw data, oihw weights). With 16 or more image-side channels oneDNN
 *       chooses the layouts (format "any": blocked nChw16c-style for its direct AVX-512 kernels)
 *       and each call reorders inputs into buffers kept with the primitive and the output back:
 *       a reorder is one pass over a tensor, the convolution hundreds of multiply-adds per element,
 *       and the direct kernels ran 1.3-2.5x faster than im2col + sgemm on dcgan-28's layers (batch
 *       64, two threads). The blocked copies live only inside one call, so all primitives share
 *       one buffer for them ({@link Workspace}). The weight gradient lets oneDNN choose at any
 *       channel count: with 1 or 3 input channels (a discriminator's or classifier's first layer)
 *       the plain layouts' im2col + sgemm took 386 ms for a 3x3 convolution of 100 3x32x32 images
 *       into 16 channels, the blocked JIT kernel 36 ms. Otherwise, below 16 channels, or where oneDNN offers only a
 *       reference kernel for "any", the plain layouts are used as they are, and of oneDNN's
 *       implementations the first that is not a reference one is taken (see {@link #create}). fp
 *       math is strict (oneDNN's default: no TF32 or BF16 down-conversion).</li>
 *   <li>One CPU engine and stream. Each distinct (op, shapes, geometry) gets its primitive and its
 *       three memory objects once ({@link Key}); a call only points the memory objects at the
 *       tensors (dnnl_memory_set_data_handle), executes and waits.</li>
 *   <li>Right padding is the exact one oneDNN's consistency check wants,
 *       {@code padR = (P - 1) stride + R - H - padL}: it is below padL when the floor in P drops
 *       rows, and below 0 when dx is larger than the minimum (a transposed convolution's output
 *       padding, as PyTorch's mkldnn path passes {@code padding - output_padding}). Rows past the
 *       last window are then simply not touched: backward data writes 0 there.</li>
 *   <li>Backward weights overwrites (oneDNN's backward primitives take no sum post-op), so
 *       {@code accumulate} runs it into a scratch tensor (in the workspace) and adds that.</li>
 *   <li>oneDNN's scratchpad is the user's ({@code dnnl_scratchpad_mode_user}), in the workspace too:
 *       this build's library mode keeps one per thread (thread-local, grown by the primitives a
 *       thread creates), so a primitive run on another thread than the one that created it read
 *       that thread's, too small or none (a SIGSEGV in libdnnl). Reorders between these layouts
 *       need none; one that did would keep the library's.</li>
 *   <li>Threads: this oneDNN build uses OpenMP (its own libgomp). OpenMP's thread count is a
 *       per-thread setting (nthreads-var), so each call sets {@code omp_set_num_threads(threads)}
 *       on the calling thread before oneDNN creates or runs a primitive.</li>
 *   <li>A kernel that covers the whole unpadded image (output 1x1: dcgan-64's first ConvT and last
 *       Conv) is a dense layer, {@code y (N, K) = x (N, C R S) w^T}, and runs as {@link #sgemm}:
 *       oneDNN has only its reference implementation when such an output has one channel (its
 *       (N, 1, 1, 1) layout is both nchw and nhwc, and the gemm convolution rejects the mix), and
 *       its gemm convolution reaches 13-60 GFLOP/s with 100 channels where sgemm does 160-230
 *       (batch 64, two threads).</li>
 *   <li>Calls are serialised (synchronized): a cached primitive's memory objects and the workspace
 *       are shared.</li>
 * </ul>
 */
final class OneDnn implements AutoCloseable {
    static final int FORWARD = 0, BACKWARD_DATA = 1, BACKWARD_FILTER = 2;
    private static final String[] OP_NAMES = {"conv2dForward", "conv2dBackwardData", "conv2dBackwardFilter"};

    private static final MethodHandle OMP_SET_NUM_THREADS, OMP_GET_MAX_THREADS;

    static {
        // Loads libdnnl and the libgomp the preset bundles (javacpp System.loads both), then finds
        // OpenMP's setters among this class loader's libraries.
        Loader.load(dnnl.class);
        SymbolLookup libraries = SymbolLookup.loaderLookup();
        MemorySegment set = libraries.find("omp_set_num_threads").orElseThrow(() -> new IllegalStateException(
                "oneDNN's libgomp has no omp_set_num_threads (loaded: " + Loader.getLoadedLibraries().keySet() + ")"));
        MemorySegment get = libraries.find("omp_get_max_threads").orElseThrow(() -> new IllegalStateException(
                "oneDNN's libgomp has no omp_get_max_threads (loaded: " + Loader.getLoadedLibraries().keySet() + ")"));
        Linker linker = Linker.nativeLinker();
        OMP_SET_NUM_THREADS = linker.downcallHandle(set, FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT), Linker.Option.critical(false));
        OMP_GET_MAX_THREADS = linker.downcallHandle(get, FunctionDescriptor.of(ValueLayout.JAVA_INT), Linker.Option.critical(false));
    }

    /** One convolution op: the op, its three shapes and the geometry. Image (n, c, h, w), weights (k, c, r, s), output (n, k, p, q). */
    record Key(int op, int n, int c, int h, int w, int k, int r, int s, int p, int q, ConvGeometry g) {
        /** The kernel covers the whole unpadded image (so the output is 1x1): a dense layer over C H W inputs. */
        boolean dense() {
            return r == h && s == w && g.padH() == 0 && g.padW() == 0;
        }

        /** "conv2dForward of x (2, 3, 7, 9), w (5, 3, 3, 3), y (2, 5, 7, 9), stride 1x1, padding 1x1". */
        String describe() {
            String image = "(" + n + ", " + c + ", " + h + ", " + w + ")", weights = "(" + k + ", " + c + ", " + r + ", " + s + ")",
                    output = "(" + n + ", " + k + ", " + p + ", " + q + ")";
            String tensors = switch (op) {
                case FORWARD -> "x " + image + ", w " + weights + ", y " + output;
                case BACKWARD_DATA -> "dy " + output + ", w " + weights + ", dx " + image;
                default -> "x " + image + ", dy " + output + ", dw " + weights;
            };
            return OP_NAMES[op] + " of " + tensors + ", stride " + g.strideH() + "x" + g.strideW()
                    + ", padding " + g.padH() + "x" + g.padW();
        }
    }

    /**
     * One of a primitive's three tensors. {@code user} points at the caller's plain (nchw/oihw)
     * tensor each call; when the primitive wants another layout, {@code inner} is a buffer in that
     * layout, {@code innerBytes} at {@code innerAt} in the workspace, and {@code reorder} copies
     * between the two (user to inner before an input is read, inner to user after an output is written).
     */
    private static final class Operand {
        final dnnl_memory user;
        final dnnl_memory inner;        // null: the primitive reads or writes user directly
        final long innerAt, innerBytes;
        final dnnl_primitive reorder;
        final dnnl_exec_arg_t reorderArgs;

        Operand(dnnl_memory user, dnnl_memory inner, long innerAt, long innerBytes, dnnl_primitive reorder, dnnl_exec_arg_t reorderArgs) {
            this.user = user;
            this.inner = inner;
            this.innerAt = innerAt;
            this.innerBytes = innerBytes;
            this.reorder = reorder;
            this.reorderArgs = reorderArgs;
        }

        dnnl_memory forPrimitive() { return inner != null ? inner : user; }

        /** The workspace offset after this operand's buffer. */
        long end() { return Workspace.align(innerAt + innerBytes); }

        void destroy() {
            dnnl_memory_destroy(user);
            if (inner != null) {
                dnnl_primitive_destroy(reorder);
                dnnl_memory_destroy(inner);
                reorderArgs.close();
            }
        }
    }

    /**
     * A cached primitive, its operands (image, weights, output), oneDNN's scratchpad (null when it
     * needs none) and arguments. In the workspace, the operands' blocked buffers, then the scratchpad
     * at {@code scratchpadAt}, end at {@code need}; accumulate's scratch (weights-sized) follows.
     */
    private static final class Entry {
        final Key key;
        final String implementation;
        final dnnl_primitive primitive;
        final Operand image, weights, output;
        final dnnl_memory scratchpad;
        final long scratchpadAt, need;
        final dnnl_exec_arg_t args;
        final int argCount;

        Entry(Key key, String implementation, dnnl_primitive primitive, Operand image, Operand weights,
              Operand output, dnnl_memory scratchpad, long scratchpadAt, long need, dnnl_exec_arg_t args, int argCount) {
            this.key = key;
            this.implementation = implementation;
            this.primitive = primitive;
            this.image = image;
            this.weights = weights;
            this.output = output;
            this.scratchpad = scratchpad;
            this.scratchpadAt = scratchpadAt;
            this.need = need;
            this.args = args;
            this.argCount = argCount;
        }
    }

    /**
     * One native buffer for what lives only inside one call: the operands' blocked-layout copies,
     * oneDNN's scratchpad and accumulate's scratch. Calls are serialised, so every primitive lays
     * its buffers out from offset 0 and the buffer is the largest need of any call, not the sum
     * (dcgan-64 at batch 64: 26 MB instead of 166). Growing moves it, so each call sets every
     * memory object's handle again.
     */
    private static final class Workspace {
        private Arena arena;            // null until the first need
        private MemorySegment segment;

        /** Offsets and the buffer itself on cache lines (oneDNN's kernels want 64-byte aligned data). */
        static long align(long bytes) { return (bytes + HostStorage.ALIGNMENT - 1) & -HostStorage.ALIGNMENT; }

        long bytes() { return segment == null ? 0 : segment.byteSize(); }

        /** Grows the buffer to at least {@code bytes}; its contents are dead between calls, so nothing is copied. */
        void reserve(long bytes) {
            if (bytes <= bytes()) return;
            free(); // first, so that the old and the new buffer are never both held
            arena = Arena.ofShared(); // calls come from any thread (one at a time)
            segment = arena.allocate(bytes, HostStorage.ALIGNMENT);
        }

        Pointer at(long offset) { return new Address(segment.address() + offset); }

        MemorySegment slice(long offset, long bytes) { return segment.asSlice(offset, bytes); }

        void free() {
            if (arena != null) arena.close();
            arena = null;
            segment = null;
        }
    }

    /** A javacpp pointer at an address inside the workspace (it frees nothing). */
    private static final class Address extends Pointer {
        Address(long address) { this.address = address; }
    }

    /**
     * Fewest image-side channels for blocked layouts: oneDNN's AVX-512 kernels block channels by
     * 16, and below that (the 1-channel images of the first and last layers) its blocked backward
     * data ran 5-7x slower than im2col + sgemm here, while forward and backward filter tied.
     */
    static final int BLOCK = 16;

    private final int threads;
    private final boolean blocked;
    /** Give convolutions bf16 inputs where oneDNN has bf16 kernels for them (see {@link #create}). */
    private final boolean bf16;
    private final dnnl_engine engine = new dnnl_engine();
    private final dnnl_stream stream = new dnnl_stream();
    private final dnnl_primitive_attr userScratchpad = new dnnl_primitive_attr();
    private final Map<Key, Entry> cache = new HashMap<>();
    private final Workspace workspace = new Workspace();
    private boolean closed;

    OneDnn(int threads) { this(threads, true); }

    /** @param blocked let oneDNN choose blocked layouts (with reorders at the edges) instead of plain nchw/oihw */
    OneDnn(int threads, boolean blocked) { this(threads, blocked, false); }

    /**
     * @param bf16 the convolutions' inputs as bf16 (outputs float32) where oneDNN has a kernel for
     *             them; the caller has rounded them to bf16 already, so the reorders that convert
     *             them are exact and a convolution without a bf16 kernel computes the same numbers
     *             in float32
     */
    OneDnn(int threads, boolean blocked, boolean bf16) {
        this.threads = threads;
        this.blocked = blocked;
        this.bf16 = bf16;
        check(dnnl_engine_create(engine, dnnl_cpu, 0), "dnnl_engine_create", "the CPU engine");
        check(dnnl_stream_create(stream, engine, dnnl_stream_default_flags), "dnnl_stream_create", "the CPU stream");
        check(dnnl_primitive_attr_create(userScratchpad), "dnnl_primitive_attr_create", "the primitive attributes");
        check(dnnl_primitive_attr_set_scratchpad_mode(userScratchpad, dnnl_scratchpad_mode_user),
                "dnnl_primitive_attr_set_scratchpad_mode", "the primitive attributes");
    }

    /**
     * Whether oneDNN makes a bf16 convolution on this CPU (bf16 inputs, float32 output): it has
     * them with AVX-512 (avx512_core_bf16, AMX) and refuses them with dnnl_unimplemented on AVX2,
     * where bf16 would only be converted, never multiplied, faster.
     */
    static boolean hasBf16() { return Bf16Probe.ANSWER; }

    private static final class Bf16Probe {
        static final boolean ANSWER = probe();

        private static boolean probe() {
            dnnl_engine engine = new dnnl_engine();
            if (dnnl_engine_create(engine, dnnl_cpu, 0) != dnnl_success) return false;
            dnnl_memory_desc src = new dnnl_memory_desc(), wei = new dnnl_memory_desc(), dst = new dnnl_memory_desc();
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            try {
                boolean described = dnnl_memory_desc_create_with_tag(src, 4, new long[]{1, 16, 8, 8}, dnnl_bf16, dnnl_format_tag_any) == dnnl_success
                        && dnnl_memory_desc_create_with_tag(wei, 4, new long[]{16, 16, 3, 3}, dnnl_bf16, dnnl_format_tag_any) == dnnl_success
                        && dnnl_memory_desc_create_with_tag(dst, 4, new long[]{1, 16, 8, 8}, dnnl_f32, dnnl_format_tag_any) == dnnl_success;
                return described && dnnl_convolution_forward_primitive_desc_create(pd, engine, dnnl_forward_training,
                        dnnl_convolution_direct, src, wei, (dnnl_memory_desc) null, dst, new long[]{1, 1}, NO_DILATION,
                        new long[]{1, 1}, new long[]{1, 1}, (dnnl_primitive_attr) null) == dnnl_success;
            } finally {
                if (!pd.isNull()) dnnl_primitive_desc_destroy(pd);
                for (dnnl_memory_desc d : new dnnl_memory_desc[]{src, wei, dst}) if (!d.isNull()) dnnl_memory_desc_destroy(d);
                dnnl_engine_destroy(engine);
            }
        }
    }

    /** oneDNN's version, e.g. "oneDNN 3.8.1". */
    static String version() {
        var v = dnnl_version();
        return "oneDNN " + v.major() + "." + v.minor() + "." + v.patch();
    }

    /** OpenMP's thread count on the calling thread (what oneDNN would use here). */
    static int ompMaxThreads() {
        try {
            return (int) OMP_GET_MAX_THREADS.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("omp_get_max_threads failed", t);
        }
    }

    private void useThreads() {
        try {
            OMP_SET_NUM_THREADS.invokeExact(threads);
        } catch (Throwable t) {
            throw new IllegalStateException("omp_set_num_threads(" + threads + ") failed", t);
        }
    }

    // y = x (*) w
    synchronized void forward(HostStorage x, HostStorage w, HostStorage y, Key key) {
        if (key.dense()) { // y (N, K) = x (N, CRS) w^T
            int crs = key.c() * key.r() * key.s();
            sgemm(false, true, key.n(), key.k(), crs, 1f, x, crs, w, crs, 0f, y, key.k());
        } else {
            run(entry(key), x.pointer(), w.pointer(), y.pointer());
        }
        Reference.reachabilityFence(x);
        Reference.reachabilityFence(w);
        Reference.reachabilityFence(y);
    }

    // dx = dL/dx (written)
    synchronized void backwardData(HostStorage dy, HostStorage w, HostStorage dx, Key key) {
        if (key.dense()) { // dx (N, CRS) = dy (N, K) w
            int crs = key.c() * key.r() * key.s();
            sgemm(false, false, key.n(), crs, key.k(), 1f, dy, key.k(), w, crs, 0f, dx, crs);
        } else {
            run(entry(key), dx.pointer(), w.pointer(), dy.pointer());
        }
        Reference.reachabilityFence(dy);
        Reference.reachabilityFence(w);
        Reference.reachabilityFence(dx);
    }

    // dw (=|+=) dL/dw
    synchronized void backwardFilter(HostStorage x, HostStorage dy, HostStorage dw, Key key, boolean accumulate) {
        if (key.dense()) { // dw (K, CRS) (=|+=) dy^T x; BLAS does not read dw when beta is 0
            int crs = key.c() * key.r() * key.s();
            sgemm(true, false, key.k(), crs, key.n(), 1f, dy, key.k(), x, crs, accumulate ? 1f : 0f, dw, crs);
            Reference.reachabilityFence(dw);
            return;
        }
        Entry e = entry(key);
        if (!accumulate) {
            run(e, x.pointer(), dw.pointer(), dy.pointer());
        } else { // into the scratch after the primitive's own buffers (the weights' blocked copy is reordered into it), then added
            long n = (long) key.k() * key.c() * key.r() * key.s();
            workspace.reserve(e.need + n * Float.BYTES);
            run(e, x.pointer(), workspace.at(e.need), dy.pointer());
            addInto(dw.segment(), workspace.slice(e.need, n * Float.BYTES), n);
        }
        Reference.reachabilityFence(x);
        Reference.reachabilityFence(dy);
        Reference.reachabilityFence(dw);
    }

    /** Row-major C (m, n) = alpha op(A) op(B) + beta C through oneDNN's sgemm, on this object's OpenMP threads. */
    synchronized void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, HostStorage a, int lda,
                            HostStorage b, int ldb, float beta, HostStorage c, int ldc) {
        useThreads();
        int status = dnnl_sgemm((byte) (transA ? 'T' : 'N'), (byte) (transB ? 'T' : 'N'), m, n, k, alpha,
                a.pointer(), lda, b.pointer(), ldb, beta, c.pointer(), ldc);
        if (status != dnnl_success) check(status, "dnnl_sgemm", "gemm (m, n, k) = (" + m + ", " + n + ", " + k + ")");
        Reference.reachabilityFence(a);
        Reference.reachabilityFence(b);
        Reference.reachabilityFence(c);
    }

    // dst[i] += src[i]
    static void addInto(MemorySegment dst, MemorySegment src, long n) {
        long i = 0;
        for (long bound = F.loopBound(n); i < bound; i += FL) {
            long at = i << 2;
            fromMemorySegment(F, dst, at, ORDER).add(fromMemorySegment(F, src, at, ORDER)).intoMemorySegment(dst, at, ORDER);
        }
        for (; i < n; i++) set(dst, i, get(dst, i) + get(src, i));
    }

    /** Number of cached primitives (for tests). */
    synchronized int cached() { return cache.size(); }

    /** The workspace's size in bytes: the largest need of any call so far (for tests). */
    synchronized long bufferBytes() { return workspace.bytes(); }

    /** Points every memory object of {@code e} at its tensor or its place in the workspace (which may have moved), and runs it. */
    private void run(Entry e, Pointer image, Pointer weights, Pointer output) {
        workspace.reserve(e.need);
        point(e, e.image, image);
        point(e, e.weights, weights);
        point(e, e.output, output);
        if (e.scratchpad != null) check(dnnl_memory_set_data_handle(e.scratchpad, workspace.at(e.scratchpadAt)), "dnnl_memory_set_data_handle", e.key);
        useThreads();
        // inputs: forward reads image and weights, backward data reads output (dy) and weights, backward filter image and output
        int op = e.key.op();
        if (op != BACKWARD_DATA) reorder(e, e.image);
        if (op != BACKWARD_FILTER) reorder(e, e.weights);
        if (op != FORWARD) reorder(e, e.output);
        check(dnnl_primitive_execute(e.primitive, stream, e.argCount, e.args), "dnnl_primitive_execute", e.key);
        switch (op) { // the one output, back to the caller's layout
            case FORWARD -> reorder(e, e.output);
            case BACKWARD_DATA -> reorder(e, e.image);
            default -> reorder(e, e.weights);
        }
        check(dnnl_stream_wait(stream), "dnnl_stream_wait", e.key);
    }

    private void point(Entry e, Operand o, Pointer tensor) {
        check(dnnl_memory_set_data_handle(o.user, tensor), "dnnl_memory_set_data_handle", e.key);
        if (o.inner != null) check(dnnl_memory_set_data_handle(o.inner, workspace.at(o.innerAt)), "dnnl_memory_set_data_handle", e.key);
    }

    private void reorder(Entry e, Operand o) {
        if (o.inner != null) check(dnnl_primitive_execute(o.reorder, stream, 2, o.reorderArgs), "dnnl_primitive_execute(reorder)", e.key);
    }

    private Entry entry(Key key) {
        if (closed) throw new IllegalStateException(key.describe() + ": the cpu backend is closed");
        Entry e = cache.get(key);
        if (e == null) {
            if (bf16) {
                try {
                    e = create(key, true);
                } catch (IllegalStateException noBf16Kernel) { // same numbers in float32: the inputs are bf16 values already
                    e = create(key, false);
                }
            } else {
                e = create(key, false);
            }
            cache.put(key, e);
        }
        return e;
    }

    /** @param bf16 the op's inputs in bf16 (forward: x, w; backward data: dy, w; backward weights: x, dy), its output float32 */
    private Entry create(Key key, boolean bf16) {
        ConvGeometry g = key.g();
        long[] strides = {g.strideH(), g.strideW()}, padL = {g.padH(), g.padW()};
        long[] padR = {(key.p() - 1L) * g.strideH() + key.r() - key.h() - g.padH(),
                (key.q() - 1L) * g.strideW() + key.s() - key.w() - g.padW()};
        long[] imageDims = {key.n(), key.c(), key.h(), key.w()}, weightsDims = {key.k(), key.c(), key.r(), key.s()},
                outputDims = {key.n(), key.k(), key.p(), key.q()};
        // the callers' tensors (plain, float32), and what the primitive computes on (plainTyped: their layouts, bf16 inputs
        // under bf16; any: layouts of oneDNN's choice); a backward op's forward hint has bf16 inputs and a float32 output
        int op = key.op(), f32 = dnnl_f32, in = bf16 ? dnnl_bf16 : dnnl_f32;
        int[] types = switch (op) { // image, weights, output
            case FORWARD -> new int[]{in, in, f32};
            case BACKWARD_DATA -> new int[]{f32, in, in};
            default -> new int[]{in, f32, in};
        };
        int[] hintTypes = {in, in, f32};
        Descriptors plain = new Descriptors(key, strides, padL, padR), any = new Descriptors(key, strides, padL, padR),
                plainTyped = bf16 ? new Descriptors(key, strides, padL, padR) : plain,
                hintAny = bf16 ? new Descriptors(key, strides, padL, padR) : any,
                hintPlain = bf16 ? new Descriptors(key, strides, padL, padR) : plain;
        dnnl_primitive_desc hint = null, pd = null;
        useThreads(); // oneDNN sizes some kernels' work split by the thread count at creation
        try {
            int[] f32s = {f32, f32, f32};
            plain.describe(imageDims, dnnl_nchw, weightsDims, dnnl_oihw, outputDims, dnnl_nchw, f32s);
            if (bf16) {
                plainTyped.describe(imageDims, dnnl_nchw, weightsDims, dnnl_oihw, outputDims, dnnl_nchw, types);
                hintPlain.describe(imageDims, dnnl_nchw, weightsDims, dnnl_oihw, outputDims, dnnl_nchw, hintTypes);
            }
            String implementation = null;
            if (blocked && (key.c() >= BLOCK || key.op() == BACKWARD_FILTER)) {
                // let oneDNN choose the layouts (blocked nChw16c and friends for its direct AVX-512 kernels)
                any.describe(imageDims, dnnl_format_tag_any, weightsDims, dnnl_format_tag_any, outputDims, dnnl_format_tag_any, types);
                if (bf16) hintAny.describe(imageDims, dnnl_format_tag_any, weightsDims, dnnl_format_tag_any, outputDims,
                        dnnl_format_tag_any, hintTypes);
                if (key.op() != FORWARD) hint = descriptor(FORWARD, hintAny, null);
                pd = descriptor(key.op(), any, hint);
                implementation = implementation(pd, key);
                if (implementation.contains("ref")) {
                    dnnl_primitive_desc_destroy(pd);
                    pd = null;
                    if (hint != null) dnnl_primitive_desc_destroy(hint);
                    hint = null;
                }
            }
            if (pd == null) {
                // backward descriptors need the forward one as a hint
                if (key.op() != FORWARD) hint = descriptor(FORWARD, hintPlain, null);
                pd = descriptor(key.op(), plainTyped, hint);
                // oneDNN's first choice for plain nchw/oihw is jit_uni_ncsp_convolution, which goes through nhwc and, with
                // the weights' layout fixed, can only nest the reference convolution (~1 GFLOP/s); the next one is
                // im2col + JIT sgemm ("gemm:jit", 70-230 GFLOP/s on two AVX-512 cores). So take the first implementation
                // that is not a reference one; if there is none, oneDNN's first.
                implementation = implementation(pd, key);
                if (implementation.contains("ref")) {
                    String first = implementation;
                    while (implementation.contains("ref") && dnnl_primitive_desc_next_impl(pd) == dnnl_success)
                        implementation = implementation(pd, key);
                    if (implementation.contains("ref")) { // next_impl cannot go back
                        dnnl_primitive_desc_destroy(pd);
                        pd = null;
                        pd = descriptor(key.op(), plainTyped, hint);
                        implementation = first;
                    }
                }
            }
            dnnl_primitive primitive = new dnnl_primitive();
            check(dnnl_primitive_create(primitive, pd), "dnnl_primitive_create", key);
            if (bf16) implementation += " (bf16)";
            Operand image = operand(key, pd, plain.image(), op == BACKWARD_DATA ? dnnl_query_diff_src_md : dnnl_query_src_md, op != BACKWARD_DATA, 0);
            Operand weights = operand(key, pd, plain.weights(), op == BACKWARD_FILTER ? dnnl_query_diff_weights_md : dnnl_query_weights_md, op != BACKWARD_FILTER, image.end());
            Operand output = operand(key, pd, plain.output(), op == FORWARD ? dnnl_query_dst_md : dnnl_query_diff_dst_md, op != FORWARD, weights.end());
            long scratchpadAt = output.end(), need = scratchpadAt;
            dnnl_memory scratchpad = null;
            if (scratchpadBytes(pd) > 0) {
                scratchpad = new dnnl_memory();
                check(dnnl_memory_create(scratchpad, dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0), engine, (Pointer) null),
                        "dnnl_memory_create", key);
                need = Workspace.align(scratchpadAt + scratchpadBytes(pd));
            }
            int argCount = scratchpad != null ? 4 : 3;
            dnnl_exec_arg_t args = new dnnl_exec_arg_t(argCount);
            switch (op) {
                case FORWARD -> {
                    args.position(0).arg(DNNL_ARG_SRC).memory(image.forPrimitive());
                    args.position(1).arg(DNNL_ARG_WEIGHTS).memory(weights.forPrimitive());
                    args.position(2).arg(DNNL_ARG_DST).memory(output.forPrimitive());
                }
                case BACKWARD_DATA -> {
                    args.position(0).arg(DNNL_ARG_DIFF_SRC).memory(image.forPrimitive());
                    args.position(1).arg(DNNL_ARG_WEIGHTS).memory(weights.forPrimitive());
                    args.position(2).arg(DNNL_ARG_DIFF_DST).memory(output.forPrimitive());
                }
                default -> {
                    args.position(0).arg(DNNL_ARG_SRC).memory(image.forPrimitive());
                    args.position(1).arg(DNNL_ARG_DIFF_WEIGHTS).memory(weights.forPrimitive());
                    args.position(2).arg(DNNL_ARG_DIFF_DST).memory(output.forPrimitive());
                }
            }
            if (scratchpad != null) args.position(3).arg(DNNL_ARG_SCRATCHPAD).memory(scratchpad);
            args.position(0);
            return new Entry(key, implementation, primitive, image, weights, output, scratchpad, scratchpadAt, need, args, argCount);
        } finally {
            if (pd != null) dnnl_primitive_desc_destroy(pd);
            if (hint != null) dnnl_primitive_desc_destroy(hint);
            plain.destroy();
            any.destroy();
            if (bf16) {
                plainTyped.destroy();
                hintAny.destroy();
                hintPlain.destroy();
            }
        }
    }

    /**
     * The operand of {@code pd} that {@code query} names: a memory object over the caller's plain
     * tensor ({@code plainDesc}), and when the primitive chose another layout, a memory object in that
     * layout (at {@code at} in the workspace) with the reorder between them ({@code input}: plain to
     * inner, else inner to plain).
     */
    private Operand operand(Key key, dnnl_primitive_desc pd, dnnl_memory_desc plainDesc, int query, boolean input, long at) {
        dnnl_memory user = new dnnl_memory(); // no buffer yet (DNNL_MEMORY_NONE): each call sets the tensor's address
        check(dnnl_memory_create(user, plainDesc, engine, (Pointer) null), "dnnl_memory_create", key);
        dnnl_memory_desc chosen = dnnl_primitive_desc_query_md(pd, query, 0); // owned by pd
        if (chosen == null || chosen.isNull()) throw new IllegalStateException(key.describe() + ": oneDNN reports no memory descriptor for query " + query);
        if (dnnl_memory_desc_equal(chosen, plainDesc) != 0) return new Operand(user, null, at, 0, null, null);
        dnnl_memory inner = new dnnl_memory(); // its place in the workspace is set each call
        check(dnnl_memory_create(inner, chosen, engine, (Pointer) null), "dnnl_memory_create", key);
        dnnl_primitive_desc reorderPd = new dnnl_primitive_desc();
        dnnl_primitive reorder = new dnnl_primitive();
        try {
            for (dnnl_primitive_attr attr : new dnnl_primitive_attr[] {userScratchpad, null}) { // the library's scratchpad if one needs any
                if (!reorderPd.isNull()) dnnl_primitive_desc_destroy(reorderPd);
                check(input ? dnnl_reorder_primitive_desc_create(reorderPd, plainDesc, engine, chosen, engine, attr)
                            : dnnl_reorder_primitive_desc_create(reorderPd, chosen, engine, plainDesc, engine, attr),
                        "dnnl_reorder_primitive_desc_create", key);
                if (scratchpadBytes(reorderPd) == 0) break;
            }
            check(dnnl_primitive_create(reorder, reorderPd), "dnnl_primitive_create(reorder)", key);
        } finally {
            if (!reorderPd.isNull()) dnnl_primitive_desc_destroy(reorderPd);
        }
        dnnl_exec_arg_t args = new dnnl_exec_arg_t(2);
        args.position(0).arg(DNNL_ARG_FROM).memory(input ? user : inner);
        args.position(1).arg(DNNL_ARG_TO).memory(input ? inner : user);
        args.position(0);
        return new Operand(user, inner, at, dnnl_memory_desc_get_size(chosen), reorder, args);
    }

    /** The scratchpad {@code pd} asks the user for (0 in the library's mode, and when it needs none). */
    private static long scratchpadBytes(dnnl_primitive_desc pd) {
        dnnl_memory_desc md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0); // owned by pd
        return md == null || md.isNull() ? 0 : dnnl_memory_desc_get_size(md);
    }

    /** The memory descriptors and geometry of one primitive, while it is made. */
    private record Descriptors(Key key, long[] strides, long[] padL, long[] padR,
                               dnnl_memory_desc image, dnnl_memory_desc weights, dnnl_memory_desc output) {
        Descriptors(Key key, long[] strides, long[] padL, long[] padR) {
            this(key, strides, padL, padR, new dnnl_memory_desc(), new dnnl_memory_desc(), new dnnl_memory_desc());
        }

        /** @param types the data types of image, weights and output (dnnl_f32, dnnl_bf16) */
        void describe(long[] imageDims, int imageTag, long[] weightsDims, int weightsTag, long[] outputDims, int outputTag, int[] types) {
            check(dnnl_memory_desc_create_with_tag(image, 4, imageDims, types[0], imageTag), "dnnl_memory_desc_create_with_tag", key);
            check(dnnl_memory_desc_create_with_tag(weights, 4, weightsDims, types[1], weightsTag), "dnnl_memory_desc_create_with_tag", key);
            check(dnnl_memory_desc_create_with_tag(output, 4, outputDims, types[2], outputTag), "dnnl_memory_desc_create_with_tag", key);
        }

        void destroy() {
            if (!image.isNull()) dnnl_memory_desc_destroy(image);
            if (!weights.isNull()) dnnl_memory_desc_destroy(weights);
            if (!output.isNull()) dnnl_memory_desc_destroy(output);
        }
    }

    private static final long[] NO_DILATION = {0, 0}; // oneDNN counts dilation from 0

    /** A primitive descriptor for op (its first implementation); backward ops take the forward one as hint. */
    private dnnl_primitive_desc descriptor(int op, Descriptors d, dnnl_primitive_desc hint) {
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        switch (op) {
            case FORWARD -> check(dnnl_convolution_forward_primitive_desc_create(pd, engine, dnnl_forward_training,
                    dnnl_convolution_direct, d.image(), d.weights(), (dnnl_memory_desc) null, d.output(),
                    d.strides(), NO_DILATION, d.padL(), d.padR(), userScratchpad),
                    "dnnl_convolution_forward_primitive_desc_create", d.key());
            case BACKWARD_DATA -> check(dnnl_convolution_backward_data_primitive_desc_create(pd, engine, dnnl_convolution_direct,
                    d.image(), d.weights(), d.output(), d.strides(), NO_DILATION, d.padL(), d.padR(), hint,
                    userScratchpad), "dnnl_convolution_backward_data_primitive_desc_create", d.key());
            default -> check(dnnl_convolution_backward_weights_primitive_desc_create(pd, engine, dnnl_convolution_direct,
                    d.image(), d.weights(), (dnnl_memory_desc) null, d.output(), d.strides(), NO_DILATION, d.padL(), d.padR(),
                    hint, userScratchpad), "dnnl_convolution_backward_weights_primitive_desc_create", d.key());
        }
        return pd;
    }

    /** oneDNN's name of the implementation a primitive descriptor points at, e.g. "x64:gemm:jit". */
    private static String implementation(dnnl_primitive_desc pd, Key key) {
        try (PointerPointer<BytePointer> name = new PointerPointer<>(1)) {
            check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, name), "dnnl_primitive_desc_query(impl_info_str)", key);
            return name.get(BytePointer.class, 0).getString();
        }
    }

    /** The implementation of each cached primitive, keyed by what it computes (for tests and diagnostics). */
    synchronized Map<String, String> implementations() {
        Map<String, String> out = new TreeMap<>();
        for (Entry e : cache.values()) out.put(e.key.describe(), e.implementation);
        return out;
    }

    /** Frees every primitive and memory object, the stream and the engine. */
    @Override public synchronized void close() {
        if (closed) return;
        closed = true;
        for (Entry e : cache.values()) {
            dnnl_primitive_destroy(e.primitive);
            e.image.destroy();
            e.weights.destroy();
            e.output.destroy();
            if (e.scratchpad != null) dnnl_memory_destroy(e.scratchpad);
            e.args.close();
        }
        cache.clear();
        workspace.free();
        dnnl_primitive_attr_destroy(userScratchpad);
        dnnl_stream_destroy(stream);
        dnnl_engine_destroy(engine);
    }

    private static void check(int status, String call, Key key) {
        if (status != dnnl_success) check(status, call, key.describe());
    }

    private static void check(int status, String call, String what) {
        if (status == dnnl_success) return;
        throw new IllegalStateException(what + ": " + call + " failed with " + statusName(status));
    }

    private static String statusName(int status) {
        if (status == dnnl_out_of_memory) return "dnnl_out_of_memory";
        if (status == dnnl_invalid_arguments) return "dnnl_invalid_arguments";
        if (status == dnnl_unimplemented) return "dnnl_unimplemented (no oneDNN implementation for these shapes)";
        if (status == dnnl_last_impl_reached) return "dnnl_last_impl_reached";
        if (status == dnnl_runtime_error) return "dnnl_runtime_error";
        if (status == dnnl_not_required) return "dnnl_not_required";
        return "dnnl status " + status;
    }
}
