package dev.jgan.cuda;

import dev.jgan.backend.Backend;
import dev.jgan.gan.Bench;
import dev.jgan.gan.GanModel;
import dev.jgan.gan.GanTrainer;
import dev.jgan.gan.Preset;
import dev.jgan.gan.Presets;
import dev.jgan.gan.StepStats;
import dev.jgan.gan.TrainConfig;
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
 * same preset, seed and data, one step (D update on a real and a fake batch, then G update), then
 * the losses, every parameter's gradient, every parameter and every buffer (batch-norm running
 * statistics) compared. The two backends share no arithmetic code: GEMMs are oneDNN's row-major
 * sgemm vs the column-major translation through the BLAS port, convolutions oneDNN vs the DNN
 * port (im2col + a host sgemm), everything else Vector API loops vs kernels/*.cu compiled for the
 * host.
 *
 * <p>Tolerances, |cuda - cpu| <= atol + rtol |cpu|:
 * <ul>
 *   <li>{@link #LOSS_RTOL}: losses and mean D outputs are means over the batch of the logits;
 *       the logits differ by the summation order of GEMMs and convolutions (float, K up to 8192).</li>
 *   <li>{@link #GRAD_RTOL}, and an atol of {@link #GRAD_ATOL_OF_MAX} times the tensor's largest
 *       gradient: a gradient element sums many products, so its rounding error scales with the
 *       tensor's magnitude, not its own (elements near zero are differences of large terms).</li>
 *   <li>Parameters: Adam's first step moves each element by lr g / (|g| + eps), which is lr
 *       sign(g) for any gradient well above rounding noise, so where |g| exceeds the gradient
 *       atol the updated parameters agree within {@link #PARAM_ATOL} (float rounding of p - lr);
 *       where the gradient is within its rounding noise its sign is noise too, and the parameter
 *       may differ by up to 2 lr: those elements are bounded by 2 lr + {@link #PARAM_ATOL} and
 *       must be fewer than {@link #NOISY_FRACTION} of all.</li>
 *   <li>Running statistics: {@link #BUFFER_RTOL}, and an atol of {@link #BUFFER_ATOL_OF_MAX} times
 *       the tensor's largest element: a channel's batch mean of convolution outputs near zero is a
 *       cancelling sum, whose error scales with the outputs (which the largest mean stands for).</li>
 * </ul>
 */
class CudaStepEquivalenceTest {
    /** Tiny, more than 2 so that batch norm over (N, C) is not the degenerate pair. */
    private static final int BATCH = 3;
    private static final long SEED = 7;
    private static final double LOSS_RTOL = 1e-4, LOSS_ATOL = 1e-6;
    private static final double GRAD_RTOL = 1e-3, GRAD_ATOL_OF_MAX = 1e-4;
    private static final double PARAM_ATOL = 1e-6, BUFFER_RTOL = 1e-4, BUFFER_ATOL_OF_MAX = 1e-3;
    private static final double NOISY_FRACTION = 0.01;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mlp-gan", "dcgan-28", "dcgan-64"})
    void oneStepMatchesTheCpu(String name) {
        Backend cuda = TestBackends.all().filter(b -> b.name().equals("cuda")).findFirst().orElse(null);
        if (cuda == null) {
            Emulation.unavailable("the CUDA backend is not present here: " + String.join("; ", TestBackends.absent().toList()));
            return;
        }
        Preset p = Presets.get(name);
        GanTrainer cpu = trainer(TestBackends.cpu(), p), gpu = trainer(cuda, p);
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
        long noisy = 0, total = 0;
        for (int t = 0; t < pa.size(); t++) {
            String what = name + " " + pa.get(t).name();
            float[] ga = pa.get(t).grad().toHost(), gb = pb.get(t).grad().toHost();
            float[] va = pa.get(t).value().toHost(), vb = pb.get(t).value().toHost();
            double gradAtol = GRAD_ATOL_OF_MAX * maxAbs(ga);
            for (int i = 0; i < ga.length; i++) {
                if (Math.abs(ga[i] - gb[i]) > gradAtol + GRAD_RTOL * Math.abs(ga[i]))
                    fail(what + ": gradient[" + i + "] cpu " + ga[i] + " cuda " + gb[i] + " (atol " + gradAtol + ")");
                double bound = PARAM_ATOL;
                if (Math.abs(ga[i]) <= gradAtol) {
                    noisy++;
                    bound += 2 * lr;
                }
                if (Math.abs(va[i] - vb[i]) > bound)
                    fail(what + ": updated value[" + i + "] cpu " + va[i] + " cuda " + vb[i] + " (gradient " + ga[i] + ")");
            }
            total += ga.length;
        }
        assertTrue(noisy <= NOISY_FRACTION * total, name + ": " + noisy + " of " + total + " gradients within rounding noise");
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

    private static GanTrainer trainer(Backend b, Preset p) {
        TrainConfig d = TrainConfig.defaults(p);
        TrainConfig c = new TrainConfig(p.name(), d.dataset(), null, SEED, BATCH, 10, d.lrG(), d.lrD(), d.beta1(), d.beta2(),
                d.loss(), 0.9f, 0f, 1, 1, 1, 1);
        return new GanTrainer(new GanModel(b, p, BATCH, SEED), c, Bench.fixedBatch(p.item(), BATCH));
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
