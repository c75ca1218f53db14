package dev.jgan.gan;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The probe measures something (no speed is asserted: only that the numbers exist and are
 * positive), on small sizes to keep the suite quick (`gan bench`'s tests run the full probe);
 * a step's thread count finds its peak; the process's peak memory is read.
 */
class RooflineTest {
    @Test
    void theProbesLoopsReturnPositiveNumbers() {
        int cores = Runtime.getRuntime().availableProcessors();
        assertTrue(Roofline.triad(cores, 1 << 16, 2) > 0, "triad GB/s");
        assertTrue(Roofline.fma(1, 1 << 12, 2) > 0, "FMA GFLOP/s on 1 thread");
        assertTrue(Roofline.fma(cores, 1 << 12, 2) > 0, "FMA GFLOP/s on every core");
    }

    @Test
    void aThreadCountFindsItsPeak() {
        int cores = Runtime.getRuntime().availableProcessors();
        Map<Integer, Double> fma = new TreeMap<>(Map.of(1, 50.0, cores, 40.0 + 10 * cores));
        Roofline r = new Roofline(cores, 8, 30, 32 << 20, 0, new TreeMap<>(fma));
        assertEquals(50, r.fmaGflopPerS(1));
        assertEquals(40 + 10 * cores, r.fmaGflopPerS(), "the peak on the triad's threads, every core");
        assertEquals(r.fmaGflopPerS(cores), r.fmaGflopPerS(cores + 3), "more threads than cores share them: the peak on every core");
        assertTrue(Double.isNaN(r.fmaGflopPerS(0)), "a thread count not measured has no peak");
        assertTrue(r.describe().contains("FMA 50.0 GFLOP/s on 1 thread"), r.describe());
    }

    @Test
    void thePeakResidentMemoryIsRead() {
        assertTrue(Machine.peakResidentBytes() > 1 << 20, "a JVM holds more than a MiB (Linux: VmHWM): " + Machine.peakResidentBytes());
    }
}
