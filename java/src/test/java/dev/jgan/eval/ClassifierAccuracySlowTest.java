package dev.jgan.eval;

import dev.jgan.UserError;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * The evaluation classifier's accuracy bars on the real datasets, trained afresh into a temporary
 * cache (minutes on 2 cores): a classifier in the user's cache would bring its accuracy from its
 * file's metadata, measured by whatever code trained it. Tagged slow, so `./gan test` leaves it out; run with
 * {@code mvn -B -pl java test -Djgan.excludedTestGroups=none -Dgroups=slow -Dtest=ClassifierAccuracySlowTest}.
 */
@Tag("slow")
class ClassifierAccuracySlowTest {
    @ParameterizedTest(name = "{0} >= {1}")
    @CsvSource({"fashion-mnist, 0.89", "mnist, 0.98"})
    void reachesItsBar(String dataset, double bar, @TempDir Path cache) {
        Evaluator e;
        List<String> log = new ArrayList<>();
        try {
            e = Evaluator.open(TestBackends.cpu(), dataset, null, cache, line -> { System.err.println(line); log.add(line); });
        } catch (UserError missing) {
            abort(dataset + " is not available here: " + missing.getMessage());
            return;
        }
        assertTrue(!log.isEmpty() && log.get(0).startsWith("training the evaluation classifier"), "trained afresh: " + log);
        assertTrue(e.testAccuracy() >= bar, dataset + ": test accuracy " + e.testAccuracy() + " (" + e.testSource() + "), bar " + bar);
        assertTrue(e.floor() >= 0 && e.floor() < 5, dataset + ": the floor (train vs test) " + e.floor());
    }
}
