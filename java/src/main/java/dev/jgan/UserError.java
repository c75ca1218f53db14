package dev.jgan;

/**
 * A failure caused by the user's input or environment (a missing file, a corrupt checkpoint, a
 * wrong flag). The CLI prints its message as one line and exits non-zero; the message says what
 * is wrong and, where it can, what to do. The stack trace is shown only with --debug.
 */
public class UserError extends RuntimeException {
    private final int exitCode;

    public UserError(String message) { this(message, 2, null); }

    public UserError(String message, Throwable cause) { this(message, 2, cause); }

    public UserError(String message, int exitCode, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public int exitCode() { return exitCode; }
}
