package dev.jgan.check;

import dev.jgan.backend.Backend;
import dev.jgan.gan.Bench;
import dev.jgan.gan.GanModel;
import dev.jgan.gan.GanTrainer;
import dev.jgan.gan.Preset;
import dev.jgan.gan.StepStats;
import dev.jgan.nn.Parameter;
import dev.jgan.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One whole training step of a preset on two backends gives the same result: the same preset,
 * seed and data (the benchmark's trainer: seed 0, its fixed batch, label 0.9), one step (D update
 * on a real and a fake batch, then G update), then the losses, every parameter's gradient, every
 * parameter and every buffer (batch-norm running statistics) compared. {@code gan check} compares
 * the device with the emulated CUDA device (host memory, the kernels' host build, host BLAS and
 * DNN with cuBLAS's and cuDNN's contracts), the test suite the CUDA backend with the CPU backend
 * as well; no two of them share arithmetic code beyond the kernels' sources.
 *
 * <p>Tolerances, |tested - reference| <= atol + rtol |reference|:
 * <ul>
 *   <li>Forward results, {@link #LOSS_RTOL} for the losses and mean D outputs, {@link #BUFFER_RTOL}
 *       and an atol of {@link #BUFFER_ATOL_OF_MAX} times the tensor's largest element for the
 *       running statistics: sums of products in another order (K up to 8192), and a channel's
 *       batch mean near zero is a cancelling sum whose error scales with the outputs. The forward
 *       pass is continuous, so these hold tightly.</li>
 *   <li>Gradients, per tensor: ||tested - reference|| / ||reference|| <= {@link #GRAD_REL_L2}. Not
 *       elementwise: where a ReLU or LeakyReLU input lies within rounding of 0 (batch norm centres
 *       its outputs there; one in a few hundred thousand elements, so some seeds meet one) the two
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
public final class StepEquivalence {
    /** Tiny, more than 2 so that batch norm over (N, C) is not the degenerate pair. */
    public static final int BATCH = 3;
    public static final double LOSS_RTOL = 1e-4, LOSS_ATOL = 1e-6;
    public static final double BUFFER_RTOL = 1e-4, BUFFER_ATOL_OF_MAX = 1e-3;
    public static final double GRAD_REL_L2 = 3e-2;
    public static final double PARAM_ATOL = 1e-6, FLIPPED_FRACTION = 0.01;

    private StepEquivalence() {}

    /** One step of {@code p} at {@code batch} on both backends, compared; the detail names the first failure or the worst measure. */
    public static Comparison compare(Backend reference, Backend tested, Preset p, int batch) {
        GanTrainer ref = Bench.trainer(reference, p, batch), dut = Bench.trainer(tested, p, batch);
        ref.step();
        dut.step();
        Comparison c = new Comparison();
        StepStats a = ref.readStats(), b = dut.readStats();
        if (!a.finite() || !b.finite()) return c.fail("losses not finite: " + reference.name() + " " + a + ", " + tested.name() + " " + b);
        c.close("D loss", new float[] {a.dLoss()}, new float[] {b.dLoss()}, LOSS_ATOL, LOSS_RTOL);
        c.close("G loss", new float[] {a.gLoss()}, new float[] {b.gLoss()}, LOSS_ATOL, LOSS_RTOL);
        c.close("D(real)", new float[] {a.dReal()}, new float[] {b.dReal()}, LOSS_ATOL, LOSS_RTOL);
        c.close("D(fake)", new float[] {a.dFake()}, new float[] {b.dFake()}, LOSS_ATOL, LOSS_RTOL);
        if (a.dAccReal() != b.dAccReal() || a.dAccFake() != b.dAccFake())
            c.fail("D accuracy differs: " + a.dAccReal() + "/" + a.dAccFake() + " vs " + b.dAccReal() + "/" + b.dAccFake());

        float lr = Math.max(ref.config().lrG(), ref.config().lrD());
        List<Parameter> pa = parameters(ref.model()), pb = parameters(dut.model());
        if (pa.size() != pb.size()) return c.fail(pa.size() + " parameters vs " + pb.size());
        long flipped = 0, total = 0;
        for (int t = 0; t < pa.size(); t++) {
            String what = pa.get(t).name();
            float[] ga = pa.get(t).grad().toHost(), gb = pb.get(t).grad().toHost();
            float[] va = pa.get(t).value().toHost(), vb = pb.get(t).value().toHost();
            double diff = 0, norm = 0;
            for (int i = 0; i < ga.length; i++) {
                diff += (double) (ga[i] - gb[i]) * (ga[i] - gb[i]);
                norm += (double) ga[i] * ga[i];
            }
            c.bound(what + " gradient (relative L2)", norm > 0 ? Math.sqrt(diff / norm) : Math.sqrt(diff), GRAD_REL_L2);
            for (int i = 0; i < va.length; i++) {
                double d = Math.abs(va[i] - vb[i]);
                if (d <= PARAM_ATOL) continue;
                flipped++;
                if (d > 2 * lr + PARAM_ATOL)
                    c.fail(what + "[" + i + "] updated to " + vb[i] + ", expected " + va[i] + " (gradient " + gb[i] + ", expected " + ga[i] + ")");
            }
            total += va.length;
        }
        c.bound("parameters moved the other way (fraction)", (double) flipped / Math.max(total, 1), FLIPPED_FRACTION);
        Map<String, Tensor> sa = ref.model().state(), sb = dut.model().state();
        for (Map.Entry<String, Tensor> e : sa.entrySet()) {
            if (!e.getKey().contains("running")) continue;
            float[] x = e.getValue().toHost();
            c.close(e.getKey(), x, sb.get(e.getKey()).toHost(), BUFFER_ATOL_OF_MAX * maxAbs(x), BUFFER_RTOL);
        }
        return c;
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
}
