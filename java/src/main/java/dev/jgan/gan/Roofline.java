package dev.jgan.gan;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntToDoubleFunction;
import java.util.stream.Stream;

/**
 * This machine's CPU roofline, measured now rather than read from a data sheet: the memory
 * bandwidth of a STREAM triad and the throughput of a Vector API FMA loop. {@code gan bench}
 * measures it before its steps (their percent of peak) and {@code gan kernels bench} before its
 * kernels (their percent of bandwidth and FMA peak): one probe for both.
 *
 * <p>Triad: {@code a[i] = b[i] + s * c[i]} over three double arrays of 64 MiB each (well beyond
 * any last-level cache), split in one contiguous chunk per thread; the best of several
 * repetitions, each timed from a common start to the slowest thread's end. GB/s counts 24 bytes
 * per element (read b and c, write a), STREAM's convention: the write-allocate read of {@code a}
 * that a cache without streaming stores also makes is not counted (it would be 32 B/element).
 *
 * <p>The same triad over three arrays that together fill 3/8 of the last-level cache (sysfs'
 * size; skipped where it cannot be read) gives the cache's bandwidth: the ceiling of a call whose
 * bytes fit that cache, which JMH's back-to-back calls then read from it rather than from memory.
 *
 * <p>FMA: per thread, {@link #ACCUMULATORS} independent accumulators of the preferred float
 * species, each {@code acc = fma(acc, m, c)} per iteration: enough independent chains to hide the
 * FMA latency (4 cycles x 2 pipes on Zen 3 needs 8). GFLOP/s = 2 * lanes * FMAs / s, all threads;
 * measured on 1 thread and on each thread count asked for (a step on T threads is a percent of
 * the peak on T threads).
 *
 * <p>Memory: the triad's arrays are off the heap and freed when it ends. Before C2 compiles the
 * FMA loop its vectors are boxed objects, garbage by the million: under G1 that grows the heap
 * (about 1 GB resident after the probe, measured on two Zen 3 cores), under the serial collector
 * that {@code gan} runs with it does not (about 170 MB for the whole probe).
 *
 * <p>Run alone: {@code java --add-modules jdk.incubator.vector -cp java/target/jgan-engine.jar dev.jgan.gan.Roofline}
 *
 * @param threads          the threads the triads ran on, and the FMA thread count of {@link #fmaGflopPerS()}
 * @param lanes            float lanes per FMA vector
 * @param triadGbPerS      the best triad bandwidth, GB/s (10^9 B/s), 24 B/element
 * @param cacheBytes       the last-level cache's size, bytes (0: unknown)
 * @param cacheTriadGbPerS the best triad bandwidth within the last-level cache, GB/s (0: not measured)
 * @param fmaByThreads     the best FMA throughput, GFLOP/s (an FMA counts two), by thread count
 */
public record Roofline(int threads, int lanes, double triadGbPerS, long cacheBytes, double cacheTriadGbPerS,
                       SortedMap<Integer, Double> fmaByThreads) {
    /** Elements per triad array: 8 Mi doubles = 64 MiB each, 192 MiB in all. */
    static final int TRIAD_ELEMENTS = 8 << 20;
    /** Bytes the triad counts per element: read b, read c, write a (write-allocate not counted). */
    public static final int TRIAD_BYTES_PER_ELEMENT = 24;
    public static final int ACCUMULATORS = 12;
    /** FMA loop iterations per thread per repetition: 12 accumulators x 2^23 ~ 10^8 FMAs, ~20 ms a Zen 3 core. */
    static final long FMA_ITERATIONS = 1L << 23;
    static final int REPETITIONS = 6;
    /** The cache triad's repetitions: each is well under a millisecond, so the best of many. */
    static final int CACHE_REPETITIONS = 200;

    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    public Roofline {
        fmaByThreads = Collections.unmodifiableSortedMap(new TreeMap<>(fmaByThreads));
    }

    /**
     * The kernel lab's roofline on {@code threads} threads: the memory and the last-level cache
     * triads, and the FMA peak on 1 and on {@code threads} threads.
     */
    public static Roofline measure(int threads) {
        long cache = lastLevelCacheBytes();
        int cacheElements = Math.toIntExact(cache / 8 / Double.BYTES);   // 3 arrays: 3/8 of the cache
        double triad = triad(threads, TRIAD_ELEMENTS, REPETITIONS);
        double cacheTriad = cacheElements < 1024 ? 0 : triad(threads, cacheElements, CACHE_REPETITIONS);
        return new Roofline(threads, F.length(), triad, cache, cacheTriad, fmaPeaks(List.of(threads)));
    }

    /**
     * {@code gan bench}'s: the memory triad on every core, and the FMA peak on 1 thread and on each
     * of {@code fmaThreads} (no cache triad: a whole step's arithmetic is what it is compared with).
     * Under a second on two Zen 3 cores.
     */
    public static Roofline forSteps(Collection<Integer> fmaThreads) {
        int cores = Runtime.getRuntime().availableProcessors();
        return new Roofline(cores, F.length(), triad(cores, TRIAD_ELEMENTS, REPETITIONS), lastLevelCacheBytes(), 0,
                fmaPeaks(Stream.concat(fmaThreads.stream(), Stream.of(cores)).toList()));
    }

    /** The FMA peak on {@link #threads} threads, GFLOP/s. */
    public double fmaGflopPerS() { return fmaGflopPerS(threads); }

    /**
     * The FMA peak on {@code t} threads, GFLOP/s: measured on min(t, cores) (more threads than
     * cores share them), NaN where that was not measured.
     */
    public double fmaGflopPerS(int t) {
        Double g = fmaByThreads.get(Math.min(t, Runtime.getRuntime().availableProcessors()));
        return g == null ? Double.NaN : g;
    }

    /** The FMA loop's shape, e.g. "12 accumulators x 8 float lanes, Vector API fma". */
    public String fmaMethod() { return ACCUMULATORS + " accumulators x " + lanes + " float lanes, Vector API fma"; }

    /** The memory triad's, e.g. "2 threads, 3 x 64 MiB doubles, 24 B/element, write-allocate not counted". */
    public String triadMethod() {
        return threads + " threads, 3 x " + (TRIAD_ELEMENTS * 8L >> 20) + " MiB doubles, " + TRIAD_BYTES_PER_ELEMENT + " B/element, write-allocate not counted";
    }

    /** The FMA peaks in one phrase: "86.0 GFLOP/s on 1 thread, 171.9 on 2". */
    public String fmaPeaks() {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<Integer, Double> e : fmaByThreads.entrySet())
            b.append(b.isEmpty() ? String.format("%.1f GFLOP/s on %d thread%s", e.getValue(), e.getKey(), e.getKey() == 1 ? "" : "s")
                    : String.format(", %.1f on %d", e.getValue(), e.getKey()));
        return b.toString();
    }

    /** One line: the numbers and how they were measured. */
    public String describe() {
        String cache = cacheTriadGbPerS == 0 ? "" : String.format("; last-level cache (%d MiB) triad %.1f GB/s (3 x %.1f MiB)",
                cacheBytes >> 20, cacheTriadGbPerS, cacheBytes / 8.0 / (1 << 20));
        return String.format("memory triad %.1f GB/s (%s)%s; FMA %s (%s)", triadGbPerS, triadMethod(), cache, fmaPeaks(), fmaMethod());
    }

    /** The best FMA GFLOP/s on 1 thread and on each of {@code threads}, each capped at the cores. */
    static SortedMap<Integer, Double> fmaPeaks(Collection<Integer> threads) {
        int cores = Runtime.getRuntime().availableProcessors();
        SortedMap<Integer, Double> peaks = new TreeMap<>();
        peaks.put(1, fma(1));
        for (int t : threads) peaks.computeIfAbsent(Math.min(t, cores), Roofline::fma);
        return peaks;
    }

    /**
     * The best GB/s of {@code repetitions} triads over three arrays of {@code elements} doubles,
     * off the heap and freed on return (the probe leaves no resident memory behind it).
     */
    static double triad(int threads, int elements, int repetitions) {
        try (Arena arena = Arena.ofShared()) {
            long bytes = (long) elements * Double.BYTES;
            MemorySegment a = arena.allocate(bytes, 64), b = arena.allocate(bytes, 64), c = arena.allocate(bytes, 64);
            int chunk = Math.ceilDiv(elements, threads);
            // the arena zeroed them from this thread; b and c get values that keep the sums finite
            b.fill((byte) 0x3f);
            c.fill((byte) 0x3f);
            double seconds = parallelBest(threads, repetitions, t -> {
                int lo = t * chunk, hi = Math.min(elements, lo + chunk);
                triadChunk(a, b, c, 3.0, lo, hi);
                return a.getAtIndex(ValueLayout.JAVA_DOUBLE, lo);
            });
            return (double) TRIAD_BYTES_PER_ELEMENT * elements / seconds / 1e9;
        }
    }

    private static void triadChunk(MemorySegment a, MemorySegment b, MemorySegment c, double s, int lo, int hi) {
        int i = lo;
        DoubleVector vs = DoubleVector.broadcast(D, s);
        ByteOrder order = ByteOrder.nativeOrder();
        for (int upper = lo + D.loopBound(hi - lo); i < upper; i += D.length()) {
            long at = (long) i * Double.BYTES;
            DoubleVector.fromMemorySegment(D, c, at, order).fma(vs, DoubleVector.fromMemorySegment(D, b, at, order))
                    .intoMemorySegment(a, at, order);
        }
        for (; i < hi; i++)
            a.setAtIndex(ValueLayout.JAVA_DOUBLE, i, b.getAtIndex(ValueLayout.JAVA_DOUBLE, i) + s * c.getAtIndex(ValueLayout.JAVA_DOUBLE, i));
    }

    static double fma(int threads) { return fma(threads, FMA_ITERATIONS, REPETITIONS); }

    /** The best GFLOP/s of {@code repetitions} runs of {@code iterations} FMA loop iterations on each of {@code threads}. */
    static double fma(int threads, long iterations, int repetitions) {
        double seconds = parallelBest(threads, repetitions, t -> fmaLoop(iterations));
        return 2.0 * F.length() * ACCUMULATORS * iterations * threads / seconds / 1e9;
    }

    /** {@link #ACCUMULATORS} independent FMA chains; the sum is returned so the loop cannot be dropped. */
    static double fmaLoop(long iterations) {
        FloatVector m = FloatVector.broadcast(F, 0.999999f), c = FloatVector.broadcast(F, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(F, 1f), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3), a4 = a0.add(4), a5 = a0.add(5),
                a6 = a0.add(6), a7 = a0.add(7), a8 = a0.add(8), a9 = a0.add(9), a10 = a0.add(10), a11 = a0.add(11);
        for (long i = 0; i < iterations; i++) {
            a0 = a0.fma(m, c); a1 = a1.fma(m, c); a2 = a2.fma(m, c); a3 = a3.fma(m, c);
            a4 = a4.fma(m, c); a5 = a5.fma(m, c); a6 = a6.fma(m, c); a7 = a7.fma(m, c);
            a8 = a8.fma(m, c); a9 = a9.fma(m, c); a10 = a10.fma(m, c); a11 = a11.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11).reduceLanes(VectorOperators.ADD);
    }

    /**
     * The shortest of {@code repetitions} runs of {@code work} on every thread at once (thread t
     * gets t), each from the first thread's start to the last one's end. The threads read the
     * clock themselves: the caller may be descheduled while they run (all cores are busy).
     */
    private static double parallelBest(int threads, int repetitions, IntToDoubleFunction work) {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            double best = Double.POSITIVE_INFINITY, sink = 0;
            for (int r = 0; r < repetitions; r++) {
                CyclicBarrier start = new CyclicBarrier(threads);
                long[] begin = new long[threads], end = new long[threads];
                List<Future<Double>> done = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int id = t;
                    done.add(pool.submit(() -> {
                        start.await();
                        begin[id] = System.nanoTime();
                        double out = work.applyAsDouble(id);
                        end[id] = System.nanoTime();
                        return out;
                    }));
                }
                for (Future<Double> f : done) sink += f.get();
                long first = Long.MAX_VALUE, last = Long.MIN_VALUE;
                for (int t = 0; t < threads; t++) {
                    first = Math.min(first, begin[t]);
                    last = Math.max(last, end[t]);
                }
                best = Math.min(best, (last - first) / 1e9);
            }
            if (sink == 42.4242) System.out.print("");   // keeps the results alive
            return best;
        } catch (Exception e) {
            throw new IllegalStateException("roofline measurement failed: " + e, e);
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * The size of the last-level cache (the highest level under /sys/devices/system/cpu/cpu0/cache),
     * bytes; 0 where it cannot be read. A call whose bytes fit it can be served from it between calls.
     */
    public static long lastLevelCacheBytes() {
        Path dir = Path.of("/sys/devices/system/cpu/cpu0/cache");
        long best = 0;
        int bestLevel = 0;
        try (Stream<Path> caches = Files.list(dir)) {
            for (Path c : caches.filter(p -> p.getFileName().toString().startsWith("index")).toList()) {
                int level = Integer.parseInt(Files.readString(c.resolve("level")).trim());
                String size = Files.readString(c.resolve("size")).trim();
                long bytes = size.endsWith("K") ? Long.parseLong(size.substring(0, size.length() - 1)) << 10
                        : size.endsWith("M") ? Long.parseLong(size.substring(0, size.length() - 1)) << 20 : Long.parseLong(size);
                if (level > bestLevel) {
                    bestLevel = level;
                    best = bytes;
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;   // not Linux, or no cache description: no hint
        }
        return best;
    }

    public static void main(String[] args) {
        System.out.println("roofline: " + measure(Runtime.getRuntime().availableProcessors()).describe());
    }
}
