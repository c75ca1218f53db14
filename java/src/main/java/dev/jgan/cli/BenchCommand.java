package dev.jgan.cli;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.gan.Bench;
import dev.jgan.gan.Presets;
import dev.jgan.gan.StepFlops;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Time whole training steps (G forward, D update on real + fake, G update) after warm-up.",
                "Prints PRESET<TAB>batch=B<TAB>X.XX ms/step<TAB>N img/s (median), the format of shared/peers/torch_gan_bench.py."})
final class BenchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;

    @Option(names = "--preset", defaultValue = "mlp-gan", description = "preset to time (default: ${DEFAULT-VALUE})")
    String preset;

    @Option(names = "--batch", defaultValue = "64", description = "batch size (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--steps", description = "timed steps (default: 60 for MLPs, as the peer script)")
    Integer steps;

    @Option(names = "--warmup", defaultValue = "3", description = "seconds of untimed steps first, for the JIT (default: ${DEFAULT-VALUE})")
    double warmup;

    @Option(names = "--profile", description = "also time every op separately (synchronising after each) and print where a step's time goes")
    boolean profile;

    @Override public Integer call() {
        if (batch <= 0) throw new UserError("--batch must be positive, got " + batch);
        if (steps != null && steps <= 0) throw new UserError("--steps must be positive, got " + steps);
        if (warmup < 0) throw new UserError("--warmup must be >= 0, got " + warmup);
        var p = Presets.get(preset);
        try (Backend b = common.backend(spec.commandLine().getErr())) {
            Bench.Result r = Bench.run(b, p, batch, steps != null ? steps : Bench.defaultSteps(p), warmup);
            // the GEMMs' and convolutions' FLOPs of one step (StepFlops), over the whole step's time
            double gflop = StepFlops.count(b, p, batch) / 1e9;
            spec.commandLine().getOut().println(r.line() + String.format(Locale.ROOT, "\t%.0f GFLOP/s (%.2f GFLOP a step)",
                    gflop / r.msPerStep() * 1e3, gflop));
            if (profile) {
                spec.commandLine().getOut().print(Bench.profile(b, p, batch, steps != null ? steps : Bench.defaultSteps(p), warmup));
                spec.commandLine().getOut().flush();
            }
        }
        return 0;
    }
}
