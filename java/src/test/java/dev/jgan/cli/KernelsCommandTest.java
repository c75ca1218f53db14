package dev.jgan.cli;

import dev.jgan.lab.KernelLab;
import dev.jgan.lab.Variant;
import org.junit.jupiter.api.Test;

import static dev.jgan.cli.CliTest.failsWith;
import static dev.jgan.cli.CliTest.gan;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `gan kernels`: the table lists every registered variant, check passes the baselines, bad input gets one line. */
class KernelsCommandTest {
    @Test
    void listShowsEveryVariantAndWhichIsProduction() {
        CliTest.Run r = gan("kernels", "list");
        assertEquals(0, r.code(), r.err());
        for (Variant v : KernelLab.variants())
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith(v.id() + " ") && l.contains(" " + v.device().id() + " ")), "no row for " + v + ":\n" + r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("batch_norm:baseline ") && l.contains(" yes ")), r.out());
    }

    @Test
    void checkPassesTheBaselineAndSaysHowManyRuns() {
        CliTest.Run r = gan("kernels", "check", "dropout:baseline", "--device", "cpu", "--quick", "--threads", "2");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("x 6 runs") && r.out().contains("all passed"), r.out());
    }

    @Test
    void badInputGetsOneLine() {
        failsWith(2, "no kernel-lab op 'batchnorm'; the ops are", "kernels", "check", "batchnorm");
        failsWith(2, "no variant 'dropout:nope' on cpu; dropout has baseline", "kernels", "check", "dropout:nope", "--device", "cpu");
        failsWith(2, "unknown --device 'gpu'", "kernels", "check", "dropout", "--device", "gpu");
        failsWith(2, "run it as ./gan kernels bench", "kernels", "bench", "dropout");
        failsWith(2, "--variant: no variant 'dropout:nope' on cpu", "bench", "--device", "cpu", "--preset", "mlp-gan", "--variant", "dropout:nope");
    }
}
