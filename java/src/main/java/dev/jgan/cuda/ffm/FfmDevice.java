package dev.jgan.cuda.ffm;

import dev.jgan.cuda.CudaBackend;

/** TEMPORARY compile stub in the lead's branch; helper ffm's FfmDevice replaces it. */
public final class FfmDevice {
    public record Libraries(String driver, String cublas, String cudnn) {}

    public static CudaBackend open(int ordinal, long workspaceLimit, boolean nondeterministicAllowed, Libraries libs) {
        throw new UnsupportedOperationException("ffm not merged yet");
    }
}
