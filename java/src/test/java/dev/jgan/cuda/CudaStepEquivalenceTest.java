package dev.jgan.cuda;

import dev.jgan.backend.Backend;
import dev.jgan.gan.Bench;
import dev.jgan.gan.GanModel;
import dev.jgan.gan.GanTrainer;
import dev.jgan.gan.Preset;
import dev.jgan.gan.Presets;
import dev.jgan.gan.StepStats;
import dev.jgan.nn.Parameter;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Whole training steps on the CUDA backend over the emulated device match the CPU backend's: the
 * same preset, seed and data (the benchmark's trainer: seed 0, its fixed batch, label 0.9), one
 * step (D update on a real and a fake batch, then G update), then the losses, every parameter's
 * gradient, every parameter and every buffer (batch-norm running statistics) compared. The two
 * backends share no arithmetic code: GEMMs are oneDNN's row-major sgemm vs the column-major
 * translation through the BLAS port, convolutions oneDNN vs the DNN port (im2col + a host sgemm),
 * everything else Vector API loops vs kernels/*.cu compiled for the host.
 *
 * <p>Tolerances, |cuda - cpu| <= atol + rtol |cpu|:
 * <ul>
 *   <li>Forward results, {@link #LOSS_RTOL} for the losses and mean D outputs, {@link #BUFFER_RTOL}
 *       and an atol of {@link #BUFFER_ATOL_OF_MAX} times the tensor's largest element for the
 *       running statistics: sums of products in another order (K up to 8192), and a channel's
 *       batch mean near zero is a cancelling sum whose error scales with the outputs. The forward
 *       pass is continuous, so these hold tightly.</li>
 *   <li>Gradients, per tensor: ||cuda - cpu|| / ||cpu|| <= {@link #GRAD_REL_L2}. Not elementwise:
 *       where a ReLU or LeakyReLU input lies within rounding of 0 (batch norm centres its
 *       outputs there; one in a few hundred thousand elements, so some seeds meet one) the two
 *       backends take different branches, and the gradient of everything upstream of that element
 *       moves by up to its own magnitude, a few percent of a tensor's largest element in a few
 *       entries. A real mistake (a transposed operand, a wrong leading dimension, a lost
 *       accumulate, a swapped descriptor) moves whole tensors by O(1).</li>
 *   <li>Parameters: Adam's first step moves each element by lr g / (|g| + eps), lr sign(g) for any
 *       gradient above rounding, so updated parameters agree within {@link #PARAM_ATOL} (the
 *       rounding of p - lr) except where sign(g) itself differs (gradients within rounding of 0,
 *       or moved by a kink as above): there they differ by at most 2 lr, and such elements must
 *       be fewer than {@link #FLIPPED_FRACTION} of all.</li>
 * </ul>
 */
class CudaStepEquivalenceTest {
    /** Tiny, more than 2 so that batch norm over (N, C) is not the degenerate pair. */
    private static final int BATCH = 3;
    private static final double LOSS_RTOL = 1e-4, LOSS_ATOL = 1e-6;
    private static final double BUFFER_RTOL = 1e-4, BUFFER_ATOL_OF_MAX = 1e-3;
    private static final double GRAD_REL_L2 = 3e-2;
    private static final double PARAM_ATOL = 1e-6, FLIPPED_FRACTION = 0.01;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mlp-gan", "dcgan-28", "dcgan-64"})
    void oneStepMatchesTheCpu(String name) {
        Backend cuda = TestBackends.all().filter(b -> b.name().equals("cuda")).findFirst().orElse(null);
        if (cuda == null) {
            Emulation.unavailable("the CUDA backend is not present here: " + String.join("; ", TestBackends.absent().toList()));
            return;
        }
        Preset p = Presets.get(name);
        GanTrainer cpu = Bench.trainer(TestBackends.cpu(), p, BATCH), gpu = Bench.trainer(cuda, p, BATCH);
        cpu.step();
        gpu.step();
        StepStats a = cpu.readStats(), b = gpu.readStats();
        assertTrue(a.finite() && b.finite(), name + ": finite losses: cpu " + a + ", cuda " + b);
        close(name + " D loss", a.dLoss(), b.dLoss());
        close(name + " G loss", a.gLoss(), b.gLoss());
        close(name + " D(real)", a.dReal(), b.dReal());
        close(name + " D(fake)", a.dFake(), b.dFake());
        assertEquals(a.dAccReal(), b.dAccReal(), name + ": D accuracy on real");
        assertEquals(a.dAccFake(), b.dAccFake(), name + ": D accuracy on fake");

        float lr = Math.max(cpu.config().lrG(), cpu.config().lrD());
        List<Parameter> pa = parameters(cpu.model()), pb = parameters(gpu.model());
        assertEquals(pa.size(), pb.size());
        long flipped = 0, total = 0;
        for (int t = 0; t < pa.size(); t++) {
            String what = name + " " + pa.get(t).name();
            float[] ga = pa.get(t).grad().toHost(), gb = pb.get(t).grad().toHost();
            float[] va = pa.get(t).value().toHost(), vb = pb.get(t).value().toHost();
            double diff = 0, norm = 0;
            for (int i = 0; i < ga.length; i++) {
                diff += (double) (ga[i] - gb[i]) * (ga[i] - gb[i]);
                norm += (double) ga[i] * ga[i];
            }
            if (Math.sqrt(diff) > GRAD_REL_L2 * Math.sqrt(norm))
                fail(what + ": gradient off by " + Math.sqrt(diff / norm) + " of its norm " + Math.sqrt(norm));
            for (int i = 0; i < va.length; i++) {
                double d = Math.abs(va[i] - vb[i]);
                if (d <= PARAM_ATOL) continue;
                flipped++;
                if (d > 2 * lr + PARAM_ATOL)
                    fail(what + ": updated value[" + i + "] cpu " + va[i] + " cuda " + vb[i] + " (gradient cpu " + ga[i] + ", cuda " + gb[i] + ")");
            }
            total += va.length;
        }
        assertTrue(flipped <= FLIPPED_FRACTION * total, name + ": " + flipped + " of " + total + " parameters moved the other way");
        Map<String, Tensor> sa = cpu.model().state(), sb = gpu.model().state();
        for (Map.Entry<String, Tensor> e : sa.entrySet()) {
            if (!e.getKey().contains("running")) continue;
            float[] x = e.getValue().toHost(), y = sb.get(e.getKey()).toHost();
            double atol = BUFFER_ATOL_OF_MAX * maxAbs(x);
            for (int i = 0; i < x.length; i++)
                if (Math.abs(x[i] - y[i]) > atol + BUFFER_RTOL * Math.abs(x[i]))
                    fail(name + " " + e.getKey() + "[" + i + "]: cpu " + x[i] + " cuda " + y[i]);
        }
    }

    private static List<Parameter> parameters(GanModel m) {
        List<Parameter> all = new ArrayList<>(m.generator().parameters());
        all.addAll(m.discriminator().parameters());
        return all;
    }

    private static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) m = Math.max(m, Math.abs(v));
        return m;
    }

    private static void close(String what, float cpu, float cuda) {
        if (Math.abs(cpu - cuda) > LOSS_ATOL + LOSS_RTOL * Math.abs(cpu)) fail(what + ": cpu " + cpu + ", cuda " + cuda);
    }
}
