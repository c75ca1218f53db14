package dev.jgan.bench.lab;

import dev.jgan.gan.Roofline;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One variant's result at one call and shape: its median time per call and what that is in
 * GB/s and GFLOP/s of the op's compulsory traffic and arithmetic ({@link BenchOp.Traffic}), and
 * in percent of the machine's roofline measured at the start of the run. Above 100% is not a
 * fast kernel but a measurement bug (a wrong bytes model, a result served from cache, a call
 * that did not run): flagged.
 *
 * @param seconds median seconds per call
 * @param samples how many samples the median is of
 */
public record Measurement(String variant, String call, String shape, double seconds, int samples,
                          double bytes, double flops, Peaks peaks) {

    /**
     * The machine's roofline as measured at the start of the run.
     *
     * @param gbPerS          memory bandwidth, GB/s
     * @param gflopPerS       FMA throughput, GFLOP/s
     * @param bandwidthMethod how the bandwidth was measured (STREAM triad, device-to-device copy)
     * @param flopsMethod     how the FMA throughput was measured (FMA loop, GEMM)
     * @param cacheBytes      the cache that back-to-back calls may be served from (0: none, as the GPU's L2 is flushed)
     * @param cacheGbPerS     that cache's bandwidth (0: not measured): the ceiling of a call whose bytes fit it
     */
    public record Peaks(double gbPerS, double gflopPerS, String bandwidthMethod, String flopsMethod, long cacheBytes, double cacheGbPerS) {
        /** A roofline with no cache that calls may be served from (the GPU's: its L2 is flushed between repetitions). */
        public Peaks(double gbPerS, double gflopPerS, String bandwidthMethod, String flopsMethod) {
            this(gbPerS, gflopPerS, bandwidthMethod, flopsMethod, 0, 0);
        }

        /** The CPU's: JMH calls the op back to back, so a call whose bytes fit the last-level cache reads them from there. */
        public static Peaks of(Roofline r) {
            return new Peaks(r.triadGbPerS(), r.fmaGflopPerS(), "STREAM triad, " + r.threads() + " threads, 24 B/element, write-allocate not counted",
                    "Vector API FMA loop, " + r.threads() + " threads x " + Roofline.ACCUMULATORS + " accumulators x " + r.lanes() + " float lanes",
                    r.cacheBytes(), r.cacheTriadGbPerS());
        }
    }

    /**
     * Whether one call's bytes fit in half the cache that back-to-back calls are served from (the
     * rest holds everything else: a call as large as the whole cache streams from memory); its
     * ceiling is then that cache's bandwidth.
     */
    public boolean fitsCache() { return peaks.cacheBytes() > 0 && peaks.cacheGbPerS() > 0 && bytes <= peaks.cacheBytes() / 2; }

    /** The bandwidth ceiling of this call: the cache's where its bytes fit it, else memory's. */
    public double bandwidthRoof() { return fitsCache() ? peaks.cacheGbPerS() : peaks.gbPerS(); }

    public double gbPerS() { return bytes / seconds / 1e9; }

    public double gflopPerS() { return flops / seconds / 1e9; }

    /** Percent of this call's bandwidth ceiling ({@link #bandwidthRoof}). */
    public double percentBandwidth() { return 100 * gbPerS() / bandwidthRoof(); }

    /** Percent of FMA peak; NaN where the op's arithmetic is not modelled. */
    public double percentFma() { return flops == 0 ? Double.NaN : 100 * gflopPerS() / peaks.gflopPerS(); }

    /** Above the roofline: the numbers cannot be right. */
    public boolean aboveRoofline() {
        return percentBandwidth() > 100 || (!Double.isNaN(percentFma()) && percentFma() > 100);
    }

    /** A row of the printed table, the variant named {@code label}. */
    public String row(String label) {
        String fma = flops == 0 ? String.format("%9s %6s", "-", "-") : String.format("%9.2f %5.1f%%", gflopPerS(), percentFma());
        return String.format("%-10s %-14s %-22s %11s %9.2f %5.1f%%%s %s%s", call, shape, label, time(seconds), gbPerS(), percentBandwidth(),
                fitsCache() ? "c" : " ", fma, aboveRoofline() ? "  <- above the roofline: measurement bug?" : "");
    }

    public static String header() {
        return String.format("%-10s %-14s %-22s %11s %9s %7s %9s %6s", "call", "shape", "variant", "time/call", "GB/s", "%bw", "GFLOP/s", "%fma");
    }

    /** A time in the unit that keeps three or four digits. */
    static String time(double seconds) {
        if (seconds < 1e-3) return String.format("%.2f us", seconds * 1e6);
        if (seconds < 1) return String.format("%.3f ms", seconds * 1e3);
        return String.format("%.3f s", seconds);
    }

    /** The JSON line's fields for this result (the run's context is added by {@link ResultLog}). */
    public Map<String, Object> fields() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("variant", variant);
        m.put("call", call);
        m.put("shape", shape);
        m.put("time_us", seconds * 1e6);
        m.put("samples", samples);
        m.put("bytes_per_call", bytes);
        m.put("flops_per_call", flops);
        m.put("gb_per_s", gbPerS());
        m.put("percent_bandwidth", percentBandwidth());
        m.put("gflop_per_s", flops == 0 ? null : gflopPerS());
        m.put("percent_fma", flops == 0 ? null : percentFma());
        m.put("above_roofline", aboveRoofline());
        m.put("bandwidth_roof", fitsCache() ? "last-level cache" : "memory");
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("gb_per_s", peaks.gbPerS());
        r.put("bandwidth_method", peaks.bandwidthMethod());
        r.put("gflop_per_s", peaks.gflopPerS());
        r.put("flops_method", peaks.flopsMethod());
        r.put("cache_bytes", peaks.cacheBytes());
        r.put("cache_gb_per_s", peaks.cacheGbPerS());
        m.put("roofline", r);
        return m;
    }
}
