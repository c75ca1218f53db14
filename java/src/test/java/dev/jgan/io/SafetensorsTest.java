package dev.jgan.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jgan.UserError;
import dev.jgan.io.Safetensors.TensorData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class SafetensorsTest {
    @TempDir Path dir;

    private static LinkedHashMap<String, TensorData> sample() {
        LinkedHashMap<String, TensorData> t = new LinkedHashMap<>();
        float[] w = new float[2 * 3 * 3 * 3];
        for (int i = 0; i < w.length; i++) w[i] = (float) Math.sin(i) * 1e-3f;
        t.put("G.0.weight", new TensorData(new int[] {2, 3, 3, 3}, w));
        t.put("G.0.bias", new TensorData(new int[] {2}, new float[] {Float.MIN_VALUE, -0f}));
        t.put("step", new TensorData(new int[] {}, new float[] {1234f}));
        t.put("odd", new TensorData(new int[] {1, 3}, new float[] {Float.NaN, Float.POSITIVE_INFINITY, -Float.MAX_VALUE}));
        return t;
    }

    private static final Map<String, String> META = Map.of("preset", "dcgan-28", "format", "jgan-1");

    @Test void roundTrip() {
        Path f = dir.resolve("ckpt.safetensors");
        Safetensors.write(f, sample(), META);
        Safetensors.Contents c = Safetensors.read(f);
        assertEquals(sample(), c.tensors());
        assertEquals(List.copyOf(sample().keySet()), List.copyOf(c.tensors().keySet()), "file order is kept");
        assertEquals(META, c.metadata());
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(c.tensors().get("G.0.bias").data()[1]));
    }

    @Test void noMetadataAndNoTensors() {
        Path f = dir.resolve("empty.safetensors");
        Safetensors.write(f, new LinkedHashMap<>(), null);
        Safetensors.Contents c = Safetensors.read(f);
        assertTrue(c.tensors().isEmpty());
        assertTrue(c.metadata().isEmpty());
    }

    /** Parses the file by hand, as the spec describes it, independently of the reader. */
    @Test void layoutFollowsTheSpec() throws IOException {
        Path f = dir.resolve("ckpt.safetensors");
        Safetensors.write(f, sample(), META);
        byte[] b = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, (8 + n) % 8, "data starts 8-byte aligned");
        String header = new String(b, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{"));
        String json = header.stripTrailing();
        assertEquals(" ".repeat(header.length() - json.length()), header.substring(json.length()), "padding is trailing spaces");
        assertTrue(json.endsWith("}"));
        JsonNode root = new ObjectMapper().readTree(header);
        assertEquals("dcgan-28", root.get("__metadata__").get("preset").asText());
        JsonNode w = root.get("G.0.weight");
        assertEquals("F32", w.get("dtype").asText());
        assertEquals("[2,3,3,3]", w.get("shape").toString());
        assertEquals("[0,216]", w.get("data_offsets").toString());
        assertEquals("[216,224]", root.get("G.0.bias").get("data_offsets").toString());
        assertEquals("[]", root.get("step").get("shape").toString());
        assertEquals("[224,228]", root.get("step").get("data_offsets").toString());
        assertEquals(8 + n + 240, b.length);
        float step = ByteBuffer.wrap(b, (int) (8 + n + 224), 4).order(ByteOrder.LITTLE_ENDIAN).getFloat();
        assertEquals(1234f, step);
    }

    /** A file as the reference library writes it: metadata first, tensors not in offset order. */
    @Test void readsAHandMadeFile() {
        String header = "{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        Path f = file("hand.safetensors", header, new float[] {1f, 2f, 3f});
        Safetensors.Contents c = Safetensors.read(f);
        assertArrayEquals(new float[] {3f}, c.tensors().get("b").data());
        assertArrayEquals(new float[] {1f, 2f}, c.tensors().get("a").data());
        assertEquals(Map.of("format", "pt"), c.metadata());
    }

    /**
     * PyTorch's other dtypes: int64 (num_batches_tracked) written and read back as longs; float16
     * and bfloat16 (a user's half-precision weights) read as the float32 values they stand for.
     */
    @Test void int64AndHalfPrecision() throws IOException {
        Path f = dir.resolve("mixed.safetensors");
        LinkedHashMap<String, TensorData> floats = new LinkedHashMap<>();
        floats.put("w", new TensorData(new int[] {2}, new float[] {0.5f, -3f}));
        LinkedHashMap<String, Safetensors.LongData> longs = new LinkedHashMap<>();
        longs.put("n", Safetensors.LongData.scalar(1L << 40));
        Safetensors.write(f, floats, longs, Map.of());
        Safetensors.Contents c = Safetensors.read(f);
        assertArrayEquals(new long[] {1L << 40}, c.longs().get("n").data());
        assertEquals(0, c.longs().get("n").shape().length, "a 0-d tensor");
        assertArrayEquals(new float[] {0.5f, -3f}, c.tensors().get("w").data());
        assertEquals("{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}",
                Json.MAPPER.readTree(Arrays.copyOfRange(Files.readAllBytes(f), 8, 8 + (int) Safetensors.header(floats, longs, Map.of()).length)).get("n").toString(),
                "int64 first, 8-byte aligned");

        // 1.5 and -2 as float16 (0x3E00, 0xC000) and as bfloat16 (0x3FC0, 0xC000)
        String header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]}}";
        byte[] h = header.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ByteBuffer raw = ByteBuffer.allocate(8 + h.length + 8).order(ByteOrder.LITTLE_ENDIAN);
        raw.putLong(h.length).put(h).putShort((short) 0x3E00).putShort((short) 0xC000).putShort((short) 0x3FC0).putShort((short) 0xC000);
        Path half = Files.write(dir.resolve("half.safetensors"), raw.array());
        Safetensors.Contents hc = Safetensors.read(half);
        assertArrayEquals(new float[] {1.5f, -2f}, hc.tensors().get("h").data());
        assertArrayEquals(new float[] {1.5f, -2f}, hc.tensors().get("b").data());
    }

    @Test void truncatedFile() throws IOException {
        Path f = written();
        byte[] b = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(b, b.length - 4));
        assertCorrupt(f, "data section is 236 bytes but the header needs 240 (truncated?)");
        Files.write(f, Arrays.copyOf(b, 40));
        assertCorrupt(f, "runs past the end of the 40-byte file (truncated?)");
        Files.write(f, Arrays.copyOf(b, 5));
        assertCorrupt(f, "file is 5 bytes, shorter than the 8-byte header length");
    }

    @Test void trailingBytes() throws IOException {
        Path f = written();
        Files.write(f, new byte[] {1, 2, 3}, StandardOpenOption.APPEND);
        assertCorrupt(f, "data section has 3 bytes beyond the last tensor");
    }

    @Test void flippedHeaderBytes() throws IOException {
        Path f = written();
        byte[] good = Files.readAllBytes(f);
        String header = new String(good, 8, (int) ByteBuffer.wrap(good, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong(), StandardCharsets.UTF_8);

        byte[] b = good.clone();
        b[8] ^= 0x01;  // '{' -> 'z'
        Files.write(f, b);
        assertCorrupt(f, "header does not start with '{'");

        b = good.clone();
        b[8 + header.indexOf("\"dtype\"")] ^= 0x01;  // a quote -> '#': no longer JSON
        Files.write(f, b);
        assertCorrupt(f, "header is not valid JSON");

        b = good.clone();
        b[8 + header.indexOf("[216,224]") + 5] ^= 0x01;  // 224 -> 324
        Files.write(f, b);
        assertCorrupt(f, "tensor 'G.0.bias' has shape [2] (8 bytes) but data_offsets [216,324] span 108 bytes");

        b = good.clone();
        b[8 + header.indexOf("F32") + 2] ^= 0x07;  // F32 -> F35
        Files.write(f, b);
        assertCorrupt(f, "tensor 'G.0.weight' has dtype F35; jgan reads F32, F16, BF16 and I64");

        b = good.clone();
        b[7] ^= 0x10;  // top byte of the header length
        Files.write(f, b);
        assertCorrupt(f, "is not plausible");

        b = good.clone();
        b[0] ^= 0x08;  // header length off by 8: the JSON is cut
        Files.write(f, b);
        assertThrows(UserError.class, () -> Safetensors.read(f));
    }

    @Test void offsetsMustTileTheData() {
        String gap = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
        assertCorrupt(file("gap.safetensors", gap, new float[3]), "gap in the data before tensor 'b'");
        String overlap = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
        assertCorrupt(file("overlap.safetensors", overlap, new float[2]), "tensor 'b' overlaps the previous tensor");
        String negative = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}";
        assertCorrupt(file("neg.safetensors", negative, new float[1]), "tensor 'a' has bad data_offsets [4,0]");
    }

    @Test void otherBadHeaders() {
        assertCorrupt(file("arr.safetensors", "[1,2]", new float[0]), "header does not start with '{'");
        assertCorrupt(file("dup.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", new float[1]), "header is not valid JSON");
        assertCorrupt(file("meta.safetensors", "{\"__metadata__\":{\"k\":1}}", new float[0]), "__metadata__.k is not a string");
        assertCorrupt(file("shape.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new float[1]),
                "tensor 'a' has a bad shape [-1]");
        assertCorrupt(file("noshape.safetensors", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", new float[1]),
                "tensor 'a' has no shape");
        assertCorrupt(file("junk.safetensors", "{} {}", new float[0]), "header is not valid JSON");
    }

    @Test void missingFile() {
        Path f = dir.resolve("nope.safetensors");
        UserError e = assertThrows(UserError.class, () -> Safetensors.read(f));
        assertEquals("checkpoint " + f + " not found", e.getMessage());
    }

    /** A checkpoint write that dies halfway (disk full, kill) must leave the last good checkpoint. */
    @Test void interruptedWriteKeepsThePreviousCheckpoint() throws IOException {
        Path f = written();
        byte[] before = Files.readAllBytes(f);
        LinkedHashMap<String, TensorData> next = new LinkedHashMap<>();
        next.put("w", new TensorData(new int[] {1000}, new float[1000]));
        assertThrows(UserError.class, () -> AtomicFiles.write(f, out ->
                Safetensors.write(new FailAfter(out, 1500), next, Map.of("step", "2"))));
        assertArrayEquals(before, Files.readAllBytes(f));
        assertEquals(sample(), Safetensors.read(f).tensors());
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temporary file left");
        }
    }

    private Path written() {
        Path f = dir.resolve("ckpt.safetensors");
        Safetensors.write(f, sample(), META);
        return f;
    }

    private Path file(String name, String header, float[] data) {
        Path f = dir.resolve(name);
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        for (float x : data) b.putFloat(x);
        try {
            Files.write(f, b.array());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return f;
    }

    private static void assertCorrupt(Path f, String reason) {
        UserError e = assertThrows(UserError.class, () -> Safetensors.read(f));
        String prefix = "checkpoint " + f + " is corrupt: ";
        assertTrue(e.getMessage().startsWith(prefix) && e.getMessage().contains(reason), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    /** Throws after {@code limit} bytes, like a disk that fills up. */
    static final class FailAfter extends FilterOutputStream {
        private long left;

        FailAfter(OutputStream out, long limit) {
            super(out);
            left = limit;
        }

        @Override public void write(int b) throws IOException {
            if (left-- <= 0) throw new IOException("No space left on device");
            out.write(b);
        }

        @Override public void write(byte[] b, int off, int len) throws IOException {
            for (int i = 0; i < len; i++) write(b[off + i]);
        }
    }
}
