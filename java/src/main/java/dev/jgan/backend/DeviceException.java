package dev.jgan.backend;

/**
 * A device or one of its libraries failed (a CUDA, cuBLAS or cuDNN status other than success, or
 * a kernel launch that did not run). The message names the call, its shapes and the status, in
 * one line; the CLI prints it as such and exits with {@link #EXIT_CODE}. Not a bug in the caller's
 * input, and not a bug of jgan's own: the device may be out of memory, faulted or lost.
 */
public class DeviceException extends IllegalStateException {
    /** The CLI's exit code for a device failure. */
    public static final int EXIT_CODE = 4;

    public DeviceException(String message) { super(message); }

    public DeviceException(String message, Throwable cause) { super(message, cause); }
}
