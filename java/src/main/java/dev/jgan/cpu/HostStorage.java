package dev.jgan.cpu;

import dev.jgan.tensor.Storage;
import org.bytedeco.javacpp.FloatPointer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Off-heap host memory behind a CPU tensor: a 64-byte aligned, zero-filled {@link MemorySegment}
 * from its own automatic arena (freed by the garbage collector with the last tensor that uses it),
 * and a javacpp {@link FloatPointer} at the same address for OpenBLAS, made once here so that a
 * GEMM allocates nothing.
 */
public final class HostStorage implements Storage {
    /** A cache line, and the widest (AVX-512) vector load. */
    public static final long ALIGNMENT = 64;

    private final MemorySegment segment;
    private final FloatPointer pointer;

    public HostStorage(long floats) {
        if (floats <= 0) throw new IllegalArgumentException("HostStorage: need a positive float count, got " + floats);
        this.segment = Arena.ofAuto().allocate(Math.multiplyExact(floats, (long) Float.BYTES), ALIGNMENT);
        this.pointer = new AddressPointer(segment, floats);
    }

    @Override public long floats() { return segment.byteSize() / Float.BYTES; }

    /** The memory, for the Vector API and host copies. */
    public MemorySegment segment() { return segment; }

    /**
     * The same memory as a javacpp pointer. It frees nothing (no deallocator) but references the
     * segment, so the memory stays alive while a native call holds the pointer.
     */
    FloatPointer pointer() { return pointer; }

    /** A FloatPointer over existing memory, without the copy or allocation FloatPointer's constructors make. */
    private static final class AddressPointer extends FloatPointer {
        @SuppressWarnings("unused") // keeps the automatic arena's memory reachable from the pointer
        private final MemorySegment owner;

        AddressPointer(MemorySegment owner, long floats) {
            this.owner = owner;
            this.address = owner.address();
            this.capacity = floats;
            this.limit = floats;
        }
    }
}
