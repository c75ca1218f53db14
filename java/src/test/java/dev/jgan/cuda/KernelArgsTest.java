package dev.jgan.cuda;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Packing: natural alignment in declaration order, little-endian, as the C compiler lays out
 * parameters; a launch site's arguments laid out once and rewritten in place by every launch.
 */
class KernelArgsTest {
    @Test
    void eachArgumentAtItsNaturalAlignment() {
        KernelArgs a = KernelArgs.builder().f32(1.5f).pointer(0x1000L).i32(7).f32(2f).i64(-3L).i32(9)
                .struct(new byte[12], 4).struct(new byte[16], 8).build();
        assertEquals("fpifli{12:4}{16:8}", a.signature());
        int[] expected = {0, 8, 16, 20, 24, 32, 36, 48};
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], a.offset(i), "offset of argument " + i);
        assertEquals(64, a.size());
        ByteBuffer b = ByteBuffer.wrap(a.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1.5f, b.getFloat(0));
        assertEquals(0x1000L, b.getLong(8));
        assertEquals(7, b.getInt(16));
        assertEquals(-3L, b.getLong(24));
    }

    @Test
    void aSiteKeepsItsLayoutAndBufferAndTakesNewValuesEachLaunch() {
        KernelArgs site = KernelArgs.site("a_kernel");
        site.start().pointer(0x1000L).i32(7).f32(2f).i64(-3L).build();
        assertEquals("pifl", site.signature());
        ByteBuffer values = site.values();
        assertTrue(values.isDirect(), "native memory a launcher can point into");
        assertEquals(0, MemorySegment.ofBuffer(values).address() % 16, "aligned for any argument");
        site.start().pointer(0x2000L).i32(8).f32(-1f).i64(5L).build();
        assertSame(values, site.values(), "the same buffer: kernelParams prepared once stay valid");
        ByteBuffer b = ByteBuffer.wrap(site.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x2000L, b.getLong(0));
        assertEquals(8, b.getInt(8));
        assertEquals(-1f, b.getFloat(12));
        assertEquals(5L, b.getLong(16));
        assertEquals("pifl", site.signature());

        KernelArgs before = site.snapshot();
        site.start().pointer(0x3000L).i32(9).f32(0f).i64(6L).build();
        assertEquals(0x2000L, ByteBuffer.wrap(before.bytes()).order(ByteOrder.LITTLE_ENDIAN).getLong(0), "a snapshot keeps its values");

        // every later launch must make the same calls as the first
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> site.start().pointer(1).f32(1f));
        assertTrue(e.getMessage().contains("argument 1 is not f"), e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> site.start().pointer(1).i32(1).build());
        assertTrue(e.getMessage().contains("2 of 4 written"), e.getMessage());
        site.start().pointer(1).i32(1).f32(1f).i64(1).build(); // a failed launch leaves the site usable
    }

    @Test
    void aFirstLaunchThatFailsHalfWayLaysOutAgain() {
        KernelArgs site = KernelArgs.site("a_kernel");
        site.start().pointer(1).i32(2);                       // e.g. a precondition threw here
        site.start().pointer(1).i64(2).f32(3f).build();
        assertEquals("plf", site.signature());
        assertArrayEquals(new int[] {0, 8, 16}, new int[] {site.offset(0), site.offset(1), site.offset(2)});
    }

    @Test
    void aStructIsZeroedAndWrittenInPlace() {
        KernelArgs site = KernelArgs.site("a_kernel");
        int at = site.start().i32(1).struct(24, 8);
        assertEquals(8, at);
        site.putInt(at, 5).putLong(at + 8, 6L).f32(7f).build();
        assertEquals("i{24:8}f", site.signature());
        int again = site.start().i32(1).struct(24, 8);
        site.putInt(again, 9).f32(7f).build();
        ByteBuffer b = ByteBuffer.wrap(site.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(9, b.getInt(8));
        assertEquals(0L, b.getLong(16), "a field not written this launch is zero, as a fresh struct");
        assertEquals(7f, b.getFloat(32));
    }

    @Test
    void adamTableMatchesTheStructInKernelsAdamCu() {
        // JganAdamTable: int, pad, int64[49], int64[48], 4 pointer arrays of 48: the emulation reports {2320:8}
        assertEquals(2320, Kernels.ADAM_TABLE_BYTES);
    }
}
