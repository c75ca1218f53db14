package dev.jgan.random;

/**
 * A seed and a running Philox block offset: each draw reserves the blocks it consumes, so that
 * successive fills never overlap and the whole state is two longs (saved in checkpoints).
 */
public final class RngStream {
    private final long seed;
    private long offset;

    public RngStream(long seed, long offset) {
        this.seed = seed;
        this.offset = offset;
    }

    public long seed() { return seed; }

    public long offset() { return offset; }

    /** Moves to an offset saved earlier (resuming a run). */
    public void seek(long newOffset) { this.offset = newOffset; }

    /** Reserves the blocks for {@code n} elements and returns the offset the fill starts at. */
    public long take(long n) {
        long start = offset;
        offset += Philox.blocks(n);
        return start;
    }
}
