package dev.jgan.io;

import dev.jgan.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class AtomicFilesTest {
    @TempDir Path dir;

    @Test void writesAndReplaces() throws IOException {
        Path f = dir.resolve("a.txt");
        AtomicFiles.writeString(f, "first");
        AtomicFiles.writeString(f, "second");
        assertEquals("second", Files.readString(f));
        assertEquals(1, count(dir), "no temporary files left behind");
    }

    @Test void filesGetOrdinaryPermissionsNotTempFilePrivateOnes() throws IOException {
        Path plain = Files.createFile(dir.resolve("plain"));
        Path atomic = dir.resolve("atomic");
        AtomicFiles.writeString(atomic, "x");
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(atomic));
    }

    @Test void createsMissingDirectories() throws IOException {
        Path f = dir.resolve("runs/r1/samples/grid.txt");
        AtomicFiles.writeString(f, "x");
        assertEquals("x", Files.readString(f));
    }

    @Test void aBodyThatFailsMidwayLeavesThePreviousFileIntact() throws IOException {
        Path f = dir.resolve("ckpt.bin");
        AtomicFiles.writeString(f, "good");
        IOException boom = new IOException("disk on fire");
        UserError e = assertThrows(UserError.class, () -> AtomicFiles.write(f, out -> {
            out.write("partial new cont".getBytes(StandardCharsets.UTF_8));
            throw boom;
        }));
        assertEquals("cannot write " + f + ": disk on fire", e.getMessage());
        assertEquals("good", Files.readString(f));
        assertEquals(1, count(dir), "the temporary file is removed");

        RuntimeException bug = new IllegalStateException("bug");
        assertSame(bug, assertThrows(IllegalStateException.class, () -> AtomicFiles.write(f, out -> {
            out.write(1);
            throw bug;
        })));
        assertEquals("good", Files.readString(f));
        assertEquals(1, count(dir));
    }

    @Test void closingTheStreamInTheBodyIsHarmless() throws IOException {
        Path f = dir.resolve("c.txt");
        AtomicFiles.write(f, out -> {
            out.write('a');
            out.close();
        });
        assertEquals("a", Files.readString(f));
    }

    @Test void aFileWhereTheDirectoryShouldBeIsAUserError() throws IOException {
        Path blocker = dir.resolve("out");
        Files.writeString(blocker, "I am a file");
        UserError e = assertThrows(UserError.class, () -> AtomicFiles.writeString(blocker.resolve("x.png"), "x"));
        assertEquals("cannot write to " + blocker + ": a file of that name is in the way", e.getMessage());
    }

    @Test void aReadOnlyDirectoryIsAUserError() throws IOException {
        Path ro = Files.createDirectory(dir.resolve("ro"));
        Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            assumeFalse(Files.isWritable(ro), "running as root: permissions are not enforced");
            UserError e = assertThrows(UserError.class, () -> AtomicFiles.writeString(ro.resolve("x.txt"), "x"));
            assertEquals("cannot write to " + ro + ": permission denied", e.getMessage());
        } finally {
            Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    private static long count(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }
}
