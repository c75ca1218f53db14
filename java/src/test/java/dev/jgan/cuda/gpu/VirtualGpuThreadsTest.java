package dev.jgan.cuda.gpu;

import dev.jgan.backend.Backend;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * The CUDA backend over the GPU adapters may be called from any thread (one at a time), as an
 * embedding application that samples from a pool does: every adapter call makes the context
 * current on its thread first. The virtual GPU's contexts are per thread as the driver's are, so a
 * call on a thread without the context current fails there with CUDA_ERROR_INVALID_CONTEXT.
 */
@Tag("virtual-gpu")
class VirtualGpuThreadsTest {
    @Test
    void opsRunFromThreadsThatDidNotOpenTheBackend() throws Exception {
        Backend cuda = TestBackends.all().filter(b -> b.name().equals("cuda")).findFirst().orElse(null);
        if (cuda == null) {
            if ("true".equals(System.getenv("CI"))) throw new IllegalStateException("no virtual GPU backend; CI=true requires it");
            abort("no virtual GPU backend here: " + String.join("; ", TestBackends.absent().toList()));
        }
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<float[]>> results = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                float v = t - 3;
                // one at a time: the backend is not thread-safe, but any thread may be the one
                results.add(pool.submit(() -> {
                    synchronized (cuda) {
                        Tensor x = cuda.fromHost(new float[] {v, -v, 2 * v}, Shape.of(3));
                        Tensor y = cuda.allocate(Shape.of(3));
                        cuda.relu(x, y);
                        float[] out = new float[3];
                        cuda.toHost(y, out);
                        return out;
                    }
                }));
            }
            for (int t = 0; t < 6; t++) {
                float v = t - 3;
                assertArrayEquals(new float[] {Math.max(v, 0), Math.max(-v, 0), Math.max(2 * v, 0)}, results.get(t).get(), "thread task " + t);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
