package dev.jgan.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The GPU memory adapter's caching allocator over a fake device that records every call. */
class CachingAllocatorTest {
    /** A device of {@code capacity} bytes that logs its calls. */
    static final class FakeDevice implements CachingAllocator.Device {
        final List<String> calls = new ArrayList<>();
        final Set<Long> allocated = new HashSet<>();
        final Map<Long, Long> sizes = new HashMap<>();
        long capacity, used, next = 0x10000;

        FakeDevice(long capacity) { this.capacity = capacity; }

        @Override public long allocate(long bytes) {
            calls.add("alloc " + bytes);
            if (used + bytes > capacity) return 0;
            used += bytes;
            long a = next;
            next += (bytes + 255) / 256 * 256 + 256;
            allocated.add(a);
            sizes.put(a, bytes);
            return a;
        }

        @Override public void free(long address) {
            calls.add("free");
            assertTrue(allocated.remove(address), "double or foreign free");
            used -= sizes.remove(address);
        }

        @Override public void synchronize() { calls.add("sync"); }
    }

    @Test
    void sizeClassesAreFourPerPowerOfTwo() {
        assertEquals(512, CachingAllocator.sizeClass(1));
        assertEquals(512, CachingAllocator.sizeClass(512));
        assertEquals(640, CachingAllocator.sizeClass(513));
        assertEquals(1024, CachingAllocator.sizeClass(1024));
        assertEquals(1280, CachingAllocator.sizeClass(1025));
        assertEquals(7L << 20, CachingAllocator.sizeClass((6L << 20) + 1));
        for (long b = 1; b < 1 << 20; b += 97) {
            long c = CachingAllocator.sizeClass(b);
            assertTrue(c >= b && (b <= 512 || c < b * 1.25 + 1), b + " -> " + c);
        }
        assertThrows(IllegalArgumentException.class, () -> CachingAllocator.sizeClass(0));
    }

    @Test
    void aFreedBlockIsReusedWithoutAnyDeviceCall() {
        FakeDevice d = new FakeDevice(1 << 20);
        CachingAllocator a = new CachingAllocator(d);
        long x = a.allocate(1000);
        assertEquals(List.of("alloc 1024"), d.calls);
        a.free(x);
        assertEquals(1, d.calls.size(), "free calls nothing on the device (cuMemFree would wait for it)");
        assertEquals(x, a.allocate(900), "same class, same block");
        assertEquals(1, d.calls.size());
        assertEquals(1, a.deviceAllocations());
        long y = a.allocate(2000);                       // another class: a new block
        assertTrue(y != x);
        assertEquals(2, a.liveBlocks());
        assertThrows(IllegalArgumentException.class, () -> a.free(12345));
        a.free(y);
        assertThrows(IllegalArgumentException.class, () -> a.free(y), "a double free is refused");
    }

    @Test
    void freeFromAnotherThreadMakesNoDeviceCall() throws InterruptedException {
        FakeDevice d = new FakeDevice(1 << 20);
        CachingAllocator a = new CachingAllocator(d);
        long x = a.allocate(4096);
        Thread cleaner = new Thread(() -> a.free(x));
        cleaner.start();
        cleaner.join();
        assertEquals(List.of("alloc 4096"), d.calls);
        assertEquals(4096, a.cachedBytes());
        assertEquals(0, a.liveBytes());
    }

    @Test
    void outOfMemorySynchronisesReleasesTheCacheAndRetriesOnce() {
        FakeDevice d = new FakeDevice(3000);
        CachingAllocator a = new CachingAllocator(d);
        long x = a.allocate(1024), y = a.allocate(1024);
        a.free(x);
        a.free(y);
        d.calls.clear();
        long z = a.allocate(2048);                       // 2048 more does not fit beside the 2048 cached
        assertEquals(List.of("alloc 2048", "sync", "free", "free", "alloc 2048"), d.calls);
        assertEquals(0, a.cachedBytes());
        assertEquals(2048, a.liveBytes());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> a.allocate(2048));
        assertTrue(e.getMessage().contains("CUDA_ERROR_OUT_OF_MEMORY"), e.getMessage());
        a.free(z);
    }

    @Test
    void closeSynchronisesAndReleasesEverything() {
        FakeDevice d = new FakeDevice(1 << 20);
        CachingAllocator a = new CachingAllocator(d);
        a.allocate(100);
        a.free(a.allocate(5000));
        d.calls.clear();
        a.close();
        assertEquals("sync", d.calls.get(0), "the stream is idle before any cuMemFree");
        assertEquals(3, d.calls.size());
        assertTrue(d.allocated.isEmpty());
        assertEquals(0, a.liveBlocks());
        assertEquals(0, a.cachedBytes());
    }
}
