package dev.jgan.cuda;

import java.util.List;

/**
 * The DNN port of the CUDA backend: cuDNN's convolution with its descriptor semantics. Two
 * adapters: {@link CudnnDnn} (cuDNN 8.9 through JCudnn, on the backend's stream) and
 * {@link EmulatedDnn} (a host implementation of the same contract).
 *
 * <p>The contract (cuDNN's legacy convolution API):
 * <ul>
 *   <li>{@link TensorDesc}: a packed float32 NCHW tensor (cudnnSetTensor4dDescriptor, NCHW, FLOAT);
 *       {@link FilterDesc}: a float32 filter (K, C, R, S) (cudnnSetFilter4dDescriptor, NCHW);
 *       {@link ConvDesc}: padding, stride, dilation, CUDNN_CROSS_CORRELATION, float compute
 *       (cudnnSetConvolution2dDescriptor).</li>
 *   <li>forward: y = alpha conv(x, w) + beta y with y[n,k,p,q] = sum_{c,r,s}
 *       x[n, c, p*sh - ph + r*dh, q*sw - pw + s*dw] w[k,c,r,s] (zero outside x) and y's size exactly
 *       cudnnGetConvolution2dForwardOutputDim's: P = (H + 2 ph - ((R - 1) dh + 1)) / sh + 1.</li>
 *   <li>backward data: dx = alpha (the gradient of conv wrt x, given dy) + beta dx; dx may be larger
 *       than the smallest x that gives dy (the rows the floor division drops get zero gradient).</li>
 *   <li>backward filter: dw = alpha (the gradient wrt w, given x and dy) + beta dw.</li>
 *   <li>When beta is 0 the output is not read (NaN there does not propagate).</li>
 *   <li>Each call names an algorithm and a workspace of at least {@link #workspaceSize} bytes for it;
 *       {@link #find} runs the algorithms on real buffers (cudnnFind...AlgorithmEx) and leaves the
 *       output operand's contents undefined.</li>
 * </ul>
 */
public interface Dnn extends AutoCloseable {

    /** A packed float32 NCHW tensor. */
    record TensorDesc(int n, int c, int h, int w) {
        public long bytes() { return 4L * n * c * h * w; }

        @Override public String toString() { return "(" + n + ", " + c + ", " + h + ", " + w + ")"; }
    }

    /** A float32 filter (K output channels, C input channels, R rows, S columns). */
    record FilterDesc(int k, int c, int r, int s) {
        public long bytes() { return 4L * k * c * r * s; }

        @Override public String toString() { return "(" + k + ", " + c + ", " + r + ", " + s + ")"; }
    }

    /** Zero padding, stride and dilation of a cross-correlation in float. */
    record ConvDesc(int padH, int padW, int strideH, int strideW, int dilationH, int dilationW) {
        @Override public String toString() {
            return "pad " + padH + "x" + padW + ", stride " + strideH + "x" + strideW + ", dilation " + dilationH + "x" + dilationW;
        }
    }

    enum Direction { FORWARD, BACKWARD_DATA, BACKWARD_FILTER }

    /**
     * One convolution as the three calls see it: x the image (dx for backward data), w the filter
     * (dw for backward filter), y the output (dy for the backwards). The key of the algorithm cache.
     */
    record Problem(Direction direction, TensorDesc x, FilterDesc w, ConvDesc conv, TensorDesc y) {
        @Override public String toString() {
            return direction.name().toLowerCase() + " x " + x + ", w " + w + ", y " + y + ", " + conv;
        }
    }

    /**
     * An algorithm of a direction (cuDNN's enum value), its workspace, the time find measured, and
     * whether it is deterministic (cuDNN's perf.determinism == CUDNN_DETERMINISTIC: the same inputs
     * give the same bits on every run; the others, often the fastest backward algorithms, sum with
     * atomics in whatever order the threads arrive).
     */
    record Algo(int id, String name, long workspaceBytes, float millis, boolean deterministic) {}

    /** One line: which adapter and library version. */
    String describe();

    /** How many algorithms {@code direction} has (the algorithm ids are 0 to count - 1). */
    int algorithmCount(Direction direction);

    /** Workspace bytes that algorithm {@code algo} needs for {@code p}, or -1 if it does not support {@code p}. */
    long workspaceSize(Problem p, int algo);

    /**
     * Runs every algorithm that fits in {@code workspaceBytes} on the given buffers and returns those
     * that succeeded, fastest first (cudnnFind...AlgorithmEx). The operand that the direction
     * writes (y, dx or dw) is overwritten with undefined values.
     */
    List<Algo> find(Problem p, long x, long w, long y, long workspace, long workspaceBytes);

    /** y = alpha conv(x, w) + beta y (cudnnConvolutionForward). */
    void forward(float alpha, TensorDesc xDesc, long x, FilterDesc wDesc, long w, ConvDesc conv, int algo,
                 long workspace, long workspaceBytes, float beta, TensorDesc yDesc, long y);

    /** dx = alpha dconv/dx(dy, w) + beta dx (cudnnConvolutionBackwardData). */
    void backwardData(float alpha, FilterDesc wDesc, long w, TensorDesc dyDesc, long dy, ConvDesc conv, int algo,
                      long workspace, long workspaceBytes, float beta, TensorDesc dxDesc, long dx);

    /** dw = alpha dconv/dw(x, dy) + beta dw (cudnnConvolutionBackwardFilter). */
    void backwardFilter(float alpha, TensorDesc xDesc, long x, TensorDesc dyDesc, long dy, ConvDesc conv, int algo,
                        long workspace, long workspaceBytes, float beta, FilterDesc dwDesc, long dw);

    /**
     * The checks cuDNN makes (CUDNN_STATUS_BAD_PARAM): positive sizes, matching channels, y of
     * exactly the forward output size for x (dx: any size whose forward output is dy's). Shared by
     * both adapters so that the emulation refuses exactly what cuDNN refuses.
     */
    static void checkProblem(String call, Problem p) {
        TensorDesc x = p.x(), y = p.y();
        FilterDesc w = p.w();
        ConvDesc c = p.conv();
        boolean ok = x.n() > 0 && x.c() > 0 && x.h() > 0 && x.w() > 0 && w.k() > 0 && w.r() > 0 && w.s() > 0
                && c.strideH() > 0 && c.strideW() > 0 && c.dilationH() > 0 && c.dilationW() > 0 && c.padH() >= 0 && c.padW() >= 0
                && w.c() == x.c() && y.n() == x.n() && y.c() == w.k();
        int outH = outputSize(x.h(), w.r(), c.padH(), c.strideH(), c.dilationH());
        int outW = outputSize(x.w(), w.s(), c.padW(), c.strideW(), c.dilationW());
        if (!ok || outH != y.h() || outW != y.w())
            throw new IllegalArgumentException(call + ": bad parameters (CUDNN_STATUS_BAD_PARAM) for " + p
                    + ": the forward output of x through w is (" + x.n() + ", " + w.k() + ", " + outH + ", " + outW + ")");
    }

    /** cuDNN's output extent: (in + 2 pad - ((k - 1) dilation + 1)) / stride + 1, or -1 if the kernel does not fit. */
    static int outputSize(int in, int k, int pad, int stride, int dilation) {
        int span = in + 2 * pad - ((k - 1) * dilation + 1);
        return span < 0 ? -1 : span / stride + 1;
    }

    @Override
    default void close() {}
}
