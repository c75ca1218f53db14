package dev.jgan.cli;

import dev.jgan.backend.Backend;
import dev.jgan.check.CheckResult;
import dev.jgan.check.SelfCheck;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "check", mixinStandardHelpOptions = true,
        description = {"Check this machine's device: every op against the plain-Java reference (small awkward shapes and the presets' own),",
                "one training step of each preset against the emulated CUDA device, a resume round trip, then bench of each preset.",
                "Prints one pass/fail table; exits 0 when every check passes, 1 when any fails."})
final class CheckCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;

    @Option(names = "--quick", description = "small shapes only and no bench (what CI runs on the virtual GPU)")
    boolean quick;

    @Override public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        try (Backend b = common.backend(spec.commandLine().getErr())) {
            out.println("gan check" + (quick ? " --quick" : "") + " on " + b.name() + ", Java " + Runtime.version());
            // describe() is "<device>; <memory>; <blas>; <dnn>; ..." on CUDA: the device, driver, libraries and binding, one per line
            for (String part : b.describe().split("; ")) out.println("  " + part);
            out.println("reference: plain-Java loops (ops); the emulated CUDA device, host build of kernels/ (steps)");
            out.println();
            SelfCheck.printHeading(out);
            List<CheckResult> rows = SelfCheck.run(b, quick, r -> SelfCheck.printRow(out, r));
            out.println();
            boolean ok = rows.stream().allMatch(CheckResult::passed);
            out.println(SelfCheck.summary(rows, (System.nanoTime() - t0) / 1e9) + (ok ? ": all passed" : ": FAILED"));
            out.flush();
            return ok ? 0 : 1;
        }
    }
}
