package dev.jgan.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * NumPy {@code .npy} files, format version 1.0: the magic {@code \x93NUMPY}, version bytes 1 0, a
 * little-endian u16 header length, and an ASCII dict {@code {'descr': '<f4', 'fortran_order':
 * False, 'shape': (..), }} padded with spaces and a final newline so that the data starts at a
 * multiple of 64 bytes; then the float32 data, little-endian, C order. {@code numpy.load} reads it.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    private static final int ALIGN = 64;
    private static final int CHUNK_FLOATS = 1 << 14;

    private Npy() {}

    /** Writes {@code data} with {@code shape} (row-major) as a float32 .npy file, atomically. */
    public static void write(Path file, float[] data, int[] shape) {
        byte[] header = header(shape, data.length);
        AtomicFiles.write(file, out -> {
            out.write(header);
            ByteBuffer chunk = ByteBuffer.allocate(CHUNK_FLOATS * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < data.length; i += CHUNK_FLOATS) {
                int m = Math.min(CHUNK_FLOATS, data.length - i);
                chunk.clear();
                chunk.asFloatBuffer().put(data, i, m);
                out.write(chunk.array(), 0, m * Float.BYTES);
            }
        });
    }

    /** Magic, version, length and the padded dict: everything before the data. */
    static byte[] header(int[] shape, int count) {
        long n = 1;
        StringBuilder tuple = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) throw new IllegalArgumentException("negative dimension " + shape[i]);
            n *= shape[i];
            tuple.append(i == 0 ? "" : ", ").append(shape[i]);
        }
        if (shape.length == 1) tuple.append(',');  // Python's one-element tuple
        tuple.append(')');
        if (n != count) throw new IllegalArgumentException("shape needs " + n + " floats, got " + count);
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + tuple + ", }";
        int unpadded = MAGIC.length + 2 + dict.length() + 1;  // + 1: the final '\n'
        int total = (unpadded + ALIGN - 1) / ALIGN * ALIGN;
        String text = dict + " ".repeat(total - unpadded) + "\n";
        ByteBuffer b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putShort((short) text.length()).put(text.getBytes(StandardCharsets.US_ASCII));
        return b.array();
    }
}
