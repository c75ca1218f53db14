package dev.jgan.api;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.gan.Checkpoints;
import dev.jgan.gan.Generation;
import dev.jgan.testing.TinyRuns;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The public Generator: the same samples as the CLI's generation, the promises of its Javadoc
 * (the noise of a seed, thread safety, close during a call, no leak), and one-line bad input.
 * Two checkpoints of {@link TinyRuns}: fast-fmnist (conditional, with an EMA G) and
 * mlp-gan-small (unconditional, none), 4 steps each on TinyData.
 */
class GeneratorTest {
    @TempDir static Path tmp;
    static Path conditional, plain;
    static final Generator.Options CPU = new Generator.Options("cpu", 2, 16, true);
    /**
     * The same images made in batches of 16 and of 256: the same weights and statistics, other GEMM
     * and convolution blockings, so float32 summation orders differ by an ulp or so a layer.
     */
    static final double OTHER_BATCH_ATOL = 1e-5;

    @BeforeAll
    static void train() {
        conditional = TinyRuns.checkpoint("fast-fmnist");
        plain = TinyRuns.checkpoint("mlp-gan-small");
    }

    @Test
    void samplesAreTheCliGenerationsAndTellWhatTheyAre() {
        Backend b = TestBackends.cpu();   // shared by the test JVM's tests: not closed here
        try (Generator g = Generator.load(conditional, CPU)) {
            assertEquals("fast-fmnist", g.preset());
            assertEquals(4, g.step());
            assertEquals(10, g.classes());
            assertEquals(100, g.noiseSize());
            assertArrayEquals(new int[] {1, 28, 28}, g.itemShape());
            assertTrue(g.usesEma(), "fast-fmnist's checkpoint has an EMA G");
            Samples s = g.sample(16, 5);
            float[] cli = Generation.generate(b, Checkpoints.read(conditional), 256, 5, true, null);   // gan sample --n 256: batches of 256
            try (Generator g256 = Generator.load(conditional, CPU.withBatch(256))) {
                assertArrayEquals(java.util.Arrays.copyOf(cli, 16 * 784), g256.sample(16, 5).values(),
                        "Generator.sample(16, 5) in batches of 256 against gan sample's first 16, same seed");
            }
            double worst = 0;
            for (int i = 0; i < s.values().length; i++) worst = Math.max(worst, Math.abs(s.values()[i] - cli[i]));
            assertTrue(worst <= OTHER_BATCH_ATOL, "in batches of 16, the EMA G's statistics are still gan sample's: " + worst);
            assertEquals(16, s.count());
            assertEquals(3, s.classes()[13], "class i % K");
            for (float v : s.values()) assertTrue(v >= -1 && v <= 1, "tanh output in [-1, 1]: " + v);
            int[] sevens = new int[256];
            java.util.Arrays.fill(sevens, 7);
            float[] cliSevens = Generation.generate(b, Checkpoints.read(conditional), 256, 5, true, sevens);
            float[] mine = g.sample(16, 5, 7).values();
            worst = 0;
            for (int i = 0; i < mine.length; i++) worst = Math.max(worst, Math.abs(mine[i] - cliSevens[i]));
            assertTrue(worst <= OTHER_BATCH_ATOL, "16 of class 7 against gan sample --class 7's first 16: " + worst);
        }
        try (Generator g = Generator.load(plain, CPU.withEma(true))) {
            assertFalse(g.usesEma(), "mlp-gan-small's checkpoint has no EMA G");
            assertArrayEquals(g.sample(1, 3).values(), g.interpolate(3, 4, 3).item(0), "an unconditional walk starts at seed 3's image");
            assertEquals(0, g.classes());
            assertArrayEquals(Generation.generate(b, Checkpoints.read(plain), 16, 9, true, null), g.sample(16, 9).values());
            assertEquals(null, g.sample(3, 9).classes());
        }
    }

    @Test
    void sampleIsNoiseOfItsSeedAndEachVectorTheSameForEveryCount() {
        try (Generator g = Generator.load(conditional, CPU)) {
            float[] z = g.noise(40, 3);
            assertArrayEquals(g.sample(40, 3).values(), g.sample(z, null).values(), "sample(n, seed) is sample(noise(n, seed))");
            float[] first = java.util.Arrays.copyOf(z, 100);
            assertArrayEquals(first, g.noise(1, 3), "vector 0 of 40 is noise(1, 3)");
            Samples forty = g.sample(40, 3);   // three chunks of 16, the last padded
            assertArrayEquals(forty.item(0), g.sample(1, 3).values(), "sample(1, s) is sample(40, s)'s first");
            float[] tail = java.util.Arrays.copyOfRange(z, 37 * 100, 40 * 100);
            assertArrayEquals(java.util.Arrays.copyOfRange(forty.values(), 37 * 784, 40 * 784),
                    g.sample(tail, new int[] {7, 8, 9}).values(), "items 37..39 (a padded chunk's) alone");
            assertFalse(java.util.Arrays.equals(g.sample(1, 3).values(), g.sample(1, 4).values()), "another seed, another image");
        }
    }

    @Test
    void interpolationRunsFromOneSeedsImageToTheOthers() {
        try (Generator g = Generator.load(conditional, CPU)) {
            Samples path = g.interpolate(1, 2, 5, 4);
            assertEquals(5, path.count());
            assertArrayEquals(g.sample(1, 1, 4).values(), path.item(0), "frame 0 is seed 1's image");
            assertArrayEquals(g.sample(1, 2, 4).values(), path.item(4), "the last frame is seed 2's");
            assertFalse(java.util.Arrays.equals(path.item(1), path.item(0)), "a frame between is another image");
            assertThrows(IllegalArgumentException.class, () -> g.interpolate(1, 2, 1, 4));
            var img = path.image(2);
            assertEquals(28, img.getWidth());
            assertEquals(java.awt.image.BufferedImage.TYPE_BYTE_GRAY, img.getType());
            int gray = img.getRaster().getSample(5, 9, 0);
            float v = path.item(2)[9 * 28 + 5];
            assertEquals((v + 1) / 2 * 255, gray, 1.0, "pixel (5, 9): [-1, 1] as 0 .. 255");
        }
    }

    /** 8 threads of 6 calls each, all at once, get what the same calls get one by one. */
    @Test
    void concurrentCallersGetTheirOwnResults() throws Exception {
        try (Generator g = Generator.load(conditional, CPU); ExecutorService pool = Executors.newFixedThreadPool(8)) {
            int threads = 8, calls = 6;
            float[][] alone = new float[threads * calls][];
            for (int i = 0; i < alone.length; i++) alone[i] = g.sample(1 + i % 20, 100 + i).values();
            CountDownLatch start = new CountDownLatch(1);
            List<Future<float[][]>> got = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int first = t * calls;
                got.add(pool.submit(() -> {
                    start.await();
                    float[][] r = new float[calls][];
                    for (int c = 0; c < calls; c++) r[c] = g.sample(1 + (first + c) % 20, 100 + first + c).values();
                    return r;
                }));
            }
            start.countDown();
            for (int t = 0; t < threads; t++) {
                float[][] r = got.get(t).get();
                for (int c = 0; c < calls; c++) assertArrayEquals(alone[t * calls + c], r[c], "thread " + t + ", call " + c);
            }
        }
    }

    /** close while another thread samples: its calls finish whole or throw IllegalStateException, nothing else. */
    @Test
    void closeWaitsForTheCallInProgressAndLaterCallsSayClosed() throws Exception {
        Generator g = Generator.load(conditional, CPU);
        float[] expected = g.sample(64, 11).values();
        AtomicInteger whole = new AtomicInteger();
        CountDownLatch running = new CountDownLatch(1);
        Thread caller = new Thread(() -> {
            try {
                while (true) {
                    running.countDown();
                    float[] v = g.sample(64, 11).values();
                    if (!java.util.Arrays.equals(expected, v)) throw new AssertionError("a call cut short returned other floats");
                    whole.incrementAndGet();
                }
            } catch (IllegalStateException closed) {
                // the end this test waits for
            }
        });
        List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        caller.setUncaughtExceptionHandler((t, e) -> failures.add(e));
        caller.start();
        running.await();
        Thread.sleep(50);
        g.close();
        caller.join(60_000);
        assertFalse(caller.isAlive(), "the caller ends once the Generator is closed");
        assertTrue(failures.isEmpty(), "the caller failed: " + failures);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> g.sample(1, 1));
        assertEquals("this Generator is closed", e.getMessage());
        assertThrows(IllegalStateException.class, () -> g.noise(1, 1));
        g.close();   // idempotent
    }

    /** Loading and closing 40 times leaves no threads behind and the heap where it was (within 16 MiB). */
    @Test
    void loadAndCloseLeakNothing() throws Exception {
        for (int i = 0; i < 5; i++) try (Generator g = Generator.load(plain, CPU)) { g.sample(4, i); }   // warm: classes, caches
        var threads = ManagementFactory.getThreadMXBean();
        long heap0 = usedHeapAfterGc();
        int threads0 = threads.getThreadCount();
        for (int i = 0; i < 40; i++) try (Generator g = Generator.load(plain, CPU)) { g.sample(4, i); }
        long grown = usedHeapAfterGc() - heap0;
        assertTrue(threads.getThreadCount() <= threads0, "threads: " + threads0 + " before, " + threads.getThreadCount() + " after");
        assertTrue(grown < 16L << 20, "40 loads and closes grew the used heap by " + (grown >> 10) + " KiB");
    }

    static long usedHeapAfterGc() throws InterruptedException {
        long least = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
            Runtime r = Runtime.getRuntime();
            least = Math.min(least, r.totalMemory() - r.freeMemory());
        }
        return least;
    }

    @Test
    void badInputIsOneLine() throws Exception {
        UserError missing = assertThrows(UserError.class, () -> Generator.load(tmp.resolve("none.safetensors"), CPU));
        assertTrue(missing.getMessage().contains("not found"), missing.getMessage());
        Path junk = Files.writeString(tmp.resolve("junk.safetensors"), "not a checkpoint");
        UserError corrupt = assertThrows(UserError.class, () -> Generator.load(junk, CPU));
        assertFalse(corrupt.getMessage().contains("\n"), corrupt.getMessage());
        var c = dev.jgan.io.Safetensors.read(conditional);
        var meta = new java.util.HashMap<>(c.metadata());
        meta.put("format", "jgan-checkpoint-2");
        Path future = tmp.resolve("future.safetensors");
        dev.jgan.io.Safetensors.write(future, c.tensors(), meta);
        UserError newer = assertThrows(UserError.class, () -> Generator.load(future, CPU));
        assertTrue(newer.getMessage().endsWith("is in format jgan-checkpoint-2, which this jgan does not read (it reads "
                + "jgan-checkpoint-1): it was written by a newer jgan; upgrade to read it"), newer.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Generator.Options("tpu", 2, 16, true));
        assertThrows(IllegalArgumentException.class, () -> CPU.withBatch(0));
        try (Generator g = Generator.load(conditional, CPU); Generator p = Generator.load(plain, CPU)) {
            assertEquals("n must be at least 1, got 0", assertThrows(IllegalArgumentException.class, () -> g.sample(0, 1)).getMessage());
            assertEquals("class 10 is not one of this model's: 0 .. 9",
                    assertThrows(IllegalArgumentException.class, () -> g.sample(2, 1, 10)).getMessage());
            assertEquals("noise must hold n vectors of 100 floats, got 150 floats",
                    assertThrows(IllegalArgumentException.class, () -> g.sample(new float[150], null)).getMessage());
            assertTrue(assertThrows(IllegalArgumentException.class, () -> p.sample(1, 1, 0)).getMessage().contains("not class-conditional"));
        }
    }
}
