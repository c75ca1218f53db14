package dev.jgan.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

class NpyTest {
    @TempDir Path dir;

    @Test void headerAndDataFollowTheSpec() throws IOException {
        float[] data = {1f, -2.5f, Float.NaN, 0f, 3e-8f, 7f};
        Path f = dir.resolve("samples.npy");
        Npy.write(f, data, new int[] {2, 3});
        byte[] b = Files.readAllBytes(f);
        assertArrayEquals(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}, Arrays.copyOf(b, 8));
        int hlen = ByteBuffer.wrap(b, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xFFFF;
        assertEquals(0, (10 + hlen) % 64, "data is 64-byte aligned");
        String header = new String(b, 10, hlen, StandardCharsets.US_ASCII);
        assertTrue(header.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"), header);
        assertTrue(header.endsWith("\n"));
        assertEquals(10 + hlen + 4 * data.length, b.length);
        ByteBuffer d = ByteBuffer.wrap(b, 10 + hlen, 4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : data) assertEquals(Float.floatToRawIntBits(x), Float.floatToRawIntBits(d.getFloat()));
    }

    @Test void oneDimensionalShapeIsAOneTuple() {
        String h = new String(Npy.header(new int[] {5}, 5), StandardCharsets.US_ASCII);
        assertTrue(h.contains("'shape': (5,), }"), h);
        String h3 = new String(Npy.header(new int[] {64, 1, 28, 28}, 64 * 784), StandardCharsets.US_ASCII);
        assertTrue(h3.contains("'shape': (64, 1, 28, 28), }"), h3);
    }

    @Test void aShapeThatDoesNotMatchTheDataIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> Npy.write(dir.resolve("x.npy"), new float[5], new int[] {2, 3}));
    }
}
