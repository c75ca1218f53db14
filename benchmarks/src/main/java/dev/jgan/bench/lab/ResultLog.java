package dev.jgan.bench.lab;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.jgan.io.Json;
import dev.jgan.lab.Variant;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The JSON lines file a bench run appends to (default kernel-lab.jsonl): one line per variant
 * and shape, with what is needed to compare it with a line from another day or machine: the
 * machine, the commit, the exact command, and the variant's source and its SHA-256, so a result
 * of an edited kernel is not mistaken for one of the committed kernel.
 *
 * @param machine  the CPU (model, cores) and, on CUDA, the GPU
 * @param commit   {@code git rev-parse HEAD} of the repository, or "unknown"
 * @param command  the command line as typed
 * @param device   cpu or cuda
 * @param root     the repository root, which Variant.source() is relative to
 */
public record ResultLog(Path file, Map<String, Object> machine, String commit, String command, String device, Path root) {

    /** Appends one line: the run's context, the variant's source and hash, the measurement and {@code extra} (the --vs comparison). */
    public void append(Variant variant, Measurement m, Map<String, Object> extra) {
        try {
            Files.writeString(file, line(variant, m, extra) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new IllegalStateException("cannot append to " + file + ": " + e.getMessage(), e);
        }
    }

    /** The JSON line (no newline). */
    public String line(Variant variant, Measurement m, Map<String, Object> extra) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("time", Instant.now().toString());
        out.put("machine", machine);
        out.put("commit", commit);
        out.put("command", command);
        out.put("device", device);
        out.put("variant_id", variant.id());
        out.put("status", variant.status().id());
        out.put("source", variant.source());
        out.put("source_sha256", sourceHash(root, variant.source()));
        // what the variant says it moves and computes (its header's figures; 0: not given), beside the op's compulsory model
        out.put("variant_bytes_per_element", variant.bytesPerElement());
        out.put("variant_flops_per_element", variant.flopsPerElement());
        out.putAll(m.fields());
        out.putAll(extra);
        try {
            return Json.MAPPER.writeValueAsString(out);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a result line: " + e.getMessage(), e);
        }
    }

    /**
     * SHA-256 of the file at {@code source} (relative to {@code root}), or of a folder's files in
     * name order (each file's relative path and bytes); "absent" where there is no such file (a
     * source that is a library's name, such as cuBLAS's).
     */
    public static String sourceHash(Path root, String source) {
        if (source == null || source.isBlank()) return "absent";
        try {
            Path p = root.resolve(source).normalize();
            if (!p.startsWith(root.normalize()) || !Files.exists(p)) return "absent";
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            if (Files.isDirectory(p)) {
                List<Path> files;
                try (Stream<Path> s = Files.walk(p)) {
                    files = s.filter(Files::isRegularFile).sorted().toList();
                }
                for (Path f : files) {
                    sha.update(p.relativize(f).toString().getBytes(StandardCharsets.UTF_8));
                    sha.update(Files.readAllBytes(f));
                }
            } else {
                sha.update(Files.readAllBytes(p));
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (java.nio.file.InvalidPathException e) {
            return "absent";
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + source + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
