package dev.jgan.data;

import dev.jgan.UserError;
import dev.jgan.io.AtomicFiles;
import dev.jgan.io.IoErrors;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;

/**
 * IDX files (the MNIST format, http://yann.lecun.com/exdb/mnist/), plain or gzip-compressed.
 *
 * <p>Layout: a big-endian magic {@code 0x0000TTRR} (TT the element type, 0x08 = unsigned byte;
 * RR the rank), RR big-endian u32 dimensions, then exactly the product of the dimensions in
 * elements, row-major. Images are {@code 0x00000803} (N, H, W), labels {@code 0x00000801} (N).
 * Compression is detected by the gzip magic {@code 1f 8b}, not by the file name. A file whose
 * payload is shorter or longer than its dimensions say is rejected.
 */
public final class Idx {
    public static final int IMAGES_U8 = 0x00000803;
    public static final int LABELS_U8 = 0x00000801;
    private static final int TYPE_U8 = 0x08;
    /** Deflate cannot compress better than about 1032:1; a header promising more than that is lying. */
    private static final long MAX_DEFLATE_RATIO = 1032;

    private Idx() {}

    /** 8-bit images (N, H, W). */
    public record Images(byte[] pixels, int n, int h, int w) {}

    /** Reads an image file (magic 0x00000803). */
    public static Images readImages(Path file) {
        Array a = read(file, IMAGES_U8, "image");
        return new Images(a.data, a.dims[0], a.dims[1], a.dims[2]);
    }

    /** Reads a label file (magic 0x00000801); labels are 0..255. */
    public static int[] readLabels(Path file) {
        Array a = read(file, LABELS_U8, "label");
        int[] labels = new int[a.data.length];
        for (int i = 0; i < labels.length; i++) labels[i] = a.data[i] & 0xFF;
        return labels;
    }

    /** Writes 8-bit images (N, H, W) as an IDX file, gzip-compressed if {@code gzip}, atomically. */
    public static void writeImages(Path file, byte[] pixels, int n, int h, int w, boolean gzip) {
        if (n < 1 || h < 1 || w < 1 || (long) n * h * w != pixels.length)
            throw new IllegalArgumentException("(N, H, W) = (" + n + ", " + h + ", " + w + ") does not match " + pixels.length + " pixels");
        write(file, IMAGES_U8, new int[] {n, h, w}, pixels, gzip);
    }

    /**
     * Writes images in [-1, 1] (N, H, W), for example generator samples, as 8-bit IDX:
     * {@code round((x + 1) * 127.5)} clamped to 0..255 (NaN to 0), the inverse of loading.
     */
    public static void writeImages(Path file, float[] images, int n, int h, int w, boolean gzip) {
        if ((long) n * h * w != images.length)
            throw new IllegalArgumentException("(N, H, W) = (" + n + ", " + h + ", " + w + ") does not match " + images.length + " floats");
        byte[] px = new byte[images.length];
        for (int i = 0; i < px.length; i++) {
            float v = (images[i] + 1f) * 127.5f;
            px[i] = (byte) (!(v > 0f) ? 0 : v >= 255f ? 255 : Math.round(v));
        }
        writeImages(file, px, n, h, w, gzip);
    }

    /** Writes labels (N) as an IDX file; each label must be 0..255. */
    public static void writeLabels(Path file, int[] labels, boolean gzip) {
        byte[] b = new byte[labels.length];
        for (int i = 0; i < b.length; i++) {
            if (labels[i] < 0 || labels[i] > 255) throw new IllegalArgumentException("label " + labels[i] + " does not fit a byte");
            b[i] = (byte) labels[i];
        }
        write(file, LABELS_U8, new int[] {labels.length}, b, gzip);
    }

    private static void write(Path file, int magic, int[] dims, byte[] data, boolean gzip) {
        AtomicFiles.write(file, raw -> {
            OutputStream out = gzip ? new GZIPOutputStream(raw, 1 << 16) : raw;
            ByteBuffer header = ByteBuffer.allocate(4 + 4 * dims.length).putInt(magic);  // big-endian
            for (int d : dims) header.putInt(d);
            out.write(header.array());
            out.write(data);
            if (out instanceof GZIPOutputStream g) g.finish();
        });
    }

    private record Array(int[] dims, byte[] data) {}

    private static Array read(Path file, int wantMagic, String kind) {
        long fileSize;
        try {
            fileSize = Files.size(file);
        } catch (NoSuchFileException e) {
            throw new UserError("IDX file " + file + " not found", e);
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            raw.mark(2);
            boolean gzip = raw.read() == 0x1f && raw.read() == 0x8b;
            raw.reset();
            DataInputStream in = new DataInputStream(gzip ? new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16) : raw);
            int magic;
            try {
                magic = in.readInt();
            } catch (EOFException e) {
                throw bad(file, "the file is too short to hold an IDX header (" + fileSize + " bytes)");
            }
            if ((magic >>> 16) != 0 || ((magic >>> 8) & 0xFF) != TYPE_U8)
                throw bad(file, String.format("magic 0x%08X is not an unsigned-byte IDX %s file (expected 0x%08X)", magic, kind, wantMagic));
            int rank = magic & 0xFF;
            if (magic != wantMagic)
                throw bad(file, String.format("magic 0x%08X means rank %d, but an IDX %s file has rank %d (magic 0x%08X)",
                        magic, rank, kind, wantMagic & 0xFF, wantMagic));
            int[] dims = new int[rank];
            long count = 1;
            for (int i = 0; i < rank; i++) {
                try {
                    dims[i] = in.readInt();
                } catch (EOFException e) {
                    throw bad(file, "the file ends inside the header (truncated)");
                }
                if (dims[i] <= 0) throw bad(file, "dimension " + i + " is " + Integer.toUnsignedString(dims[i]) + ", must be positive");
                count *= dims[i];
                if (count > Integer.MAX_VALUE - 8) throw bad(file, "dimensions " + dimsText(dims, i + 1) + " are too large");
            }
            long headerBytes = 4 + 4L * rank;
            if (!gzip && count != fileSize - headerBytes)
                throw bad(file, payload(dims, count, fileSize - headerBytes));
            if (gzip && count > MAX_DEFLATE_RATIO * fileSize)
                throw bad(file, "dimensions " + dimsText(dims, rank) + " cannot fit in a " + fileSize + "-byte gzip file (truncated?)");
            byte[] data = new byte[(int) count];
            int got = in.readNBytes(data, 0, data.length);
            if (got < data.length) throw bad(file, payload(dims, count, got));
            long extra = in.transferTo(OutputStream.nullOutputStream());
            if (extra > 0) throw bad(file, payload(dims, count, count + extra));
            return new Array(dims, data);
        } catch (UserError e) {
            throw e;
        } catch (EOFException e) {
            throw bad(file, "the compressed data ends early (truncated file?)");
        } catch (ZipException e) {
            throw bad(file, "the gzip data is corrupt (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
    }

    private static String payload(int[] dims, long want, long have) {
        String s = "dimensions " + dimsText(dims, dims.length) + " need " + want + " bytes of data but the file has " + have;
        return s + (have < want ? " (truncated)" : " (trailing bytes)");
    }

    private static String dimsText(int[] dims, int k) {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < k; i++) b.append(i == 0 ? "" : ", ").append(Integer.toUnsignedString(dims[i]));
        return b.append(')').toString();
    }

    private static UserError bad(Path file, String reason) {
        return new UserError("IDX file " + file + " is invalid: " + reason);
    }
}
