package dev.jgan.io;

import java.io.EOFException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.zip.ZipException;

/**
 * Turns an {@link IOException} into the short reason a person reads in a one-line error.
 * The JDK's file exceptions often carry only the path as their message ("/x/y"), which says
 * nothing once the path is already in the sentence; this names the problem instead.
 */
public final class IoErrors {
    private IoErrors() {}

    /** A lower-case reason such as "permission denied" or "no such file or directory". */
    public static String reason(IOException e) {
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof NoSuchFileException) return "no such file or directory";
        if (e instanceof NotDirectoryException) return "not a directory";
        if (e instanceof FileAlreadyExistsException) return "a file of that name is in the way";
        if (e instanceof DirectoryNotEmptyException) return "directory not empty";
        if (e instanceof EOFException) return "unexpected end of file";
        if (e instanceof ZipException z) return "bad gzip data (" + z.getMessage() + ")";
        if (e instanceof FileSystemException f && f.getReason() != null) return lower(f.getReason());
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : lower(m);
    }

    private static String lower(String s) {
        return s.isEmpty() ? s : Character.toLowerCase(s.charAt(0)) + s.substring(1);
    }
}
