package dev.jgan.cuda;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A launch allocates nothing on the Java heap in steady state: every Kernels method rewrites its
 * site's arguments in place, grids are cached, the last launch is remembered without a record.
 * Measured with the JVM's per-thread allocation counter over a launcher that does nothing.
 */
class KernelsAllocationTest {
    /** Takes launches and does nothing: what is measured is Kernels' own path. */
    static final class Discard implements KernelLauncher {
        long launches;

        @Override public String describe() { return "discard"; }

        @Override public int multiprocessors() { return 132; }

        @Override public void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) { launches++; }

        @Override public void synchronize() {}
    }

    static final long A = 0x10000, B = 0x20000, C = 0x30000, D = 0x40000;

    @Test
    void steadyStateLaunchesAllocateNothing() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported(), "this JVM does not count allocations per thread");
        threads.setThreadAllocatedMemoryEnabled(true);
        Discard d = new Discard();
        Kernels k = new Kernels(d);
        long[] params = {A, B, C}, grads = {B, C, D}, m = {C, D, A}, v = {D, A, B}, sizes = {1000, 5000, 70000};
        Runnable step = () -> {
            k.reluForward(A, B, 1000);
            k.leakyReluBackward(A, B, C, 1 << 20, 0.2f);
            k.biasBackward(A, B, 64, 128, 49, true);
            k.biasBackward(A, B, 64, 128, 1, false);
            k.batchNormForward(A, B, C, D, A, 0.1f, 1e-5f, B, C, D, 64, 128, 49);
            k.batchNormLeakyReluBackward(A, B, C, D, 0.2f, A, B, C, D, A, true, 64, 256, 1);
            k.bceWithLogits(A, 0, 1f, 1f, B, C, 3, 64);
            k.adamStep(params, grads, m, v, sizes, 2e-4f, 0.5f, 0.999f, 1e-8f, 0f, 7);
            k.fillNormal(A, 6400, 0f, 1f, 42, 100);
            k.dropoutForward(A, B, C, 4096, 0.3f, 1, 2);
        };
        for (int i = 0; i < 20_000; i++) step.run();   // lay out every site, let C2 compile the path
        long before = threads.getCurrentThreadAllocatedBytes(), launches = d.launches;
        for (int i = 0; i < 20_000; i++) step.run();
        long bytes = threads.getCurrentThreadAllocatedBytes() - before;
        double perLaunch = (double) bytes / (d.launches - launches);
        assertTrue(perLaunch < 0.5, perLaunch + " bytes allocated per launch (" + bytes + " bytes in " + (d.launches - launches)
                + " launches)");
    }
}
