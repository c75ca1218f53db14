package dev.jgan.backend;

import dev.jgan.tensor.Tensor;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Where a step's time goes, op by op: {@link #wrap} puts a timing layer in front of a backend,
 * and {@link #table} lists the time of each (op, tensor shapes) pair, slowest first. Each timed
 * call is followed by {@link Backend#synchronize}, so an asynchronous backend (CUDA) is timed per
 * op too; that makes a profiled step slower than a real one, so `gan bench` never profiles the
 * steps it reports.
 *
 * <p>Tensors stay owned by the wrapped backend ({@code allocate} is passed through), so layers and
 * optimizers run unchanged on the wrapper.
 */
public final class OpProfile {
    /** Calls that move no arithmetic, or that the profiler makes itself: passed through untimed. */
    private static final Set<String> UNTIMED = Set.of("name", "describe", "allocate", "synchronize", "close",
            "toString", "hashCode", "equals");

    private final Map<String, long[]> entries = new LinkedHashMap<>(); // key -> {calls, nanos}
    private boolean recording = true;

    /** Time is recorded only while on (warm-up steps can be left out). */
    public void recording(boolean on) { recording = on; }

    /** A backend that does what {@code inner} does and records each op's time here. */
    public Backend wrap(Backend inner) {
        InvocationHandler h = (proxy, m, args) -> call(proxy, inner, m, args);
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, h);
    }

    private Object call(Object proxy, Backend inner, Method m, Object[] args) throws Throwable {
        // default methods (fromHost ...) run on the proxy, so the calls they make are timed
        if (m.isDefault()) return InvocationHandler.invokeDefault(proxy, m, args);
        boolean timed = recording && !UNTIMED.contains(m.getName());
        try {
            if (!timed) return m.invoke(inner, args);
            inner.synchronize();
            long t0 = System.nanoTime();
            Object out = m.invoke(inner, args);
            inner.synchronize();
            long dt = System.nanoTime() - t0;
            long[] e = entries.computeIfAbsent(key(m, args), k -> new long[2]);
            e[0]++;
            e[1] += dt;
            return out;
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** "conv2dForward (64,1,28,28) (64,1,5,5) (64,64,14,14)": the op and its tensors' shapes. */
    private static String key(Method m, Object[] args) {
        StringBuilder sb = new StringBuilder(m.getName());
        if (args != null) for (Object a : args) {
            if (a instanceof Tensor t) sb.append(' ').append(t.shape().toString().replace(" ", ""));
            else if (a instanceof List<?> l) sb.append(" [").append(l.size()).append(" tensors]");
        }
        return sb.toString();
    }

    /** Total recorded time in milliseconds. */
    public double totalMs() {
        long t = 0;
        for (long[] e : entries.values()) t += e[1];
        return t / 1e6;
    }

    /**
     * One line per (op, shapes), slowest first: total ms per step, share of the total, calls per
     * step and the op. {@code steps} divides the totals so they read as per-step numbers.
     */
    public String table(int steps) {
        List<Map.Entry<String, long[]>> rows = new ArrayList<>(entries.entrySet());
        rows.sort((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]));
        double total = Math.max(totalMs(), 1e-9);
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%10s %6s %6s  %s%n", "ms/step", "share", "calls", "op"));
        for (Map.Entry<String, long[]> r : rows) {
            double ms = r.getValue()[1] / 1e6;
            sb.append(String.format(Locale.ROOT, "%10.3f %5.1f%% %6.1f  %s%n", ms / steps, 100 * ms / total,
                    (double) r.getValue()[0] / steps, r.getKey()));
        }
        sb.append(String.format(Locale.ROOT, "%10.3f %5.1f%%         total of timed ops%n", total / steps, 100.0));
        return sb.toString();
    }
}
