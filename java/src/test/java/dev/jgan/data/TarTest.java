package dev.jgan.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class TarTest {
    @TempDir Path dir;

    private static Map<String, String> readAll(InputStream in) throws IOException {
        Map<String, String> files = new LinkedHashMap<>();
        Tar.read(in, name -> true, (name, content) -> files.put(name, new String(content, StandardCharsets.UTF_8)));
        return files;
    }

    @Test void readsWhatTheTestWriterWrites() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new TarWriter().file("package/a.txt", "hello").file("package/empty", "").file("package/b", "x".repeat(513)).writeTgz(out);
        Map<String, String> files = readAll(new GZIPInputStream(new ByteArrayInputStream(out.toByteArray())));
        assertEquals(Map.of("package/a.txt", "hello", "package/empty", "", "package/b", "x".repeat(513)), files);
    }

    @Test void aDamagedHeaderIsAnError() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new TarWriter().file("package/a.txt", "hello").writeTgz(out);
        byte[] tar = new GZIPInputStream(new ByteArrayInputStream(out.toByteArray())).readAllBytes();
        tar[3] ^= 1;
        IOException e = assertThrows(IOException.class, () -> readAll(new ByteArrayInputStream(tar)));
        assertEquals("tar header checksum mismatch", e.getMessage());
        byte[] cut = Arrays.copyOf(tar, 600);
        cut[3] ^= 1;
        assertThrows(IOException.class, () -> readAll(new ByteArrayInputStream(cut)));
    }

    /** Archives from the system's tar in the formats npm and others produce, including long paths. */
    @Test void readsRealTarFormats() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/tar")) || Files.isExecutable(Path.of("/bin/tar")), "no tar on this machine");
        String longDir = "package/" + "d".repeat(60) + "/" + "e".repeat(60);
        Path src = dir.resolve("src");
        Files.createDirectories(src.resolve(longDir));
        Files.writeString(src.resolve("package/short.json"), "{\"data\":[1]}");
        Files.writeString(src.resolve(longDir + "/" + "f".repeat(80) + ".json"), "long");
        for (String format : new String[] {"ustar", "pax", "gnu"}) {
            Path tgz = dir.resolve(format + ".tgz");
            Process p = new ProcessBuilder("tar", "--format=" + format, "-czf", tgz.toString(), "-C", src.toString(), "package")
                    .redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            if (format.equals("ustar") && p.exitValue() != 0) continue;  // ustar cannot hold a 200-byte path: fine
            assertEquals(0, p.exitValue(), log);
            Map<String, String> files;
            try (InputStream in = new GZIPInputStream(Files.newInputStream(tgz))) {
                files = readAll(in);
            }
            assertEquals("{\"data\":[1]}", files.get("package/short.json"), format);
            assertEquals("long", files.get(longDir + "/" + "f".repeat(80) + ".json"), format + ": " + files.keySet());
        }
    }
}
