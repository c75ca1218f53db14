package dev.jgan.gan;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The D(G(z)) half of the mode-collapse warning: once per stretch of 500 steps under 0.05, reset by
 * a recovery; in each loss's terms (hinge: fake scores beyond its margin -1; wgan: never).
 */
class CollapseWatchTest {
    static StepStats at(long step, float dFake) {
        return new StepStats(step, 0.1f, 1f, 1f, 5f, 0.99f, dFake);
    }

    @Test
    void warnsOncePerLongStretch() {
        List<String> log = new ArrayList<>();
        TrainingRun.CollapseWatch w = new TrainingRun.CollapseWatch(log::add);
        for (long s = 100; s <= 500; s += 100) w.stats(at(s, 0.01f));
        assertTrue(log.isEmpty(), "400 steps are not yet a long stretch: " + log);
        w.stats(at(600, 0.04f));
        assertEquals(1, log.size(), "500 steps under 0.05 (steps 100 to 600)");
        assertTrue(log.get(0).contains("D(G(z)) has stayed below 0.05 since step 100"), log.get(0));
        for (long s = 700; s <= 2000; s += 100) w.stats(at(s, 0.01f));
        assertEquals(1, log.size(), "once per stretch");
        w.stats(at(2100, 0.3f));
        for (long s = 2200; s <= 2700; s += 100) w.stats(at(s, 0.02f));
        assertEquals(2, log.size(), "a new stretch after a recovery warns again");
    }

    static StepStats at(long step, float fakeScore, Loss loss) {
        return new StepStats(step, 0.1f, 1f, 1f, 5f, 2f, fakeScore, loss);
    }

    @Test
    void eachLossIsJudgedInItsOwnTerms() {
        List<String> log = new ArrayList<>();
        TrainingRun.CollapseWatch hinge = new TrainingRun.CollapseWatch(log::add);
        for (long s = 0; s <= 600; s += 100) hinge.stats(at(s, -0.5f, Loss.HINGE));
        assertTrue(log.isEmpty(), "a hinge fake score of -0.5 is inside the margin, still trained on: " + log);
        for (long s = 700; s <= 1200; s += 100) hinge.stats(at(s, -1.5f, Loss.HINGE));
        assertEquals(1, log.size(), "500 steps beyond the margin");
        assertTrue(log.get(0).contains("D's mean score on fakes has stayed below -1.00 since step 700"), log.get(0));

        log.clear();
        TrainingRun.CollapseWatch lsgan = new TrainingRun.CollapseWatch(log::add);
        for (long s = 0; s <= 600; s += 100) lsgan.stats(at(s, 0.01f, Loss.LEAST_SQUARES));
        assertEquals(1, log.size(), "lsgan's fake target is 0: a score near it for 500 steps warns");

        log.clear();
        TrainingRun.CollapseWatch wgan = new TrainingRun.CollapseWatch(log::add);
        for (long s = 0; s <= 2000; s += 100) wgan.stats(at(s, -100f, Loss.WASSERSTEIN));
        assertTrue(log.isEmpty(), "WGAN's scores have no scale: no warning: " + log);
    }
}
