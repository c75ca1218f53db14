package dev.jgan.backend;

import dev.jgan.random.Philox;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Philox 4x32-10 against the Random123 known-answer vectors (kat_vectors, philox4x32 with 10 rounds). */
class PhiloxTest {

    static void kat(int[] counter, int[] key, int[] expected) {
        int[] out = new int[4];
        Philox.block(counter[0], counter[1], counter[2], counter[3], key[0], key[1], out);
        assertArrayEquals(expected, out, () -> String.format("philox4x32-10 got %08x %08x %08x %08x", out[0], out[1], out[2], out[3]));
    }

    @Test
    void zeroCounterZeroKey() {
        kat(new int[] {0, 0, 0, 0}, new int[] {0, 0}, new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
    }

    @Test
    void allOnes() {
        kat(new int[] {-1, -1, -1, -1}, new int[] {-1, -1}, new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
    }

    @Test
    void digitsOfPi() {
        kat(new int[] {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, new int[] {0xa4093822, 0x299f31d0},
                new int[] {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
    }

    /** block(seed, b): counter (lo32(b), hi32(b), 0, 0), key (lo32(seed), hi32(seed)). */
    @Test
    void longFormSplitsCounterAndKey() {
        int[] a = new int[4], b = new int[4];
        long seed = 0x0123456789abcdefL, block = 0x00000005_fffffffeL;
        Philox.block(seed, block, a);
        Philox.block(0xfffffffe, 0x5, 0, 0, 0x89abcdef, 0x01234567, b);
        assertArrayEquals(b, a);
    }

    @Test
    void uniformIsInHalfOpenUnitInterval() {
        assertEquals(0x1p-24f, Philox.uniform(0));
        assertEquals(0x1p-24f, Philox.uniform(0xff));
        assertEquals(1f, Philox.uniform(-1));
        assertEquals(0.5f, Philox.uniform(0x7fffff00));
        assertTrue(Philox.uniform(0x80000000) > 0.5f);
    }

    @Test
    void normalIsBoxMullerOfTheWordPair() {
        int[] w = {0x7fffff00, 0, 0xffffff00, 0x3fffff00}; // u = (0.5, 2^-24) and (1, 0.25)
        double r = Math.sqrt(-2 * Math.log(0.5)), theta = 2 * Math.PI * 0x1p-24;
        assertEquals((float) (r * Math.cos(theta)), Philox.normal(w, 0));
        assertEquals((float) (r * Math.sin(theta)), Philox.normal(w, 1));
        assertEquals(0.0, Philox.normal(w, 2), 0.0); // r = sqrt(-2 ln 1) = (-)0
        assertEquals(0.0, Philox.normal(w, 3), 0.0);
    }
}
