package dev.jgan.io;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.jgan.UserError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** The one Jackson mapper jgan uses, and small helpers for JSON files (config.json, reports). */
public final class Json {
    /** Rejects duplicate keys and trailing junk: a header or config with either is corrupt, not merely odd. */
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private static final ObjectMapper PRETTY = MAPPER.copy().enable(SerializationFeature.INDENT_OUTPUT);

    private Json() {}

    /** Writes {@code value} (a record, map, or JsonNode) as pretty-printed JSON, atomically, with a final newline. */
    public static void writePretty(Path file, Object value) {
        String text;
        try {
            text = PRETTY.writeValueAsString(value) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot serialise " + value.getClass().getName() + " to JSON", e);
        }
        AtomicFiles.writeString(file, text);
    }

    /** Reads a JSON file as a tree. */
    public static JsonNode readTree(Path file) {
        try {
            JsonNode node = MAPPER.readTree(Files.readAllBytes(file));
            if (node == null || node.isMissingNode()) throw new UserError(file + " is not valid JSON: the file is empty");
            return node;
        } catch (NoSuchFileException e) {
            throw new UserError(file + " not found", e);
        } catch (JsonProcessingException e) {
            throw new UserError(file + " is not valid JSON: " + describe(e), e);
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
    }

    /** Jackson's message without its source excerpt, with the line and column. */
    static String describe(JsonProcessingException e) {
        JsonLocation at = e.getLocation();
        String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
        return e.getOriginalMessage().lines().findFirst().orElse("parse error") + where;
    }
}
