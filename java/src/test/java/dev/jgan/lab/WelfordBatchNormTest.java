package dev.jgan.lab;

import dev.jgan.backend.Backend;
import dev.jgan.check.CheckResult;
import dev.jgan.check.OpSuite;
import dev.jgan.check.PresetOps;
import dev.jgan.check.SelfCheck;
import dev.jgan.gan.Preset;
import dev.jgan.gan.Presets;
import dev.jgan.lab.Variant.Device;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The kernel lab's CPU batch-norm variants (batch_norm:welford and welford-rows,
 * dev.jgan.lab.cpu.WelfordBatchNorm): the op checks of batch norm
 * (OpSuite's quick cases, shapes that reach every branch of its streams, the presets' calls), the
 * accuracy of both variants' statistics on shifted data (x ~ N(1e4, 1) per channel) against a
 * double two-pass reference on the same floats, and that a warm call allocates nothing.
 */
class WelfordBatchNormTest {
    /**
     * Both variants compute the statistics in double, to ~1e-13 relative on this data, and round each
     * saved value once to float: within half an ulp, 2^-24 relative. One ulp (2^-23) leaves the double
     * arithmetic room; a naive float one-pass (E[x^2] - E[x]^2) misses the variance by order 1 here.
     */
    static final double FLOAT_RESULT_RTOL = 0x1p-23;
    /** The shift and spread of the accuracy data: the mean is 1e4 standard deviations from zero. */
    static final double SHIFT = 1e4, SPREAD = 1;
    /** dcgan-64's (PyTorch's) eps; momentum 1, so the running variance is the batch's unbiased one. */
    static final float EPS = 1e-5f, MOMENTUM = 1f;

    /** Every batch-norm input of the presets at batch 64 (BatchNormBenchmark's list), and odd sizes. */
    static final List<Shape> SHIFTED_SHAPES = List.of(Shape.of(64, 256), Shape.of(64, 512), Shape.of(64, 1024),
            Shape.of(64, 12544), Shape.of(64, 128, 7, 7), Shape.of(64, 64, 14, 14), Shape.of(64, 512, 4, 4),
            Shape.of(64, 256, 8, 8), Shape.of(64, 128, 16, 16), Shape.of(64, 64, 32, 32), Shape.of(13, 19), Shape.of(3, 5, 7, 9));

    /** Beyond OpSuite's quick shapes: odd N in the lanes path, N == 1, S with a vector pair, a lone vector and a tail. */
    static final List<Shape> BRANCH_SHAPES = List.of(Shape.of(13, 19), Shape.of(1, 9), Shape.of(2, 3, 7, 9), Shape.of(3, 2, 4, 4),
            Shape.of(5, 3, 1, 8));

    /** The lab's CPU batch_norm variants (welford, welford-rows), read from the registry. */
    static List<Variant> labVariants() {
        return KernelLab.find("batch_norm", Device.CPU).stream().filter(v -> !v.name().equals(KernelLab.BASELINE)).toList();
    }

    static Stream<Arguments> cases() {
        Backend cpu = TestBackends.cpu();
        List<OpSuite.Case> cases = new ArrayList<>();
        for (OpSuite.Case c : OpSuite.quick())
            if (!Collections.disjoint(c.ops(), LabOp.BATCH_NORM.calls())) cases.add(c);
        for (Shape s : BRANCH_SHAPES) {
            cases.add(OpSuite.batchNorm(s, 0.1f, 1e-2f));
            cases.add(OpSuite.batchNormLeakyRelu(s, 0.1f, 1e-5f, 0.2f));
        }
        for (String name : SelfCheck.PRESETS) {
            Preset p = Presets.get(name);
            for (OpSuite.Case c : PresetOps.cases(cpu, p, Math.min(p.batch(), SelfCheck.OP_BATCH)))
                if (!Collections.disjoint(c.ops(), LabOp.BATCH_NORM.calls())) cases.add(c);
        }
        return labVariants().stream().flatMap(v -> {
            Backend b = v.on(cpu);
            return cases.stream().map(c -> Arguments.of(Named.of(v.id(), b), c));
        });
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void opSuiteCasePasses(Backend b, OpSuite.Case c) {
        CheckResult r = c.run(b);
        assertTrue(r.passed(), c + ": " + r.detail() + " (error " + r.error() + ", tolerance " + r.tolerance() + ")");
    }

    /** The saved mean and 1/std and the running variance of both variants on x ~ N(1e4, 1), against double two-pass sums. */
    @Test
    void statisticsOfShiftedDataAreFloatRoundingsOfTheExactOnes() {
        Backend cpu = TestBackends.cpu();
        List<Variant> variants = KernelLab.find("batch_norm", Device.CPU);
        StringBuilder table = new StringBuilder("max relative error on x ~ N(1e4, 1): shape, then per variant mean / invStd / variance\n");
        double naiveFloat = 0, naiveDouble = 0;
        for (Shape shape : SHIFTED_SHAPES) {
            int n = shape.dim(0), c = shape.dim(1), s = shape.spatial();
            long m = (long) n * s;
            float[] x = shifted(shape, 42);
            double[] mean = new double[c], var = new double[c];
            for (int ch = 0; ch < c; ch++) {
                double sum = 0, squares = 0, sumD = 0, squaresD = 0;
                float sumF = 0, squaresF = 0;
                for (int i = 0; i < n; i++) for (int j = 0; j < s; j++) sum += x[(i * c + ch) * s + j];
                mean[ch] = sum / m;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < s; j++) {
                        float v = x[(i * c + ch) * s + j];
                        squares += (v - mean[ch]) * (v - mean[ch]);
                        sumD += v;
                        squaresD += (double) v * v;
                        sumF += v;
                        squaresF += v * v;
                    }
                var[ch] = squares / m;
                // the one-pass formula E[x^2] - E[x]^2, in float and in double: what the variants must not be
                naiveFloat = Math.max(naiveFloat, Math.abs((squaresF / m - (sumF / m) * (sumF / m)) - var[ch]) / var[ch]);
                naiveDouble = Math.max(naiveDouble, Math.abs((squaresD / m - (sumD / m) * (sumD / m)) - var[ch]) / var[ch]);
            }
            table.append(String.format("  %-14s", shape));
            for (Variant v : variants) {
                Backend b = v.on(cpu);
                Tensor tx = b.fromHost(x, shape), y = b.allocate(shape);
                Shape cs = Shape.of(c);
                Tensor gamma = b.fromHost(filled(c, 1f), cs), beta = b.allocate(cs), rm = b.allocate(cs),
                        rv = b.fromHost(filled(c, 1f), cs), sm = b.allocate(cs), si = b.allocate(cs);
                b.batchNormTrain(tx, gamma, beta, rm, rv, MOMENTUM, EPS, y, sm, si);
                float[] gotMean = sm.toHost(), gotInvStd = si.toHost(), gotVar = rv.toHost();
                double eMean = 0, eInvStd = 0, eVar = 0;
                for (int ch = 0; ch < c; ch++) {
                    double invStd = 1 / Math.sqrt(var[ch] + EPS), unbiased = var[ch] * m / (m - 1);
                    eMean = Math.max(eMean, Math.abs(gotMean[ch] - mean[ch]) / Math.abs(mean[ch]));
                    eInvStd = Math.max(eInvStd, Math.abs(gotInvStd[ch] - invStd) / invStd);
                    eVar = Math.max(eVar, Math.abs(gotVar[ch] - unbiased) / unbiased);
                }
                table.append(String.format("  %s %.2e / %.2e / %.2e", v.name(), eMean, eInvStd, eVar));
                String where = v.id() + " " + shape + ": max relative error of ";
                assertTrue(eMean <= FLOAT_RESULT_RTOL, where + "the mean " + eMean);
                assertTrue(eInvStd <= FLOAT_RESULT_RTOL, where + "1/std " + eInvStd);
                assertTrue(eVar <= FLOAT_RESULT_RTOL, where + "the variance " + eVar);
            }
            table.append('\n');
        }
        table.append(String.format("  naive one-pass E[x^2] - E[x]^2, variance: float sums %.2e, double sums %.2e%n", naiveFloat, naiveDouble));
        System.out.print(table);
        assertTrue(naiveFloat > 1e-2, "the data should defeat a float one-pass formula (it did " + naiveFloat + "): not shifted enough");
    }

    /** A warm training call allocates nothing on the Java heap, every variant, lanes path (S == 1) and per channel. */
    static Stream<String> everyVariant() {
        return KernelLab.find("batch_norm", Device.CPU).stream().map(Variant::name);
    }

    /**
     * Measured in a JVM of its own ({@link #main}), as an application that trains runs one
     * configuration: in the test JVM, the classes before this one have called the same kernels with
     * other shapes and backends, and depending on their order (the file system's, so a clone's) C2
     * compiled the loops with profiles that left some Vector API calls to the allocating fallback.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("everyVariant")
    void warmTrainingCallAllocatesNothing(String name) throws Exception {
        assumeTrue(((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).isThreadAllocatedMemorySupported(),
                "this JVM does not count allocations per thread");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments())
            if (!arg.startsWith("-javaagent") && !arg.startsWith("-agentlib")) cmd.add(arg);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), WelfordBatchNormTest.class.getName(), name));
        // Up to PROBES fresh JVMs: C2 now and then gives a loop up (a recompilation storm leaves it to C1, whose
        // Vector API code allocates); a kernel whose compiled code allocates does so in every JVM.
        List<String> seen = new ArrayList<>();
        for (int probe = 0; probe < PROBES; probe++) {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            assertTrue(p.waitFor(5, TimeUnit.MINUTES), "the probe JVM did not end");
            assertEquals(0, p.exitValue(), "the probe JVM failed: " + out);
            String last = out.lines().reduce((x, y) -> y).orElse("");
            String[] f = last.split(" ");
            assertEquals(3, f.length, "the probe printed no measurement: " + out);
            double least = Double.parseDouble(f[1]);
            if (least < 0.5) return;
            seen.add(least + " B/call over " + f[2] + " windows");
        }
        fail("batch_norm:" + name + ": a warm call allocates in every one of " + PROBES + " JVMs (" + WAIT_FOR_C2.toSeconds()
                + " s at most after warm-up each): " + seen);
    }

    /**
     * The probe: warms {@code args[0]}'s training calls, then prints "least BYTES_PER_CALL WINDOWS",
     * the least bytes allocated per call over windows of calls.
     */
    public static void main(String[] args) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        threads.setThreadAllocatedMemoryEnabled(true);
        Backend b = KernelLab.find("batch_norm:" + args[0], Device.CPU).getFirst().on(TestBackends.cpu());
        List<Runnable> calls = new ArrayList<>();
        for (Shape shape : List.of(Shape.of(16, 259), Shape.of(4, 13, 7, 7), Shape.of(16, 1030))) {
            Shape cs = Shape.of(shape.dim(1));
            Tensor x = b.fromHost(shifted(shape, 7), shape), y = b.allocate(shape), gamma = b.fromHost(filled(shape.dim(1), 1f), cs),
                    beta = b.allocate(cs), rm = b.allocate(cs), rv = b.allocate(cs), sm = b.allocate(cs), si = b.allocate(cs);
            calls.add(() -> b.batchNormTrain(x, gamma, beta, rm, rv, 0.1f, EPS, y, sm, si));
            calls.add(() -> b.batchNormLeakyReluTrain(x, gamma, beta, rm, rv, 0.1f, EPS, 0.2f, y, sm, si));
        }
        Runnable[] each = calls.toArray(Runnable[]::new);   // an array: a list's iterator may allocate per round
        int rounds = 20_000;
        for (int i = 0; i < rounds; i++) for (int k = 0; k < each.length; k++) each[k].run();   // let C2 compile the loops
        // Then windows of a tenth as many rounds, until one allocates nothing: a window that saw C2 recompile
        // (a deoptimisation when another shape's call reshaped a profile) runs interpreted for a while and
        // allocates, and on a loaded machine the compiler thread may not have had the CPU to compile the
        // loops yet; compiled code that allocates (a vector C2 did not intrinsify) does so in every window.
        double least = Double.MAX_VALUE;
        int windows = 0;
        long deadline = System.nanoTime() + WAIT_FOR_C2.toNanos();
        while (least >= 0.5 && (windows < 10 || System.nanoTime() < deadline)) {
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < rounds / 10; i++) for (int k = 0; k < each.length; k++) each[k].run();
            least = Math.min(least, (double) (threads.getCurrentThreadAllocatedBytes() - before) / (rounds / 10 * each.length));
            windows++;
        }
        System.out.println("least " + least + " " + windows);
    }

    /** Fresh JVMs the allocation test tries before it calls a kernel allocating. */
    static final int PROBES = 3;

    /** How long the probe waits for C2 on a machine busy with other work; an idle one needs a second or two. */
    static final java.time.Duration WAIT_FOR_C2 = java.time.Duration.ofSeconds(30);

    /** x ~ N(SHIFT, SPREAD) per element. */
    static float[] shifted(Shape shape, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[shape.intSize()];
        for (int i = 0; i < x.length; i++) x[i] = (float) (SHIFT + SPREAD * r.nextGaussian());
        return x;
    }

    static float[] filled(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }
}
