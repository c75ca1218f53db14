package dev.jgan.cuda.emulated;

import dev.jgan.cuda.DeviceMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.TreeMap;

/**
 * The emulated device's memory: each allocation is host memory of its own (256-byte aligned, as
 * cuMemAlloc's), and its "device pointer" is the host address, which the emulated kernels take as
 * they are. Every operation is synchronous, so the stream is always idle and the timer is the
 * wall clock.
 *
 * <p>Unlike a GPU, the emulation knows every allocation: {@link #segment} resolves an address
 * range to host memory and fails if the range leaves its allocation, so that the emulated BLAS
 * and DNN turn a wrong leading dimension or a wrong size into an error instead of reading
 * someone else's memory. Contents of a new allocation are undefined, as on a GPU: they are
 * filled with NaN, so an op that reads memory nobody wrote shows it.
 */
public final class EmulatedMemory implements DeviceMemory {
    /** cuMemAlloc's alignment. */
    public static final long ALIGNMENT = 256;

    private final TreeMap<Long, Allocation> allocations = new TreeMap<>();
    private long bytesInUse;

    private record Allocation(Arena arena, MemorySegment segment) {}

    @Override public String describe() {
        return "emulated device memory (host)";
    }

    @Override public synchronized long allocate(long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("cuMemAlloc (emulated): need a positive size, got " + bytes + " bytes");
        Arena arena = Arena.ofShared();
        MemorySegment s = arena.allocate(bytes, ALIGNMENT);
        s.fill((byte) 0xff); // all-ones float bits: NaN
        allocations.put(s.address(), new Allocation(arena, s));
        bytesInUse += bytes;
        return s.address();
    }

    @Override public synchronized void free(long address) {
        Allocation a = allocations.remove(address);
        if (a == null) throw new IllegalArgumentException("cuMemFree (emulated): 0x" + Long.toHexString(address) + " was not allocated");
        bytesInUse -= a.segment.byteSize();
        a.arena.close();
    }

    /** Allocations not yet freed (for tests of the backend's memory handling). */
    public synchronized int liveAllocations() { return allocations.size(); }

    /**
     * Host memory for device range [address, address + bytes), which must lie inside one allocation;
     * {@code what} names the operand in the failure ("cublasSgemm A (lda=..)").
     */
    public synchronized MemorySegment segment(long address, long bytes, String what) {
        Map.Entry<Long, Allocation> e = allocations.floorEntry(address);
        if (e != null) {
            MemorySegment s = e.getValue().segment;
            long offset = address - e.getKey();
            if (bytes >= 0 && offset + bytes <= s.byteSize()) return s.asSlice(offset, bytes);
            throw new IllegalArgumentException(what + ": " + bytes + " bytes at 0x" + Long.toHexString(address) + " run "
                    + (offset + bytes - s.byteSize()) + " bytes past the end of its allocation of " + s.byteSize() + " bytes");
        }
        throw new IllegalArgumentException(what + ": 0x" + Long.toHexString(address) + " is not device memory");
    }

    @Override public void copyToDevice(float[] src, int srcIndex, long dst, long floats) {
        MemorySegment d = segment(dst, floats * Float.BYTES, "cuMemcpyHtoD (emulated) dst");
        MemorySegment.copy(src, srcIndex, d, ValueLayout.JAVA_FLOAT, 0, Math.toIntExact(floats));
    }

    @Override public void copyToHost(long src, float[] dst, int dstIndex, long floats) {
        MemorySegment s = segment(src, floats * Float.BYTES, "cuMemcpyDtoH (emulated) src");
        MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, 0, dst, dstIndex, Math.toIntExact(floats));
    }

    @Override public void copy(long src, long dst, long bytes) {
        MemorySegment s = segment(src, bytes, "cuMemcpyDtoD (emulated) src"), d = segment(dst, bytes, "cuMemcpyDtoD (emulated) dst");
        MemorySegment.copy(s, 0, d, 0, bytes);
    }

    @Override public void fill32(long dst, int value, long count) {
        MemorySegment d = segment(dst, count * 4, "cuMemsetD32 (emulated) dst");
        if (value == 0) d.fill((byte) 0);
        else for (long i = 0; i < count; i++) d.setAtIndex(ValueLayout.JAVA_INT, i, value);
    }

    @Override public void synchronize() {}

    @Override public DeviceTimer timer() {
        return new DeviceTimer() {
            private long start;

            @Override public void start() { start = System.nanoTime(); }

            @Override public double stopMillis() { return (System.nanoTime() - start) / 1e6; }
        };
    }

    /** Frees every allocation left. */
    @Override public synchronized void close() {
        for (Allocation a : allocations.values()) a.arena.close();
        allocations.clear();
        bytesInUse = 0;
    }

    @Override public String toString() { return describe(); }
}
