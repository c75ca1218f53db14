package dev.jgan.bench.lab;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The order of a bench run (interleaved A B A B per shape), its slots, medians and ratios. */
class PlanTest {
    @Test
    void perShapeTheVariantsAlternateRoundByRound() {
        List<Plan.Step> steps = Plan.interleaved(List.of("train"), List.of("64x256", "64x512"), List.of("welford", "baseline"), 2);
        List<String> order = steps.stream().map(s -> s.shape() + " " + s.variant() + " " + s.round()).toList();
        assertEquals(List.of(
                "64x256 welford 0", "64x256 baseline 0", "64x256 welford 1", "64x256 baseline 1",
                "64x512 welford 0", "64x512 baseline 0", "64x512 welford 1", "64x512 baseline 1"), order);
        assertEquals(List.of(0, 1, 0, 1, 0, 1, 0, 1), steps.stream().map(Plan.Step::slot).toList());
        assertThrows(IllegalArgumentException.class, () -> Plan.interleaved(List.of("train"), List.of("64x256"), List.of("baseline"), 0));
    }

    @Test
    void theVsVariantIsTheLastSlotAndMayBeMeasuredAgainstItself() {
        assertEquals(List.of("baseline", "baseline"), Plan.slots(List.of("baseline"), "baseline"), "the noise floor: baseline vs baseline");
        assertEquals(List.of("welford", "baseline"), Plan.slots(List.of("welford"), "baseline"));
        assertEquals(List.of("welford", "fused", "baseline"), Plan.slots(List.of("baseline", "welford", "fused"), "baseline"));
        assertEquals(List.of("baseline", "welford"), Plan.slots(List.of("baseline", "welford"), null), "no --vs: each once, no comparison");
        // a variant in two slots still alternates by slot
        List<Plan.Step> steps = Plan.interleaved(List.of("train"), List.of("64x256"), Plan.slots(List.of("baseline"), "baseline"), 2);
        assertEquals(List.of(0, 1, 0, 1), steps.stream().map(Plan.Step::slot).toList());
    }

    @Test
    void mediansAndSpeedups() {
        assertEquals(2.0, Plan.median(List.of(3.0, 1.0, 2.0)));
        assertEquals(2.5, Plan.median(List.of(4.0, 1.0, 2.0, 3.0)));
        assertThrows(IllegalArgumentException.class, () -> Plan.median(List.of()));
        assertEquals(2.0, Plan.speedup(1e-6, 2e-6), "half the vs variant's time: twice as fast");
    }
}
