package dev.jgan.cuda.ffm;

import java.lang.foreign.MemorySegment;

/**
 * The backend's CUDA context (the device's primary context) and {@link #makeCurrent}, exactly as
 * the JNI adapters' CudaContext: the driver keeps the current context per host thread, so the
 * first call from a thread binds it there (cuCtxSetCurrent), and a call from the thread that bound
 * it last costs one comparison. The same limits: nothing else may change a thread's current
 * context behind jgan's back, and virtual threads are not supported. cuBLAS and cuDNN use the
 * current device's primary context, this one.
 */
final class FfmContext {
    private final Driver driver;
    private final MemorySegment context;
    /** The thread that last bound the context (a call from it needs nothing). */
    private volatile Thread bound;

    /** The context, current on the calling thread (which opened it). */
    FfmContext(Driver driver, MemorySegment context) {
        this.driver = driver;
        this.context = context;
        bound = Thread.currentThread();
    }

    /** Makes the context current on the calling thread unless this thread already did. */
    void makeCurrent() {
        Thread t = Thread.currentThread();
        if (t == bound) return;
        driver.check("cuCtxSetCurrent", driver.cuCtxSetCurrent(context));
        bound = t;
    }

    MemorySegment context() { return context; }
}
