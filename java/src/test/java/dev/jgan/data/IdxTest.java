package dev.jgan.data;

import dev.jgan.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.*;

class IdxTest {
    @TempDir Path dir;

    static byte[] pixels(int n) {
        byte[] p = new byte[n];
        for (int i = 0; i < n; i++) p[i] = (byte) (i * 37);
        return p;
    }

    /** Raw IDX bytes: magic, dims, then payload, exactly as given (so tests can lie). */
    static byte[] idx(int magic, int[] dims, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + payload.length).putInt(magic);
        for (int d : dims) b.putInt(d);
        return b.put(payload).array();
    }

    static byte[] gzip(byte[] raw) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(out)) {
            g.write(raw);
        }
        return out.toByteArray();
    }

    @Test void roundTripPlainAndGzip() {
        byte[] px = pixels(3 * 5 * 4);
        for (boolean gz : new boolean[] {false, true}) {
            Path f = dir.resolve("imgs" + gz);
            Idx.writeImages(f, px, 3, 5, 4, gz);
            Idx.Images im = Idx.readImages(f);
            assertEquals(3, im.n());
            assertEquals(5, im.h());
            assertEquals(4, im.w());
            assertArrayEquals(px, im.pixels());
            Path l = dir.resolve("labels" + gz);
            Idx.writeLabels(l, new int[] {0, 9, 255}, gz);
            assertArrayEquals(new int[] {0, 9, 255}, Idx.readLabels(l));
        }
    }

    @Test void compressionIsDetectedByContentNotName() throws IOException {
        byte[] raw = idx(Idx.IMAGES_U8, new int[] {1, 2, 2}, new byte[] {1, 2, 3, 4});
        Path gzNamedPlain = dir.resolve("train-images-idx3-ubyte");
        Files.write(gzNamedPlain, gzip(raw));
        assertArrayEquals(new byte[] {1, 2, 3, 4}, Idx.readImages(gzNamedPlain).pixels());
        Path plainNamedGz = dir.resolve("train-images-idx3-ubyte.gz");
        Files.write(plainNamedGz, raw);
        assertArrayEquals(new byte[] {1, 2, 3, 4}, Idx.readImages(plainNamedGz).pixels());
    }

    @Test void writeFloatsMapsBackToBytes() {
        float[] x = {-1f, 1f, 0f, -0.5f, 5f, Float.NaN};
        Path f = dir.resolve("samples-idx3-ubyte");
        Idx.writeImages(f, x, 1, 2, 3, false);
        assertArrayEquals(new byte[] {0, (byte) 255, (byte) 128, 64, (byte) 255, 0}, Idx.readImages(f).pixels());
        // loading is the inverse on the 8-bit grid
        for (int u = 0; u < 256; u++) {
            Idx.writeImages(f, new float[] {Dataset.unit(u)}, 1, 1, 1, false);
            assertEquals(u, Idx.readImages(f).pixels()[0] & 0xFF);
        }
    }

    @Test void wrongMagic() throws IOException {
        Path f = dir.resolve("f");
        Files.write(f, idx(Idx.LABELS_U8, new int[] {3}, new byte[3]));
        assertBad(f, () -> Idx.readImages(f), "magic 0x00000801 means rank 1, but an IDX image file has rank 3 (magic 0x00000803)");
        Files.write(f, idx(Idx.IMAGES_U8, new int[] {1, 1, 1}, new byte[1]));
        assertBad(f, () -> Idx.readLabels(f), "magic 0x00000803 means rank 3, but an IDX label file has rank 1 (magic 0x00000801)");
        Files.write(f, idx(0x00000D03, new int[] {1, 1, 1}, new byte[4]));
        assertBad(f, () -> Idx.readImages(f), "magic 0x00000D03 is not an unsigned-byte IDX image file (expected 0x00000803)");
        Files.write(f, "<html>404 Not Found</html>".getBytes());
        assertBad(f, () -> Idx.readImages(f), "magic 0x3C68746D is not an unsigned-byte IDX image file");
    }

    @Test void truncatedAndTrailing() throws IOException {
        Path f = dir.resolve("f");
        byte[] good = idx(Idx.IMAGES_U8, new int[] {2, 3, 3}, pixels(18));
        Files.write(f, Arrays.copyOf(good, good.length - 5));
        assertBad(f, () -> Idx.readImages(f), "dimensions (2, 3, 3) need 18 bytes of data but the file has 13 (truncated)");
        Files.write(f, Arrays.copyOf(good, good.length + 2));
        assertBad(f, () -> Idx.readImages(f), "dimensions (2, 3, 3) need 18 bytes of data but the file has 20 (trailing bytes)");
        Files.write(f, Arrays.copyOf(good, 9));
        assertBad(f, () -> Idx.readImages(f), "the file ends inside the header (truncated)");
        Files.write(f, new byte[] {0, 0});
        assertBad(f, () -> Idx.readImages(f), "the file is too short to hold an IDX header (2 bytes)");

        // the same inside a complete gzip stream
        Files.write(f, gzip(Arrays.copyOf(good, good.length - 5)));
        assertBad(f, () -> Idx.readImages(f), "need 18 bytes of data but the file has 13 (truncated)");
        Files.write(f, gzip(Arrays.copyOf(good, good.length + 7)));
        assertBad(f, () -> Idx.readImages(f), "need 18 bytes of data but the file has 25 (trailing bytes)");
    }

    @Test void truncatedOrCorruptGzip() throws IOException {
        Path f = dir.resolve("f.gz");
        byte[] gz = gzip(idx(Idx.IMAGES_U8, new int[] {50, 10, 10}, pixels(5000)));
        Files.write(f, Arrays.copyOf(gz, gz.length / 2));
        assertBad(f, () -> Idx.readImages(f), "the compressed data ends early (truncated file?)");
        byte[] bad = gz.clone();
        for (int i = 20; i < 60; i++) bad[i] ^= (byte) 0x5A;
        Files.write(f, bad);
        UserError e = assertThrows(UserError.class, () -> Idx.readImages(f));
        assertTrue(e.getMessage().startsWith("IDX file " + f + " is invalid: "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test void badDimensions() throws IOException {
        Path f = dir.resolve("f");
        Files.write(f, idx(Idx.IMAGES_U8, new int[] {0, 28, 28}, new byte[0]));
        assertBad(f, () -> Idx.readImages(f), "dimension 0 is 0, must be positive");
        Files.write(f, idx(Idx.IMAGES_U8, new int[] {-1, 28, 28}, new byte[0]));
        assertBad(f, () -> Idx.readImages(f), "dimension 0 is 4294967295, must be positive");
        Files.write(f, idx(Idx.IMAGES_U8, new int[] {60000, 28000, 28000}, new byte[0]));
        assertBad(f, () -> Idx.readImages(f), "dimensions (60000, 28000, 28000) are too large");
        // a gzip file whose header promises far more than deflate could hold: refused before allocating
        Files.write(f, gzip(idx(Idx.IMAGES_U8, new int[] {60000, 100, 100}, new byte[10])));
        assertBad(f, () -> Idx.readImages(f), "dimensions (60000, 100, 100) cannot fit in a");
    }

    @Test void missingFile() {
        Path f = dir.resolve("nope-idx3-ubyte");
        assertEquals("IDX file " + f + " not found", assertThrows(UserError.class, () -> Idx.readImages(f)).getMessage());
    }

    private static void assertBad(Path f, Executable read, String reason) {
        UserError e = assertThrows(UserError.class, read);
        String prefix = "IDX file " + f + " is invalid: ";
        assertTrue(e.getMessage().startsWith(prefix) && e.getMessage().contains(reason), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
}
