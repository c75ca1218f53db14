package dev.jgan.cuda;

import dev.jgan.cuda.emulated.EmulatedLauncher;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The emulation against the device's documented behaviour (CUDA Programming Guide, warp shuffle
 * functions; PTX shfl.sync), with native/emu_selftest.cu in libjgan_emu_selftest.so: shuffles in
 * every mode and width, ballots, float/int/double atomics across parallel blocks, deadlock report.
 */
class EmulationSelfTest {
    private static EmulatedLauncher launcher;

    @BeforeAll
    static void load() {
        Path lib = Emulation.buildDir().resolve("libjgan_emu_selftest.so");
        if (!Files.isRegularFile(lib))
            Emulation.unavailable("the emulation self-test library " + lib + " was not built (" + Emulation.missingTools("cmake", "g++") + ")");
        launcher = EmulatedLauncher.load(lib);
    }

    @ParameterizedTest(name = "delta {0}, width {1}")
    @CsvSource({"1, 32", "16, 32", "3, 8", "5, 8", "1, 2", "31, 32", "0, 32"})
    void shufflesFollowThePtxRules(int delta, int width) {
        MemorySegment out = Arena.ofAuto().allocate(4L * 4 * 32, 16);
        launcher.launch("selftest_shuffle_forward", Dim3.of(1), Dim3.of(32), 0,
                KernelArgs.builder().pointer(out.address()).i32(delta).i32(width).build());
        for (int lane = 0; lane < 32; lane++) {
            int first = lane & ~(width - 1), last = first + width - 1;
            int down = lane + delta <= last ? lane + delta : lane;
            int xor = (lane ^ delta) <= last ? lane ^ delta : lane;  // earlier segments are readable, later ones not
            int up = lane - delta >= first ? lane - delta : lane;
            int idx = first + (delta & (width - 1));
            int[] expected = {100 + down, 100 + xor, 100 + up, 100 + idx};
            for (int mode = 0; mode < 4; mode++)
                assertEquals(expected[mode], out.getAtIndex(ValueLayout.JAVA_INT, 4L * lane + mode),
                        new String[] {"down", "xor", "up", "idx"}[mode] + " at lane " + lane);
        }
    }

    @Test
    void ballotCollectsThePredicateOfEachLane() {
        MemorySegment out = Arena.ofAuto().allocate(4L * 3, 16);
        launcher.launch("selftest_ballot_forward", Dim3.of(1), Dim3.of(96), 0, KernelArgs.builder().pointer(out.address()).build());
        for (int w = 0; w < 3; w++) {
            int expected = 0;
            for (int lane = 0; lane < 32; lane++) if ((32 * w + lane) % 3 == 0) expected |= 1 << lane;
            assertEquals(expected, out.getAtIndex(ValueLayout.JAVA_INT, w), "warp " + w);
        }
    }

    /** 500 blocks of 64 threads on all workers at once: no update is lost. */
    @Test
    void atomicsAreAtomicAcrossParallelBlocks() {
        MemorySegment m = Arena.ofAuto().allocate(32, 16);
        launcher.launch("selftest_atomic_forward", Dim3.of(500), Dim3.of(64), 0, KernelArgs.builder()
                .pointer(m.address()).pointer(m.address() + 4).pointer(m.address() + 8).build());
        assertEquals(32000f, m.get(ValueLayout.JAVA_FLOAT, 0));
        assertEquals(32000, m.get(ValueLayout.JAVA_INT, 4));
        assertEquals(16000.0, m.get(ValueLayout.JAVA_DOUBLE, 8));
    }

    @Test
    void aBarrierNobodyCanPassIsReportedAsADeadlock() {
        MemorySegment out = Arena.ofAuto().allocate(4L * 32, 16);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> launcher.launch("selftest_deadlock_forward",
                Dim3.of(1), Dim3.of(32), 0, KernelArgs.builder().pointer(out.address()).build()));
        assertTrue(e.getMessage().contains("deadlock"), e.getMessage());
        // the library goes on working after it
        blockSumsOfManyBlocks();
    }

    @Test
    void blockSumsOfManyBlocks() {
        MemorySegment in = Arena.ofAuto().allocate(4L * 256, 16), out = Arena.ofAuto().allocate(4L * 64, 16);
        for (int i = 0; i < 256; i++) in.setAtIndex(ValueLayout.JAVA_FLOAT, i, i);
        launcher.launch("selftest_block_sum_forward", Dim3.of(64), Dim3.of(256), 0,
                KernelArgs.builder().pointer(in.address()).pointer(out.address()).build());
        for (int b = 0; b < 64; b++) assertEquals(255f * 256 / 2, out.getAtIndex(ValueLayout.JAVA_FLOAT, b), "block " + b);
    }
}
