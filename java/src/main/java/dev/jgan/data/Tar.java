package dev.jgan.data;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Predicate;

/**
 * The smallest tar reader that unpacks an npm package: ustar headers (name, prefix, size,
 * type), PAX extended headers for long paths, GNU long names; regular files are handed to the
 * caller, everything else is skipped. Entry names are passed through as written: the caller
 * decides which to keep and where to write them, so a hostile name cannot escape a directory.
 */
final class Tar {
    private static final int BLOCK = 512;

    private Tar() {}

    @FunctionalInterface
    interface FileHandler {
        /** Called for each regular file; {@code content} is its complete bytes. */
        void file(String name, byte[] content) throws IOException;
    }

    /** Reads every entry of an (uncompressed) tar stream, calling {@code handler} for files {@code wanted} by name. */
    static void read(InputStream in, Predicate<String> wanted, FileHandler handler) throws IOException {
        byte[] header = new byte[BLOCK];
        String longName = null;
        while (true) {
            int got = in.readNBytes(header, 0, BLOCK);
            if (got == 0) return;  // some writers omit the two zero blocks at the end
            if (got < BLOCK) throw new EOFException("tar header cut short");
            if (isZero(header)) return;
            if (!checksumOk(header)) throw new IOException("tar header checksum mismatch");
            long size = octal(header, 124, 12);
            char type = (char) header[156];
            String name = longName != null ? longName : name(header);
            longName = null;
            long padded = (size + BLOCK - 1) / BLOCK * BLOCK;
            if (type == 'x' || type == 'L') {
                byte[] body = readExactly(in, size);
                skip(in, padded - size);
                longName = type == 'L' ? cString(body, 0, body.length) : paxPath(body);
            } else if ((type == '0' || type == '\0') && wanted.test(name)) {
                if (size > Integer.MAX_VALUE - 8) throw new IOException("tar entry " + name + " is too large");
                byte[] body = readExactly(in, size);
                skip(in, padded - size);
                handler.file(name, body);
            } else {
                skip(in, padded);
            }
        }
    }

    private static String name(byte[] h) {
        String name = cString(h, 0, 100);
        boolean ustar = h[257] == 'u' && h[258] == 's' && h[259] == 't' && h[260] == 'a' && h[261] == 'r';
        String prefix = ustar ? cString(h, 345, 155) : "";
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    /** The "path" record of a PAX header ("LEN path=VALUE\n" records), or null. */
    private static String paxPath(byte[] body) {
        String text = new String(body, StandardCharsets.UTF_8);
        int pos = 0;
        while (pos < text.length()) {
            int space = text.indexOf(' ', pos);
            if (space < 0) break;
            int len;
            try {
                len = Integer.parseInt(text.substring(pos, space));
            } catch (NumberFormatException e) {
                break;
            }
            if (len <= 0 || pos + len > text.length()) break;
            String record = text.substring(space + 1, pos + len - 1);  // without the trailing '\n'
            if (record.startsWith("path=")) return record.substring(5);
            pos += len;
        }
        return null;
    }

    private static boolean checksumOk(byte[] h) throws IOException {
        long stored = octal(h, 148, 8);
        long sum = 0;
        for (int i = 0; i < BLOCK; i++) sum += (i >= 148 && i < 156) ? ' ' : (h[i] & 0xFF);
        return sum == stored;
    }

    private static long octal(byte[] h, int off, int len) throws IOException {
        long v = 0;
        int i = off, end = off + len;
        while (i < end && (h[i] == ' ' || h[i] == 0)) i++;
        for (; i < end && h[i] >= '0' && h[i] <= '7'; i++) v = v * 8 + (h[i] - '0');
        for (; i < end; i++) if (h[i] != ' ' && h[i] != 0) throw new IOException("bad number in tar header");
        return v;
    }

    private static String cString(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) end++;
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    private static boolean isZero(byte[] b) {
        for (byte x : b) if (x != 0) return false;
        return true;
    }

    private static byte[] readExactly(InputStream in, long size) throws IOException {
        byte[] b = in.readNBytes((int) size);
        if (b.length < size) throw new EOFException("tar entry cut short");
        return b;
    }

    private static void skip(InputStream in, long n) throws IOException {
        in.skipNBytes(n);
    }
}
