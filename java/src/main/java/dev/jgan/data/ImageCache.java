package dev.jgan.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.jgan.io.AtomicFiles;
import dev.jgan.io.IoErrors;
import dev.jgan.io.Json;

import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Decoded images kept on disk as 8-bit pixels, so a folder is decoded once and memory-mapped on
 * every later run. A cache file is named by a key, the SHA-256 of everything that decides its
 * pixels (the source's files with their sizes and modification times, and the preprocessing):
 * a changed, added or removed file, or another size, background or channel count, is another key
 * and so a fresh decode; old files are left for the user to delete ({@code ~/.cache/jgan/images}).
 *
 * <p>Format, little-endian: the magic {@code "JGANU8\0\1"}; the header's length (int32) and the
 * header, JSON: n, c, h, w, labelled, class_names, skipped (the count of unreadable files) and
 * skipped_names (the first few), source; the labels (n int32) if labelled; zero padding to a
 * multiple of {@value #ALIGN}; the pixels (n*c*h*w bytes, (N, C, H, W)). Written atomically. A
 * file whose size is not what its header says (cut short), or that does not parse, is decoded
 * anew, with one note line.
 */
public final class ImageCache {
    static final byte[] MAGIC = {'J', 'G', 'A', 'N', 'U', '8', 0, 1};
    static final int ALIGN = 4096;
    /** Bump with any change to the decoding that the key's parts do not show: every cache is then decoded anew. */
    static final int DECODER_VERSION = 1;

    private ImageCache() {}

    /** What a decode produced: the images, and the unreadable files it skipped (their count and the first few names). */
    public record Decoded(U8Images images, int skipped, List<String> skippedNames) {}

    /** The cache directory of decoded images: {@code <jgan cache>/images}. */
    public static Path defaultDir() { return Datasets.defaultCacheDir().resolve("images"); }

    /** The key of a source: SHA-256 over its parts, in order, and the decoder version; the first 16 hex digits. */
    static String key(List<String> parts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(("decoder " + DECODER_VERSION + "\n").getBytes(StandardCharsets.UTF_8));
            for (String p : parts) md.update((p + "\n").getBytes(StandardCharsets.UTF_8));
            StringBuilder hex = new StringBuilder();
            for (byte b : md.digest()) hex.append(String.format("%02x", b));
            return hex.substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The images cached as {@code dir/<name>-<key>.u8}, memory-mapped; decoded by {@code decode}
     * and written there first when the file is missing or unusable.
     */
    public static Decoded load(Path dir, String name, List<String> keyParts, Supplier<Decoded> decode, Consumer<String> notes) {
        Path file = dir.resolve(name.replaceAll("[^A-Za-z0-9._-]", "_") + "-" + key(keyParts) + ".u8");
        if (Files.isRegularFile(file)) {
            try {
                return map(file, name);
            } catch (IOException | RuntimeException e) {
                notes.accept("image cache " + file + " is unusable (" + why(e)
                        + "); decoding the images again");
            }
        }
        Decoded d = decode.get();
        try {
            Files.createDirectories(dir);
            write(file, d);
            return map(file, name);
        } catch (IOException | RuntimeException e) {
            notes.accept("cannot keep the decoded images in " + file + " (" + why(e)
                    + "); they will be decoded again next time");
            return d;
        }
    }

    private static String why(Exception e) {
        if (e instanceof IOException io) return IoErrors.reason(io);
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    static void write(Path file, Decoded d) {
        U8Images im = d.images();
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("n", im.n());
        header.put("c", im.c());
        header.put("h", im.h());
        header.put("w", im.w());
        header.put("labelled", im.labels() != null);
        header.put("class_names", im.classNames());
        header.put("skipped", d.skipped());
        header.put("skipped_names", d.skippedNames());
        header.put("source", im.name());
        byte[] json;
        try {
            json = Json.MAPPER.writeValueAsBytes(header);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        long pixelsAt = pixelsOffset(json.length, im.labels() != null ? im.n() : 0);
        AtomicFiles.write(file, out -> {
            DataOutputStream o = new DataOutputStream(out);
            o.write(MAGIC);
            o.writeInt(Integer.reverseBytes(json.length));
            o.write(json);
            if (im.labels() != null) for (int l : im.labels()) o.writeInt(Integer.reverseBytes(l));
            long at = MAGIC.length + 4L + json.length + (im.labels() != null ? 4L * im.n() : 0);
            o.write(new byte[Math.toIntExact(pixelsAt - at)]);
            byte[] row = new byte[im.itemSize()];
            for (int i = 0; i < im.n(); i++) {
                im.copyBytes(i, row, 0);
                o.write(row);
            }
            o.flush();
        });
    }

    private static long pixelsOffset(int headerBytes, int labels) {
        long end = MAGIC.length + 4L + headerBytes + 4L * labels;
        return (end + ALIGN - 1) / ALIGN * ALIGN;
    }

    /** The cache file's images, their pixels mapped (read-only) for as long as the images are reachable. */
    static Decoded map(Path file, String name) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer head = ByteBuffer.allocate(MAGIC.length + 4).order(ByteOrder.LITTLE_ENDIAN);
            if (ch.read(head, 0) != head.capacity()) throw new IOException("shorter than its header");
            for (int i = 0; i < MAGIC.length; i++) if (head.get(i) != MAGIC[i]) throw new IOException("not a jgan image cache");
            int jsonLength = head.getInt(MAGIC.length);
            if (jsonLength <= 0 || jsonLength > size) throw new IOException("header length " + jsonLength);
            ByteBuffer json = ByteBuffer.allocate(jsonLength);
            if (ch.read(json, MAGIC.length + 4) != jsonLength) throw new IOException("cut short in its header");
            JsonNode h = Json.MAPPER.readTree(json.array());
            int n = h.path("n").asInt(), c = h.path("c").asInt(), hh = h.path("h").asInt(), w = h.path("w").asInt();
            boolean labelled = h.path("labelled").asBoolean();
            long pixelsAt = pixelsOffset(jsonLength, labelled ? n : 0);
            long want = pixelsAt + (long) n * c * hh * w;
            if (n < 1 || c < 1 || hh < 1 || w < 1 || size != want)
                throw new IOException(size + " bytes where its header (" + n + " images of " + c + "x" + hh + "x" + w + ") needs " + want);
            int[] labels = null;
            if (labelled) {
                ByteBuffer lb = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
                if (ch.read(lb, MAGIC.length + 4L + jsonLength) != 4 * n) throw new IOException("cut short in its labels");
                labels = new int[n];
                lb.flip().asIntBuffer().get(labels);
            }
            List<String> classes = new ArrayList<>(), skippedNames = new ArrayList<>();
            h.path("class_names").forEach(x -> classes.add(x.asText()));
            h.path("skipped_names").forEach(x -> skippedNames.add(x.asText()));
            MemorySegment pixels = ch.map(FileChannel.MapMode.READ_ONLY, pixelsAt, (long) n * c * hh * w, Arena.ofAuto());
            return new Decoded(new U8Images(name, pixels, labels, classes, n, c, hh, w), h.path("skipped").asInt(), skippedNames);
        }
    }

    /** Whether the images' pixels are a mapped file's (native memory), not an array decoded in this run. */
    static boolean mapped(U8Images images) { return images.pixels().isNative(); }
}
