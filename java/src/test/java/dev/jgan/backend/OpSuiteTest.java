package dev.jgan.backend;

import dev.jgan.check.CheckResult;
import dev.jgan.check.OpSuite;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The harness of {@code gan check} ({@link OpSuite}, in main code) run by the suite: every case of
 * its quick set on every backend present (in the virtual-GPU JVM, the CUDA backend over the real
 * adapters), and its cases cover every op of the Backend interface, read from the interface itself.
 * The detailed tests beside this one pin values and argue each tolerance; this one makes sure the
 * check a person runs on a GPU box is the one CI runs.
 */
class OpSuiteTest {
    static Stream<Arguments> cases() {
        return TestBackends.all().flatMap(b -> OpSuite.quick().stream().map(c -> Arguments.of(Named.of(b.name(), b), c)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void quickCasePasses(Backend b, OpSuite.Case c) {
        CheckResult r = c.run(b);
        assertTrue(r.passed(), c + " on " + b.name() + ": " + r.detail() + " (error " + r.error() + ", tolerance " + r.tolerance() + ")");
    }

    /** Every abstract method of Backend but name and describe (no arithmetic) is called by some quick case. */
    @Test
    void quickCasesCoverEveryBackendOp() {
        Set<String> ops = new TreeSet<>();
        for (Method m : Backend.class.getMethods())
            if (Modifier.isAbstract(m.getModifiers())) ops.add(m.getName());
        ops.removeAll(Set.of("name", "describe"));
        Set<String> covered = OpSuite.quick().stream().flatMap(c -> c.ops().stream()).collect(Collectors.toCollection(TreeSet::new));
        Set<String> missing = new TreeSet<>(ops);
        missing.removeAll(covered);
        assertEquals(Set.of(), missing, "Backend ops without a check case");
        Set<String> unknown = new TreeSet<>(covered);
        unknown.removeAll(ops);
        assertEquals(Set.of(), unknown, "case ops that are not Backend methods");
    }
}
