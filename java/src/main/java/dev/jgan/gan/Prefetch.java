package dev.jgan.gan;

import dev.jgan.tensor.Shape;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Prepares the next batches of a {@link RealBatches} on a background thread while the step
 * computes, so that the step finds its batch ready: batch i is asked for, i + 1 .. i + depth are
 * queued behind it. Since batch i depends on (seed, i) alone, which thread computes it, and when,
 * changes nothing: a run with prefetching is bit for bit the run without. A batch asked for out of
 * order (the first after a resume) drops the queue and starts again from there. One thread, so the
 * source is never called concurrently.
 */
final class Prefetch implements RealBatches {
    /** Batches prepared ahead: one is enough while a batch takes less time than a step; two absorb a slow page-in. */
    static final int DEPTH = 2;
    /**
     * False when the system property {@code jgan.prefetch} is "false" (JGAN_JAVA_OPTS=-Djgan.prefetch=false):
     * the step then prepares its own batch, which is what the data time of the README's comparison measures.
     */
    static final boolean ENABLED = !"false".equals(System.getProperty("jgan.prefetch"));

    private final RealBatches source;
    private final int floats;
    private final ExecutorService worker;
    private final Map<Long, Future<float[]>> queued = new HashMap<>();
    private final ArrayDeque<float[]> free = new ArrayDeque<>();
    /** The buffer {@link #take} handed out last, back in {@link #free} at the next call. */
    private float[] lent;

    Prefetch(RealBatches source, int batch) {
        this.source = source;
        this.floats = source.batchFloats(batch);
        this.worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "jgan-data");
            t.setDaemon(true);
            return t;
        });
    }

    @Override public Shape item() { return source.item(); }

    @Override public long batchesPerEpoch() { return source.batchesPerEpoch(); }

    @Override public int classes() { return source.classes(); }

    @Override public void fill(long index, float[] dst) {
        float[] ready = next(index);
        System.arraycopy(ready, 0, dst, 0, floats);
        release(ready);
    }

    /** Lends the prepared buffer itself: the step's wait is the hand-over alone, no 4 bytes a value copied. */
    @Override public float[] take(long index, float[] scratch) {
        if (lent != null) release(lent);
        lent = next(index);
        return lent;
    }

    /** Batch {@code index}, once ready, with the batches behind it queued. */
    private float[] next(long index) {
        Future<float[]> f = queued.remove(index);
        if (f == null) {
            for (Future<float[]> other : queued.values()) release(await(other));
            queued.clear();
            f = submit(index);
        }
        for (long next = index + 1; next <= index + DEPTH; next++) if (!queued.containsKey(next)) queued.put(next, submit(next));
        return await(f);
    }

    private Future<float[]> submit(long index) {
        float[] buffer = free.isEmpty() ? new float[floats] : free.pop();
        return worker.submit(() -> {
            source.fill(index, buffer);
            return buffer;
        });
    }

    private void release(float[] buffer) { free.push(buffer); }

    private static float[] await(Future<float[]> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a batch", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        }
    }

    @Override public void close() {
        worker.shutdownNow();
    }
}
