package dev.jgan.gan;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The peak-memory mark gan bench reads and resets around its steps. */
class MachineTest {
    private static final long MB = 1_000_000;

    /**
     * 256 MB touched and freed raise the peak by about that much; after the reset the peak is
     * what is resident now, so it falls back by most of it (half is the margin for what the
     * JVM allocates meanwhile).
     */
    @Test
    void resetStartsThePeakFromWhatIsResidentNow() {
        assumeTrue(Machine.peakResidentBytes() > 0, "no VmHWM (not Linux)");
        assumeTrue(Machine.resetPeakResident(), "no /proc/self/clear_refs");
        long before = Machine.peakResidentBytes();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(256 * MB);
            s.fill((byte) 1);   // resident: every page written
        }
        long raised = Machine.peakResidentBytes();
        assertTrue(raised - before > 200 * MB, "peak " + before / MB + " -> " + raised / MB + " MB after touching 256 MB");
        assertTrue(Machine.resetPeakResident());
        long reset = Machine.peakResidentBytes();
        assertTrue(raised - reset > 128 * MB, "peak after the reset " + reset / MB + " MB, before it " + raised / MB + " MB");
    }
}
