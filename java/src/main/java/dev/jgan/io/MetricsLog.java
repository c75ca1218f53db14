package dev.jgan.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import dev.jgan.UserError;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * metrics.jsonl: one JSON object per line, e.g. {@code {"step":100,"epoch":0,"loss_d":1.2,...}},
 * appended and flushed line by line so that a crash loses at most the line being written.
 *
 * <p>A row's {@code "step"} (an integer) is what {@link #resume} filters on; rows without one are
 * kept. A last line cut off by a crash (no final newline and not valid JSON) is ignored by
 * {@link #read} and removed by {@link #open} and {@link #resume}. NaN and infinite values are written as the
 * strings "NaN", "Infinity", "-Infinity" (Jackson's default), so every line stays valid JSON.
 */
public final class MetricsLog implements Closeable {
    private static final TypeReference<LinkedHashMap<String, Object>> ROW = new TypeReference<>() {};

    private final Path file;
    private final Writer out;

    private MetricsLog(Path file, Writer out) {
        this.file = file;
        this.out = out;
    }

    /** Opens {@code file} for appending, creating it (and its directory) if needed. */
    public static MetricsLog open(Path file) {
        Path abs = file.toAbsolutePath().normalize();
        try {
            Files.createDirectories(abs.getParent());
        } catch (IOException e) {
            throw new UserError("cannot write to " + abs.getParent() + ": " + IoErrors.reason(e), e);
        }
        try {
            if (endsWithoutNewline(abs)) repairLastLine(abs);
            Writer w = new BufferedWriter(new OutputStreamWriter(Files.newOutputStream(abs,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE), StandardCharsets.UTF_8));
            return new MetricsLog(abs, w);
        } catch (IOException e) {
            throw new UserError("cannot write " + abs + ": " + IoErrors.reason(e), e);
        }
    }

    /**
     * Opens {@code file} to continue a run resumed at {@code resumedStep}: first rewrites it
     * (atomically) without the rows whose step is greater, which the resumed run will log again,
     * and without a cut-off last line. A missing file is created.
     */
    public static MetricsLog resume(Path file, long resumedStep) {
        Path abs = file.toAbsolutePath().normalize();
        if (Files.exists(abs)) {
            List<String> kept = new ArrayList<>();
            List<String> lines = lines(abs);
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                if (line.isBlank()) continue;
                Map<String, Object> row = parse(abs, line, i + 1, i == lines.size() - 1 && endsWithoutNewline(abs));
                if (row == null) continue;
                if (row.get("step") instanceof Number s && s.longValue() > resumedStep) continue;
                kept.add(line);
            }
            StringBuilder text = new StringBuilder();
            for (String line : kept) text.append(line).append('\n');
            AtomicFiles.writeString(abs, text.toString());
        }
        return open(abs);
    }

    /** All rows in file order, as maps (numbers as Integer, Long or Double). */
    public static List<Map<String, Object>> read(Path file) {
        Path abs = file.toAbsolutePath().normalize();
        List<String> lines = lines(abs);
        boolean cut = endsWithoutNewline(abs);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            Map<String, Object> row = parse(abs, lines.get(i), i + 1, cut && i == lines.size() - 1);
            if (row != null) rows.add(row);
        }
        return rows;
    }

    /** Appends one row as a JSON line and flushes it. Keys keep their iteration order. */
    public void append(Map<String, ?> row) {
        String line;
        try {
            line = Json.MAPPER.writeValueAsString(row);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("metrics row cannot be written as JSON: " + e.getOriginalMessage(), e);
        }
        try {
            out.write(line);
            out.write('\n');
            out.flush();
        } catch (IOException e) {
            throw new UserError("cannot write " + file + ": " + IoErrors.reason(e), e);
        }
    }

    public Path file() { return file; }

    @Override public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UserError("cannot write " + file + ": " + IoErrors.reason(e), e);
        }
    }

    /** A row, or null for a cut-off last line; any other unparsable line is an error. */
    private static Map<String, Object> parse(Path file, String line, int lineNo, boolean mayBeCut) {
        try {
            return Json.MAPPER.readValue(line, ROW);
        } catch (JsonProcessingException e) {
            if (mayBeCut) return null;
            throw new UserError("metrics file " + file + " is corrupt: line " + lineNo + " is not a JSON object ("
                    + Json.describe(e) + ")", e);
        }
    }

    private static List<String> lines(Path file) {
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new UserError("metrics file " + file + " not found", e);
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
    }

    /**
     * A last line without its newline: a row cut off by a crash is cut away; a complete row just
     * gets its newline, so the next row does not run into it.
     */
    private static void repairLastLine(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        int start = all.length;
        while (start > 0 && all[start - 1] != '\n') start--;
        String last = new String(all, start, all.length - start, StandardCharsets.UTF_8);
        boolean complete;
        try {
            Json.MAPPER.readValue(last, ROW);
            complete = true;
        } catch (JsonProcessingException e) {
            complete = false;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            if (complete) ch.write(ByteBuffer.wrap(new byte[] {'\n'}), all.length);
            else ch.truncate(start);
        }
    }

    /** True when the file exists, is not empty, and its last byte is not '\n'. */
    private static boolean endsWithoutNewline(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size == 0) return false;
            ByteBuffer last = ByteBuffer.allocate(1);
            ch.read(last, size - 1);
            return last.get(0) != '\n';
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
    }
}
