package dev.jgan.cuda;

import dev.jgan.backend.Backend;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.check.Reference;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static dev.jgan.testing.Approx.assertClose;

/** Multi-tensor Adam through Kernels and the emulation, over tensors of odd sizes, several steps. */
class EmulatedAdamTest {
    /** A few float roundings per step against the reference in double; three steps. */
    static final double ATOL = 1e-6, RTOL = 1e-5;
    static final float LR = 2e-3f, BETA1 = 0.5f, BETA2 = 0.999f, EPS = 1e-8f;

    /** 9 tensors of awkward sizes (one spans several tiles), or 50 (two launches: a table holds 48). */
    @ParameterizedTest(name = "{0} tensors")
    @ValueSource(ints = {9, 50})
    void matchesReferenceAndCpu(int count) {
        Kernels k = Emulation.kernels();
        Backend cpu = TestBackends.cpu();
        int[] awkward = {1, 13, 207, 702, 1024, 65537, 4096, 4097, 3};
        List<float[]> p = new ArrayList<>(), g = new ArrayList<>(), m = new ArrayList<>(), v = new ArrayList<>();
        List<Emulation.Buffer> bp = new ArrayList<>(), bg = new ArrayList<>(), bm = new ArrayList<>(), bv = new ArrayList<>();
        List<Tensor> tp = new ArrayList<>(), tg = new ArrayList<>(), tm = new ArrayList<>(), tv = new ArrayList<>();
        long[] ap = new long[count], ag = new long[count], am = new long[count], av = new long[count], sizes = new long[count];
        for (int i = 0; i < count; i++) {
            int n = count > 9 ? 1 + (i * 37) % 300 : awkward[i];
            p.add(TestData.uniform(4 * i, n, -1f, 1f));
            g.add(TestData.uniform(4 * i + 1, n, -0.1f, 0.1f));
            m.add(new float[n]);
            v.add(new float[n]);
            bp.add(Emulation.Buffer.of(p.get(i)));
            bg.add(Emulation.Buffer.of(g.get(i)));
            bm.add(new Emulation.Buffer(n));
            bv.add(new Emulation.Buffer(n));
            tp.add(cpu.fromHost(p.get(i), Shape.of(n)));
            tg.add(cpu.fromHost(g.get(i), Shape.of(n)));
            tm.add(cpu.allocate(Shape.of(n)));
            tv.add(cpu.allocate(Shape.of(n)));
            ap[i] = bp.get(i).address();
            ag[i] = bg.get(i).address();
            am[i] = bm.get(i).address();
            av[i] = bv.get(i).address();
            sizes[i] = n;
        }
        for (int t = 1; t <= 3; t++) {
            k.adamStep(ap, ag, am, av, sizes, LR, BETA1, BETA2, EPS, 0.01f, t);
            Reference.adamStep(p, g, m, v, LR, BETA1, BETA2, EPS, 0.01f, t);
            cpu.adamStep(tp, tg, tm, tv, LR, BETA1, BETA2, EPS, 0.01f, t);
        }
        for (int i = 0; i < count; i++) {
            assertClose("p[" + i + "]", p.get(i), bp.get(i).get(), ATOL, RTOL);
            assertClose("m[" + i + "]", m.get(i), bm.get(i).get(), ATOL, RTOL);
            assertClose("v[" + i + "]", v.get(i), bv.get(i).get(), ATOL, RTOL);
            assertClose("p[" + i + "] vs cpu", tp.get(i).toHost(), bp.get(i).get(), ATOL, RTOL);
        }
    }
}
