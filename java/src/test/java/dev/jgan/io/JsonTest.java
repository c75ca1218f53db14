package dev.jgan.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jgan.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class JsonTest {
    @TempDir Path dir;

    record Config(String preset, int batchSize, double lr) {}

    @Test void prettyRoundTrip() throws IOException {
        Path f = dir.resolve("config.json");
        Json.writePretty(f, new Config("dcgan-28", 128, 2e-4));
        String text = Files.readString(f);
        assertTrue(text.contains("\n  \"batchSize\" : 128"), text);
        assertTrue(text.endsWith("}\n"));
        JsonNode n = Json.readTree(f);
        assertEquals("dcgan-28", n.get("preset").asText());
        assertEquals(2e-4, n.get("lr").asDouble());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("b", 1);
        m.put("a", 2);
        Json.writePretty(f, m);
        assertTrue(Files.readString(f).indexOf("\"b\"") < Files.readString(f).indexOf("\"a\""), "map order kept");
    }

    @Test void badFiles() throws IOException {
        Path f = dir.resolve("config.json");
        assertEquals("" + f + " not found", assertThrows(UserError.class, () -> Json.readTree(f)).getMessage());
        Files.writeString(f, "{\"a\": 1,\n \"b\": }");
        UserError e = assertThrows(UserError.class, () -> Json.readTree(f));
        assertTrue(e.getMessage().startsWith(f + " is not valid JSON: ") && e.getMessage().contains("line 2"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        Files.writeString(f, "");
        assertEquals(f + " is not valid JSON: the file is empty", assertThrows(UserError.class, () -> Json.readTree(f)).getMessage());
        Files.writeString(f, "{\"a\":1,\"a\":2}");
        assertThrows(UserError.class, () -> Json.readTree(f));
    }
}
