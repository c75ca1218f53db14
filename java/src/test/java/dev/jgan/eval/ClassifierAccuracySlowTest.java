package dev.jgan.eval;

import dev.jgan.UserError;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * The evaluation classifier's accuracy bars on the real datasets, through the user's cache (the
 * first run trains it: minutes on 2 cores). Tagged slow, so `./gan test` leaves it out; run with
 * {@code mvn -B -pl java test -Djgan.excludedTestGroups=none -Dgroups=slow -Dtest=ClassifierAccuracySlowTest}.
 */
@Tag("slow")
class ClassifierAccuracySlowTest {
    @ParameterizedTest(name = "{0} >= {1}")
    @CsvSource({"fashion-mnist, 0.89", "mnist, 0.98"})
    void reachesItsBar(String dataset, double bar) {
        Evaluator e;
        try {
            e = Evaluator.open(TestBackends.cpu(), dataset, null, System.err::println);
        } catch (UserError missing) {
            abort(dataset + " is not available here: " + missing.getMessage());
            return;
        }
        assertTrue(e.testAccuracy() >= bar, dataset + ": test accuracy " + e.testAccuracy() + " (" + e.testSource() + "), bar " + bar);
        assertTrue(e.floor() >= 0 && e.floor() < 5, dataset + ": the floor (train vs test) " + e.floor());
    }
}
