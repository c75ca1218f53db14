package dev.jgan.cuda;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Packing: natural alignment in declaration order, little-endian, as the C compiler lays out parameters. */
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
    void adamTableMatchesTheStructInKernelsAdamCu() {
        // JganAdamTable: int, pad, int64[49], int64[48], 4 pointer arrays of 48: the emulation reports {2320:8}
        assertEquals(2320, Kernels.ADAM_TABLE_BYTES);
    }
}
