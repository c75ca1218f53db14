package dev.jgan.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPOutputStream;

/** Test helper: writes a ustar .tgz like `npm pack` does (regular files, names under 100 bytes). */
final class TarWriter {
    private final ByteArrayOutputStream tar = new ByteArrayOutputStream();

    TarWriter file(String name, byte[] content) {
        byte[] h = new byte[512];
        put(h, 0, name);
        put(h, 100, "0000644\0");
        put(h, 108, "0000000\0");
        put(h, 116, "0000000\0");
        put(h, 124, String.format("%011o\0", content.length));
        put(h, 136, "00000000000\0");
        h[156] = '0';
        put(h, 257, "ustar\0");
        put(h, 263, "00");
        for (int i = 148; i < 156; i++) h[i] = ' ';
        long sum = 0;
        for (byte b : h) sum += b & 0xFF;
        put(h, 148, String.format("%06o\0 ", sum));
        tar.writeBytes(h);
        tar.writeBytes(content);
        tar.writeBytes(new byte[(512 - content.length % 512) % 512]);
        return this;
    }

    TarWriter file(String name, String content) { return file(name, content.getBytes(StandardCharsets.UTF_8)); }

    void writeTgz(OutputStream out) throws IOException {
        tar.writeBytes(new byte[1024]);
        try (GZIPOutputStream g = new GZIPOutputStream(out)) {
            tar.writeTo(g);
        }
    }

    private static void put(byte[] h, int off, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, h, off, b.length);
    }
}
