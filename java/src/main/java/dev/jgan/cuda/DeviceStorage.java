package dev.jgan.cuda;

import dev.jgan.tensor.Storage;

import java.lang.ref.Cleaner;
import java.util.Queue;

/**
 * Device memory behind a CUDA tensor: an address from the backend's {@link DeviceMemory} and its
 * capacity. When the garbage collector finds the storage unreachable, its address goes onto the
 * backend's release queue, and the backend frees it on its own thread at the next allocation or
 * {@code close}, so the cleaner's thread never calls into a memory adapter.
 */
final class DeviceStorage implements Storage {
    private static final Cleaner CLEANER = Cleaner.create();

    private final long address;
    private final long floats;

    DeviceStorage(long address, long floats, Queue<Long> releases) {
        this.address = address;
        this.floats = floats;
        CLEANER.register(this, () -> releases.add(address)); // the lambda must not capture this
    }

    /** The device address of the first float. */
    long address() { return address; }

    @Override public long floats() { return floats; }
}
