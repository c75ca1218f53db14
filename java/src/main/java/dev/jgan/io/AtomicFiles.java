package dev.jgan.io;

import dev.jgan.UserError;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Writes a file so that readers only ever see the old complete file or the new complete file:
 * the bytes go to a temporary file in the target's directory, which is fsynced and then renamed
 * over the target (a rename within one directory is atomic on POSIX file systems). If the body
 * throws, the temporary file is deleted and the previous target is left as it was. Every writer
 * in jgan (checkpoints, PNGs, .npy, IDX, JSON) goes through here.
 */
public final class AtomicFiles {
    private static final int BUFFER_BYTES = 1 << 16;

    private AtomicFiles() {}

    /**
     * Writes {@code target} atomically with the bytes {@code body} puts into the stream. Missing
     * parent directories are created. The body must not keep the stream; closing it is harmless.
     *
     * @throws UserError "cannot write to DIR: reason" when the directory cannot be created or
     *     written, "cannot write FILE: reason" when writing fails later (disk full, ...).
     */
    public static void write(Path target, IOConsumer<OutputStream> body) {
        Path file = target.toAbsolutePath().normalize();
        Path dir = file.getParent();
        Path tmp;
        try {
            Files.createDirectories(dir);
            tmp = createTemp(dir, "." + file.getFileName() + ".");
        } catch (IOException e) {
            throw new UserError("cannot write to " + dir + ": " + IoErrors.reason(e), e);
        }
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                OutputStream buffered = new BufferedOutputStream(Channels.newOutputStream(ch), BUFFER_BYTES);
                body.accept(new KeepOpen(buffered));
                buffered.flush();
                ch.force(true);
            }
            move(tmp, file);
            syncDirectory(dir);
            done = true;
        } catch (IOException e) {
            throw new UserError("cannot write " + file + ": " + IoErrors.reason(e), e);
        } finally {
            if (!done) {
                try { Files.deleteIfExists(tmp); } catch (IOException ignored) { /* best effort */ }
            }
        }
    }

    /** Writes a string as UTF-8, atomically. */
    public static void writeString(Path target, String text) {
        write(target, out -> out.write(text.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * A temporary file with the permissions an ordinary new file gets (0666 less the umask), not
     * createTempFile's private 0600: checkpoints and samples are meant to be shared like any output.
     */
    private static Path createTemp(Path dir, String prefix) throws IOException {
        try {
            return Files.createTempFile(dir, prefix, ".tmp", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-rw-rw-")));
        } catch (UnsupportedOperationException e) {
            return Files.createTempFile(dir, prefix, ".tmp");  // not a POSIX file system
        }
    }

    private static void move(Path tmp, Path file) throws IOException {
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            // Same directory, so this only happens on exotic file systems; a plain replace is the best left.
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Makes the rename itself durable. Not every platform can open a directory; that is not an error. */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // best effort
        }
    }

    /** The body's view of the stream: close() only flushes, so the writer can still fsync and rename. */
    private static final class KeepOpen extends FilterOutputStream {
        KeepOpen(OutputStream out) { super(out); }

        @Override public void write(byte[] b, int off, int len) throws IOException { out.write(b, off, len); }

        @Override public void close() throws IOException { out.flush(); }
    }
}
