package dev.jgan.gan;

import dev.jgan.backend.Backend;
import dev.jgan.nn.Parameter;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every preset takes a training step on a tiny batch: losses are finite and every parameter of G
 * and D received a gradient that is not all zero (a layer cut out of backpropagation shows here).
 */
class PresetStepTest {
    /** Tiny, but more than 1 so batch norm has a batch to normalise over. */
    private static final int BATCH = 2;

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TestBackends.all().forEach(b -> Presets.all().values().forEach(p -> {
            out.add(Arguments.of(b, p.name(), p.channels()));
            if (p.kind().images()) out.add(Arguments.of(b, p.name(), 3));   // colour: the same recipe with C = 3
        }));
        return out.stream();
    }

    @ParameterizedTest(name = "{1} c={2} on {0}")
    @MethodSource("cases")
    void oneStepReachesEveryParameter(Backend b, String name, int channels) {
        Preset p = channels == 0 ? Presets.get(name) : Presets.get(name).withChannels(channels);
        assertEquals(channels, p.channels());
        GanModel m = new GanModel(b, p, BATCH, 3);
        // BCE whatever the preset's loss: under the hinge loss (fast-fmnist's) D's last bias gets -1 from each real
        // and +1 from each fake inside the margin, which cancel at init; the wiring, not the loss, is under test here
        TrainConfig c = TrainConfig.builder(p).loss("nonsaturating").spectralNorm("none").seed(3).batch(BATCH).steps(10).realLabel(0.9f)
                .logEvery(1).sampleEvery(1).checkpointEvery(1).build();
        GanTrainer t = new GanTrainer(m, c, Bench.fixedBatch(p.item(), BATCH, p.classes()));
        t.step();
        StepStats s = t.readStats();
        assertTrue(s.finite(), name + ": finite losses after one step: " + s);
        assertEquals(1, t.steps());
        List<Parameter> all = new ArrayList<>(m.generator().parameters());
        all.addAll(m.discriminator().parameters());
        for (Parameter param : all) {
            float[] g = param.grad().toHost();
            double sum = 0;
            for (float v : g) {
                assertTrue(Float.isFinite(v), name + ": " + param.name() + " has a non-finite gradient");
                sum += Math.abs(v);
            }
            assertTrue(sum > 0, name + ": " + param.name() + " received no gradient");
        }
    }
}
