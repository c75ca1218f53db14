package dev.jgan.cuda.gpu;

import jcuda.driver.CUcontext;
import jcuda.driver.JCudaDriver;

/**
 * The backend's CUDA context (the device's primary context) and the one check every GPU adapter
 * makes before a call that needs it: {@link #makeCurrent}. The driver API keeps the current
 * context per host thread (cuCtxSetCurrent "binds the specified CUDA context to the calling CPU
 * thread"), and a thread that never set one has none, so a call from it fails with
 * CUDA_ERROR_INVALID_CONTEXT. An embedding application may call the backend from several threads
 * (sampling on one, training on another): the first call from each thread binds the context there.
 *
 * <p>The check is one comparison: the last thread that made the context current is remembered,
 * and only a call from another thread calls cuCtxSetCurrent again (cheap: the driver sets a
 * thread-local). This relies on nothing else changing a thread's current context behind jgan's
 * back; an application that binds its own contexts on the same threads must bind jgan's back
 * (or call from its own threads). Virtual threads are not supported: one may move to another
 * carrier thread between two calls, where the context is not current.
 *
 * <p>cuBLAS and cuDNN (the runtime API underneath) use the primary context of the current device,
 * which is this same context, so binding it serves them too.
 */
final class CudaContext {
    private final CUcontext context;
    /** The thread that last bound the context (a call from it needs nothing). */
    private volatile Thread bound;

    /** The context, current on the calling thread (which opened it). */
    CudaContext(CUcontext context) {
        this.context = context;
        bound = Thread.currentThread();
    }

    /** Makes the context current on the calling thread unless this thread already did. */
    void makeCurrent() {
        Thread t = Thread.currentThread();
        if (t == bound) return;
        Checked.driver("cuCtxSetCurrent", () -> JCudaDriver.cuCtxSetCurrent(context));
        bound = t;
    }

    CUcontext context() { return context; }
}
