package dev.jgan.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jgan.UserError;

import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Checkpoints in the safetensors format (https://github.com/huggingface/safetensors): float32
 * tensors, and int64 ones (PyTorch's {@code num_batches_tracked}); reading also takes the float16
 * and bfloat16 of a PyTorch user's file, widened to float32 exactly.
 *
 * <p>Layout: an unsigned 64-bit little-endian header length {@code L}; {@code L} bytes of UTF-8
 * JSON, {@code {"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [..],
 * "data_offsets": [begin, end]}, ...}}, padded with spaces so the data starts 8-byte aligned;
 * then the tensors' raw little-endian bytes, in header order, offsets relative to the data start.
 * As the format requires, the offsets cover the data section exactly, without holes or overlaps.
 * Files written here load with the reference {@code safetensors} library and vice versa (for F32,
 * I64, F16 and BF16). The int64 tensors are written first, so that each starts 8-byte aligned.
 */
public final class Safetensors {
    /** The reference implementation refuses headers above 100 MB; so do we. */
    static final long MAX_HEADER_BYTES = 100L << 20;
    private static final String METADATA = "__metadata__";
    private static final int CHUNK_FLOATS = 1 << 14;

    private Safetensors() {}

    /** One float32 tensor: its shape and row-major data. Equality compares contents. */
    public record TensorData(int[] shape, float[] data) {
        public TensorData {
            long n = count(shape);
            if (n != data.length)
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n + " floats, got " + data.length);
        }

        @Override public boolean equals(Object o) {
            return o instanceof TensorData t && Arrays.equals(shape, t.shape) && Arrays.equals(data, t.data);
        }

        @Override public int hashCode() { return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data); }

        @Override public String toString() { return "TensorData" + Arrays.toString(shape); }
    }

    /** One int64 tensor: its shape and row-major data. */
    public record LongData(int[] shape, long[] data) {
        public LongData {
            long n = count(shape);
            if (n != data.length) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n + " longs, got " + data.length);
        }

        /** A 0-dimensional tensor: PyTorch's num_batches_tracked. */
        public static LongData scalar(long v) { return new LongData(new int[0], new long[] {v}); }
    }

    /** Elements of a tensor of {@code shape}; an IllegalArgumentException for a negative dimension. */
    private static long count(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            n *= d;
        }
        return n;
    }

    /** What a file holds: float tensors (F16 and BF16 widened) and int64 tensors, each in file order, and the string metadata (empty if none). */
    public record Contents(LinkedHashMap<String, TensorData> tensors, LinkedHashMap<String, LongData> longs, Map<String, String> metadata) {}

    /** Writes the tensors (in map order) and metadata (may be null or empty) to {@code file}, atomically. */
    public static void write(Path file, LinkedHashMap<String, TensorData> tensors, Map<String, String> metadata) {
        write(file, tensors, new LinkedHashMap<>(), metadata);
    }

    /** As {@link #write(Path, LinkedHashMap, Map)}, with int64 tensors too (written first). */
    public static void write(Path file, LinkedHashMap<String, TensorData> tensors, LinkedHashMap<String, LongData> longs,
                             Map<String, String> metadata) {
        byte[] header = header(tensors, longs, metadata);
        AtomicFiles.write(file, out -> writeTo(out, header, tensors, longs));
    }

    /** Writes the whole file to a stream (no atomicity: that is {@link #write}'s job). */
    public static void write(OutputStream out, LinkedHashMap<String, TensorData> tensors, Map<String, String> metadata)
            throws IOException {
        writeTo(out, header(tensors, new LinkedHashMap<>(), metadata), tensors, new LinkedHashMap<>());
    }

    private static void writeTo(OutputStream out, byte[] header, LinkedHashMap<String, TensorData> tensors,
                                LinkedHashMap<String, LongData> longs) throws IOException {
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
        out.write(len.array());
        out.write(header);
        for (LongData t : longs.values()) {
            ByteBuffer b = ByteBuffer.allocate(t.data().length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            b.asLongBuffer().put(t.data());
            out.write(b.array());
        }
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK_FLOATS * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (TensorData t : tensors.values()) {
            float[] d = t.data();
            for (int i = 0; i < d.length; i += CHUNK_FLOATS) {
                int m = Math.min(CHUNK_FLOATS, d.length - i);
                chunk.clear();
                chunk.asFloatBuffer().put(d, i, m);
                out.write(chunk.array(), 0, m * Float.BYTES);
            }
        }
    }

    /** The JSON header, space-padded to a multiple of 8 bytes. */
    static byte[] header(LinkedHashMap<String, TensorData> tensors, LinkedHashMap<String, LongData> longs, Map<String, String> metadata) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = root.putObject(METADATA);
            metadata.forEach((k, v) -> m.put(k, v));
        }
        long offset = 0;
        for (Map.Entry<String, LongData> e : longs.entrySet())
            offset = entry(root, e.getKey(), "I64", e.getValue().shape(), offset, (long) e.getValue().data().length * Long.BYTES);
        for (Map.Entry<String, TensorData> e : tensors.entrySet())
            offset = entry(root, e.getKey(), "F32", e.getValue().shape(), offset, (long) e.getValue().data().length * Float.BYTES);
        byte[] json;
        try {
            json = Json.MAPPER.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        int padded = (json.length + 7) & ~7;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    /** Puts one tensor's header entry into {@code root}; returns where the next tensor's data begins. */
    private static long entry(ObjectNode root, String name, String dtype, int[] dims, long offset, long bytes) {
        if (name.isEmpty() || name.equals(METADATA) || root.has(name)) throw new IllegalArgumentException("bad or repeated tensor name '" + name + "'");
        ObjectNode node = root.putObject(name);
        node.put("dtype", dtype);
        ArrayNode shape = node.putArray("shape");
        for (int d : dims) shape.add(d);
        node.putArray("data_offsets").add(offset).add(offset + bytes);
        return offset + bytes;
    }

    /**
     * Reads and validates a whole file.
     *
     * @throws UserError "checkpoint FILE not found", or "checkpoint FILE is corrupt: reason"
     */
    public static Contents read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return read(file, ch);
        } catch (NoSuchFileException e) {
            throw new UserError("checkpoint " + file + " not found", e);
        } catch (IOException e) {
            throw new UserError("cannot read checkpoint " + file + ": " + IoErrors.reason(e), e);
        }
    }

    private static Contents read(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) throw corrupt(file, "file is " + size + " bytes, shorter than the 8-byte header length");
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long headerLen = lenBuf.getLong(0);
        if (headerLen < 2 || headerLen > MAX_HEADER_BYTES)
            throw corrupt(file, "header length " + Long.toUnsignedString(headerLen) + " is not plausible");
        if (8 + headerLen > size)
            throw corrupt(file, "header length " + headerLen + " runs past the end of the " + size + "-byte file (truncated?)");
        ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
        readFully(ch, headerBuf, 8);
        byte[] header = headerBuf.array();
        if (header[0] != '{') throw corrupt(file, "header does not start with '{'");

        JsonNode root;
        try {
            root = Json.MAPPER.readTree(new String(header, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw corrupt(file, "header is not valid JSON (" + Json.describe(e) + ")");
        }
        if (root == null || !root.isObject()) throw corrupt(file, "header is not a JSON object");

        long dataStart = 8 + headerLen;
        long dataLen = size - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<String, JsonNode> f : root.properties()) {
            if (f.getKey().equals(METADATA)) {
                if (!f.getValue().isObject()) throw corrupt(file, "__metadata__ is not an object");
                for (Map.Entry<String, JsonNode> kv : f.getValue().properties()) {
                    if (!kv.getValue().isTextual()) throw corrupt(file, "__metadata__." + kv.getKey() + " is not a string");
                    metadata.put(kv.getKey(), kv.getValue().textValue());
                }
                continue;
            }
            entries.add(entry(file, f.getKey(), f.getValue()));
        }

        // The format demands that the tensors tile the data section exactly.
        List<Entry> byOffset = new ArrayList<>(entries);
        byOffset.sort(Comparator.comparingLong(Entry::begin));
        long expected = 0;
        for (Entry e : byOffset) {
            if (e.begin < expected) throw corrupt(file, "tensor '" + e.name + "' overlaps the previous tensor");
            if (e.begin > expected) throw corrupt(file, "gap in the data before tensor '" + e.name + "'");
            expected = e.end;
        }
        if (expected != dataLen) {
            String why = expected > dataLen ? "data section is " + dataLen + " bytes but the header needs " + expected + " (truncated?)"
                                            : "data section has " + (dataLen - expected) + " bytes beyond the last tensor";
            throw corrupt(file, why);
        }

        LinkedHashMap<String, TensorData> tensors = new LinkedHashMap<>();
        LinkedHashMap<String, LongData> longs = new LinkedHashMap<>();
        for (Entry e : entries) {
            int n = Math.toIntExact(count(e.shape));
            ByteBuffer bytes = ByteBuffer.allocate(Math.toIntExact(e.end - e.begin)).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, bytes, dataStart + e.begin);
            if (e.dtype.equals("I64")) {
                long[] data = new long[n];
                bytes.asLongBuffer().get(data);
                longs.put(e.name, new LongData(e.shape, data));
                continue;
            }
            float[] data = new float[n];
            switch (e.dtype) {
                case "F32" -> bytes.asFloatBuffer().get(data);
                case "F16" -> { for (int i = 0; i < n; i++) data[i] = Float.float16ToFloat(bytes.getShort(2 * i)); }
                default -> { for (int i = 0; i < n; i++) data[i] = Float.intBitsToFloat((bytes.getShort(2 * i) & 0xFFFF) << 16); }   // BF16
            }
            tensors.put(e.name, new TensorData(e.shape, data));
        }
        return new Contents(tensors, longs, metadata);
    }

    /** Bytes an element of each dtype read here takes. */
    private static final Map<String, Integer> DTYPE_BYTES = Map.of("F32", 4, "F16", 2, "BF16", 2, "I64", 8);

    private record Entry(String name, String dtype, int[] shape, long begin, long end) {}

    private static Entry entry(Path file, String name, JsonNode node) {
        String where = "tensor '" + name + "'";
        if (!node.isObject()) throw corrupt(file, where + " is not an object");
        JsonNode dtype = node.get("dtype");
        if (dtype == null || !dtype.isTextual()) throw corrupt(file, where + " has no dtype");
        Integer size = DTYPE_BYTES.get(dtype.textValue());
        if (size == null)
            throw corrupt(file, where + " has dtype " + dtype.textValue() + "; jgan reads F32, F16, BF16 and I64");
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) throw corrupt(file, where + " has no shape");
        int[] shape = new int[shapeNode.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToInt() || !d.isIntegralNumber() || d.intValue() < 0)
                throw corrupt(file, where + " has a bad shape " + shapeNode);
            shape[i] = d.intValue();
            count *= shape[i];
            if (count > Integer.MAX_VALUE) throw corrupt(file, where + " is too large: shape " + shapeNode);
        }
        JsonNode offs = node.get("data_offsets");
        if (offs == null || !offs.isArray() || offs.size() != 2 || !offs.get(0).canConvertToLong() || !offs.get(1).canConvertToLong()
                || !offs.get(0).isIntegralNumber() || !offs.get(1).isIntegralNumber())
            throw corrupt(file, where + " has bad data_offsets " + offs);
        long begin = offs.get(0).longValue(), end = offs.get(1).longValue();
        if (begin < 0 || end < begin) throw corrupt(file, where + " has bad data_offsets " + offs);
        if (end - begin != count * size)
            throw corrupt(file, where + " has shape " + shapeNode + " (" + count * size + " bytes) but data_offsets " + offs
                    + " span " + (end - begin) + " bytes");
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            String k = field.getKey();
            if (!k.equals("dtype") && !k.equals("shape") && !k.equals("data_offsets"))
                throw corrupt(file, where + " has an unknown field '" + k + "'");
        }
        return new Entry(name, dtype.textValue(), shape, begin, end);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) throw new EOFException();
            pos += n;
        }
        buf.flip();
    }

    private static UserError corrupt(Path file, String reason) {
        return new UserError("checkpoint " + file + " is corrupt: " + reason);
    }
}
