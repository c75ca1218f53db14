package dev.jgan.lab.cuda;

import dev.jgan.backend.Backend;
import dev.jgan.check.CheckResult;
import dev.jgan.check.OpSuite;
import dev.jgan.check.PresetOps;
import dev.jgan.check.Reference;
import dev.jgan.check.SelfCheck;
import dev.jgan.cuda.CudaBackend;
import dev.jgan.cuda.Dim3;
import dev.jgan.cuda.KernelArgs;
import dev.jgan.cuda.KernelLauncher;
import dev.jgan.cuda.Kernels;
import dev.jgan.cuda.emulated.EmulatedBlas;
import dev.jgan.cuda.emulated.EmulatedDnn;
import dev.jgan.cuda.emulated.EmulatedLauncher;
import dev.jgan.cuda.emulated.EmulatedMemory;
import dev.jgan.cuda.gpu.VirtualGpu;
import dev.jgan.gan.Preset;
import dev.jgan.gan.Presets;
import dev.jgan.lab.CudaRoute;
import dev.jgan.lab.KernelLab;
import dev.jgan.lab.LabOp;
import dev.jgan.lab.Variant;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * The kernel lab's batch_norm small-spatial variant (kernels/lab/batch_norm/small_spatial.cu) on
 * the CUDA backend that is present: the emulated device in the default test JVM, the virtual GPU
 * (JNI, then FFM adapters) in surefire's virtual-gpu executions. It runs the batch-norm cases of
 * the op suite (the quick set, every preset's calls, and small planes of its own), with the op
 * suite's tolerances against {@link Reference}; checks that the routed launches really reached
 * the lab's six kernels; that y may alias x and dx dy; that mean-1e4 data keeps its variance; and
 * that the kernels' barriers matter (the barrier-free emulation fails them).
 */
class BatchNormSmallSpatialTest {
    /**
     * Small planes: dcgan-64's 4x4 at batch 64 (8 items a thread, the most kept in registers), 2x2, a
     * single item, 3x3 with odd C, 5x7 (35 floats: production keeps it), and 97 items of 4x4 (13 a
     * thread: the passes read x again).
     */
    static final List<Shape> SMALL_PLANES = List.of(Shape.of(64, 512, 4, 4), Shape.of(3, 7, 2, 2), Shape.of(1, 5, 4, 4),
            Shape.of(13, 33, 3, 3), Shape.of(2, 3, 5, 7), Shape.of(97, 6, 4, 4));

    private static final Variant VARIANT = KernelLab.find("batch_norm:small-spatial", Variant.Device.CUDA).getFirst();

    static Stream<OpSuite.Case> cases() {
        List<OpSuite.Case> out = new ArrayList<>();
        for (OpSuite.Case c : OpSuite.quick()) if (touchesBatchNorm(c)) out.add(c);
        for (Preset p : Presets.all().values())
            for (OpSuite.Case c : PresetOps.cases(TestBackends.cpu(), p, Math.min(p.batch(), SelfCheck.OP_BATCH)))
                if (touchesBatchNorm(c)) out.add(c);
        out.addAll(smallPlaneCases());
        return out.stream();
    }

    private static List<OpSuite.Case> smallPlaneCases() {
        List<OpSuite.Case> out = new ArrayList<>();
        for (Shape s : SMALL_PLANES) {
            out.add(OpSuite.batchNorm(s, 0.1f, 1e-2f));
            out.add(OpSuite.batchNormLeakyRelu(s, 0.1f, 1e-2f, 0f));
            out.add(OpSuite.batchNormLeakyRelu(s, 0.1f, 1e-5f, 0.2f));
        }
        return out;
    }

    private static boolean touchesBatchNorm(OpSuite.Case c) {
        for (String op : c.ops()) if (LabOp.BATCH_NORM.calls().contains(op)) return true;
        return false;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesTheReference(OpSuite.Case c) {
        CheckResult r = c.run(VARIANT.on(cuda()));
        assertTrue(r.passed(), c + ": " + r.detail());
    }

    /** The small-plane cases through counting rules: every one of the six lab kernels ran, and the cases still pass. */
    @Test
    void theLaunchesReachTheLabKernels() {
        Map<String, AtomicInteger> routed = new ConcurrentHashMap<>();
        Map<String, CudaRoute.Rule> counting = new HashMap<>();
        BatchNormSmallSpatial.rules().forEach((kernel, rule) -> counting.put(kernel, production -> {
            Kernels.Launch l = rule.replace(production);
            if (l != null) routed.computeIfAbsent(l.kernel(), k -> new AtomicInteger()).incrementAndGet();
            return l;
        }));
        Backend b = CudaRoute.of(counting).apply(cuda());
        for (OpSuite.Case c : smallPlaneCases()) {
            CheckResult r = c.run(b);
            assertTrue(r.passed(), c + ": " + r.detail());
        }
        assertEquals(Set.copyOf(VARIANT.kernels()), routed.keySet(), "lab kernels launched: " + new TreeMap<>(routed));
    }

    @Test
    void launchShapes() {
        // dcgan-64's 4x4 planes: two channels a warp-wide row, 8 rows, 256 blocks
        assertEquals(new BatchNormSmallSpatial.Tile(32, 8, 2, 256), BatchNormSmallSpatial.Tile.of(64, 512, 16));
        // 3x3: 64 lanes hold 7 channels (63 busy), 4 rows; 33 channels in 5 tiles
        assertEquals(new BatchNormSmallSpatial.Tile(64, 4, 7, 5), BatchNormSmallSpatial.Tile.of(13, 33, 9));
        // a single item: one row
        assertEquals(new BatchNormSmallSpatial.Tile(32, 1, 2, 3), BatchNormSmallSpatial.Tile.of(1, 5, 16));
        // production keeps (N, C) tensors and planes from 33 floats on
        assertNull(BatchNormSmallSpatial.Tile.of(64, 512, 1));
        assertNull(BatchNormSmallSpatial.Tile.of(64, 256, 64));
        for (int s = 2; s <= BatchNormSmallSpatial.MAX_SPATIAL; s++)
            for (int c : new int[] {1, 3, 13, 512}) {
                BatchNormSmallSpatial.Tile t = BatchNormSmallSpatial.Tile.of(7, c, s);
                String at = "s " + s + " c " + c + ": " + t;
                assertTrue(t.lanes() % 32 == 0 && t.lanes() >= s && t.lanes() * t.rows() <= BatchNormSmallSpatial.MAX_THREADS, at);
                assertTrue(t.channels() == t.lanes() / s && t.channels() <= BatchNormSmallSpatial.MAX_TILE, at);
                assertTrue((long) t.blocks() * t.channels() >= c && (long) (t.blocks() - 1) * t.channels() < c, at);
            }
    }

    /** y = x in the forward and dx = dy in the backward give what separate outputs give, bit for bit. */
    @Test
    void outputsMayAliasInputs() {
        Backend b = VARIANT.on(cuda());
        for (Shape s : List.of(Shape.of(13, 33, 3, 3), Shape.of(5, 6, 4, 4), Shape.of(97, 6, 4, 4))) {
            for (float slope : new float[] {-1f, 0f, 0.2f}) {   // -1: the plain batch norm
                float[] x = uniform(1, s.intSize(), -2f, 3f), dy = uniform(2, s.intSize(), -1f, 1f);
                float[][] apart = run(b, s, slope, x, dy, false), aliased = run(b, s, slope, x, dy, true);
                for (int i = 0; i < apart.length; i++) assertArrayEquals(apart[i], aliased[i], s + " slope " + slope + " output " + i);
            }
        }
    }

    /** y, saveMean, saveInvStd, dx, dGamma, dBeta of a forward and backward, written apart from or over x and dy. */
    private static float[][] run(Backend b, Shape s, float slope, float[] xh, float[] dyh, boolean alias) {
        Shape c = Shape.of(s.dim(1));
        float[] ones = new float[s.dim(1)];
        java.util.Arrays.fill(ones, 1f);
        Tensor x = b.fromHost(xh, s), dy = b.fromHost(dyh, s), gamma = b.fromHost(uniform(3, s.dim(1), 0.5f, 1.5f), c),
                beta = b.fromHost(uniform(4, s.dim(1), -1f, 1f), c), rm = b.allocate(c), rv = b.fromHost(ones, c),
                sm = b.allocate(c), si = b.allocate(c), dGamma = b.allocate(c), dBeta = b.allocate(c);
        Tensor xKeep = b.fromHost(xh, s);   // the backward's x when the forward overwrote x
        Tensor y = alias ? x : b.allocate(s), dx = alias ? dy : b.allocate(s);
        if (slope < 0) b.batchNormTrain(x, gamma, beta, rm, rv, 0.1f, 1e-5f, y, sm, si);
        else b.batchNormLeakyReluTrain(x, gamma, beta, rm, rv, 0.1f, 1e-5f, slope, y, sm, si);
        float[] yh = y.toHost();
        if (slope < 0) b.batchNormBackward(xKeep, dy, gamma, sm, si, dx, dGamma, dBeta, false);
        else b.batchNormLeakyReluBackward(xKeep, y, dy, gamma, beta, slope, sm, si, dx, dGamma, dBeta, false);
        return new float[][] {yh, sm.toHost(), si.toHost(), dx.toHost(), dGamma.toHost(), dBeta.toHost()};
    }

    /**
     * A channel of mean 1e4 and spread ~1 keeps its variance (two passes in double): a float
     * single-pass E[x^2] - E[x]^2 would lose it entirely (x^2 ~ 1e8, float's ulp there is 8).
     */
    @Test
    void largeMeansKeepTheirVariance() {
        Backend b = VARIANT.on(cuda());
        Shape s = Shape.of(13, 33, 3, 3);
        int ch = s.dim(1);
        Shape c = Shape.of(ch);
        float[] x = uniform(5, s.intSize(), -1.7f, 1.7f);
        for (int i = 0; i < x.length; i++) x[i] += 1e4f;
        float[] gamma = uniform(6, ch, 0.5f, 1.5f), beta = uniform(7, ch, -1f, 1f), rm = new float[ch], rv = new float[ch];
        java.util.Arrays.fill(rv, 1f);
        float[] y = new float[x.length], sm = new float[ch], si = new float[ch];
        Tensor ty = b.allocate(s), tsm = b.allocate(c), tsi = b.allocate(c), trv = b.fromHost(rv, c);
        b.batchNormTrain(b.fromHost(x, s), b.fromHost(gamma, c), b.fromHost(beta, c), b.fromHost(rm, c), trv, 0.1f, 1e-5f, ty, tsm, tsi);
        Reference.batchNormTrain(x, s, gamma, beta, rm, rv, 0.1f, 1e-5f, y, sm, si);
        float[] gotSi = tsi.toHost(), gotRv = trv.toHost();
        for (int k = 0; k < ch; k++) {
            assertTrue(Math.abs(gotSi[k] - si[k]) <= OpSuite.BN_STAT_ATOL + OpSuite.BN_STAT_RTOL * Math.abs(si[k]),
                    "invStd of channel " + k + ": " + gotSi[k] + " vs " + si[k]);
            assertTrue(Math.abs(gotRv[k] - rv[k]) <= OpSuite.BN_STAT_ATOL + OpSuite.BN_STAT_RTOL * Math.abs(rv[k]),
                    "running variance of channel " + k + ": " + gotRv[k] + " vs " + rv[k]);
        }
        // y is off by up to |mean - float(mean)| gamma invStd <= 4.9e-4 * 1.5 * 1.1 (saveMean is a float, half an ulp of 1e4)
        final double yAtol = 1e-3;
        float[] gotY = ty.toHost();
        for (int i = 0; i < y.length; i++) assertTrue(Math.abs(gotY[i] - y[i]) <= yAtol, "y[" + i + "]: " + gotY[i] + " vs " + y[i]);
    }

    /** The small-plane cases with the emulation running a block's threads in descending order too (a race shows as a wrong result). */
    @Test
    void everyThreadOrderGivesTheSameResult() {
        if (VirtualGpu.requested()) abort("the default test JVM runs this, on the emulated device");
        Backend b = VARIANT.on(cuda());
        EmulatedLauncher lab = (EmulatedLauncher) EmulatedLauncher.load().lab();
        try {
            for (EmulatedLauncher.Schedule order : EmulatedLauncher.Schedule.values()) {
                lab.configure(0, order);
                for (OpSuite.Case c : smallPlaneCases()) {
                    CheckResult r = c.run(b);
                    assertTrue(r.passed(), c + " (" + order + "): " + r.detail());
                }
            }
        } finally {
            lab.configure(0, EmulatedLauncher.Schedule.ASCENDING);
        }
    }

    /**
     * The barrier-removal test: libjgan_lab_emu_nosync.so is kernels/lab/ built with __syncthreads()
     * defined away. Routing only the forwards, then only the backwards, to it (the other half stays
     * production), every case whose tile is several warps must fail: the segmented reduction reads
     * the other warps' partial sums, and the emulation does not pass a missing barrier by luck.
     * (A one-warp tile, e.g. (1, 5, 4, 4), is right without barriers: a warp's shuffles order it.)
     */
    @Test
    void removingTheBarriersGivesWrongResults() {
        if (VirtualGpu.requested()) abort("the default test JVM runs this, on the emulated device");
        cuda();   // skipped with the reason where the emulation was not built
        Path nosync = Path.of(System.getProperty("jgan.cmake.dir", "target/cmake")).resolve("libjgan_lab_emu_nosync.so");
        if (!Files.isRegularFile(nosync)) abort("the barrier-free lab emulation library " + nosync + " was not built");
        EmulatedLauncher production = EmulatedLauncher.load(), broken = EmulatedLauncher.load(nosync);
        KernelLauncher launcher = new KernelLauncher() {
            @Override public String describe() { return production.describe() + ", barrier-free lab"; }
            @Override public int multiprocessors() { return production.multiprocessors(); }
            @Override public void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {
                production.launch(kernel, grid, block, sharedBytes, args);
            }
            @Override public void synchronize() { production.synchronize(); }
            @Override public KernelLauncher lab() { return broken; }
        };
        EmulatedMemory memory = new EmulatedMemory();
        Backend device = new CudaBackend(memory, launcher, new EmulatedBlas(memory), new EmulatedDnn(memory), TestBackends.CUDA_WORKSPACE_LIMIT);
        List<String> passed = new ArrayList<>();
        for (String half : new String[] {"_forward", "_backward"}) {
            Map<String, CudaRoute.Rule> rules = new HashMap<>(BatchNormSmallSpatial.rules());
            rules.keySet().removeIf(k -> !k.endsWith(half));
            Backend b = CudaRoute.of(rules).apply(device);
            for (Shape s : List.of(Shape.of(64, 512, 4, 4), Shape.of(3, 7, 2, 2), Shape.of(13, 33, 3, 3), Shape.of(97, 6, 4, 4)))
                for (OpSuite.Case c : List.of(OpSuite.batchNorm(s, 0.1f, 1e-2f), OpSuite.batchNormLeakyRelu(s, 0.1f, 1e-2f, 0f),
                        OpSuite.batchNormLeakyRelu(s, 0.1f, 1e-2f, 0.2f)))
                    if (c.run(b).passed()) passed.add(c + " (lab " + half.substring(1) + "s)");
        }
        assertTrue(passed.isEmpty(), "without __syncthreads these cases still passed: " + passed);
    }

    private static float[] uniform(long seed, int n, float lo, float hi) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = lo + (hi - lo) * (float) r.nextDouble();
        return a;
    }

    private static Backend cuda() {
        Backend cuda = TestBackends.all().filter(b -> b.name().equals("cuda")).findFirst().orElse(null);
        if (cuda == null) {
            String why = "the CUDA backend is not present here: " + String.join("; ", TestBackends.absent().toList());
            if ("true".equals(System.getenv("CI"))) throw new AssertionError(why + "; CI=true requires it");
            abort(why);
        }
        return cuda;
    }
}
