package dev.jgan.cli;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.check.OpSuite;
import dev.jgan.check.VariantCheck;
import dev.jgan.lab.KernelLab;
import dev.jgan.lab.LabTable;
import dev.jgan.lab.Variant;
import dev.jgan.lab.Variant.Device;
import dev.jgan.selection.Backends;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code gan kernels}: the kernel lab (docs/kernel-lab.md): list the variants, check them, bench them. */
@Command(name = "kernels", mixinStandardHelpOptions = true,
        description = {"The kernel lab: every op's variants on the CPU and CUDA (docs/kernel-lab.md).",
                "  list                      every op and variant: status, production, traffic, ptxas figures",
                "  check OP[:VARIANT]        the op checks on the variant: several seeds, outputs pre-filled with sentinels",
                "  bench OP[:VARIANT] [--vs VARIANT] [--device cpu|cuda]   time against the measured roofline (./gan runs it)"},
        subcommands = {KernelsCommand.ListCommand.class, KernelsCommand.CheckVariants.class, KernelsCommand.BenchVariants.class})
final class KernelsCommand implements Runnable {
    @Spec CommandSpec spec;

    @Override public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a subcommand is needed: list, check or bench");
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Every op and variant, its status and which one production runs.")
    static final class ListCommand implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Option(names = "--kernels", description = "also each CUDA kernel's ptxas figures per architecture")
        boolean kernels;

        @Override public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            for (String line : LabTable.lines(kernels)) out.println(line);
            out.flush();
            return 0;
        }
    }

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = {"The op checks on a variant (or on every variant of an op): forward and backward against the plain-Java",
                    "reference at the quick set's awkward shapes, the lab's extra ones and every call the presets make, at seeds "
                            + "0, 1, 2,", "with outputs pre-filled with NaN and with -7777.25. CUDA variants run on the emulated device, and on",
                    "the GPU (or the virtual GPU of JGAN_VIRTUAL_GPU) where one is. Exits 0 when all pass, 1 when any fails."})
    static final class CheckVariants implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Parameters(paramLabel = "OP[:VARIANT]", description = "an op (every variant of it) or one variant, as `gan kernels list` names them")
        String target;

        @Option(names = "--device", defaultValue = "all", description = "cpu, cuda or all: which variants (default: ${DEFAULT-VALUE})")
        String device;

        @Option(names = "--quick", description = "without the presets' calls (the quick set and the lab's extra shapes only)")
        boolean quick;

        @Option(names = "--threads", description = "CPU threads (default: all cores)")
        Integer threads;

        @Override public Integer call() {
            PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
            Device only = switch (device) {
                case "all" -> null;
                case "cpu" -> Device.CPU;
                case "cuda" -> Device.CUDA;
                default -> throw new UserError("unknown --device '" + device + "'; use cpu, cuda or all");
            };
            List<Variant> variants;
            try {
                variants = KernelLab.find(target, only);
            } catch (IllegalArgumentException e) {
                throw new UserError(e.getMessage());
            }
            int n = threads != null ? threads : Backends.defaultThreads();
            long t0 = System.nanoTime();
            List<VariantCheck.Row> rows = new ArrayList<>();
            boolean heading = false;
            try (Backend recorder = VariantCheck.recorder(n)) {
                for (Device d : Device.values()) {
                    List<Variant> these = variants.stream().filter(v -> v.device() == d).toList();
                    if (these.isEmpty()) continue;
                    List<OpSuite.Case> cases = VariantCheck.cases(these.getFirst().op(), quick, recorder);
                    for (VariantCheck.Target t : VariantCheck.targets(d, n, line -> err.println("gan kernels check: " + line))) {
                        if (!heading) {
                            VariantCheck.printHeading(out);
                            heading = true;
                        }
                        try (Backend b = t.backend()) {
                            for (Variant v : these) rows.addAll(VariantCheck.run(v, b, t.label(), cases, r -> VariantCheck.printRow(out, r)));
                        }
                    }
                }
            }
            long failed = rows.stream().filter(r -> !r.passed()).count();
            out.println(String.format(Locale.ROOT, "%d cases x %d runs: %d passed, %d failed (%.1f s)%s", rows.size(),
                    VariantCheck.SEEDS.length * VariantCheck.SENTINELS.length, rows.size() - failed, failed, (System.nanoTime() - t0) / 1e9,
                    failed == 0 && !rows.isEmpty() ? ": all passed" : ": FAILED"));
            out.flush();
            return failed == 0 && !rows.isEmpty() ? 0 : 1;
        }

    }

    @Command(name = "bench", mixinStandardHelpOptions = true,
            description = "Time a variant against the roofline measured at the start: runs from the benchmarks jar (./gan kernels bench ...).")
    static final class BenchVariants implements Callable<Integer> {
        @Parameters(arity = "0..*", hidden = true)
        List<String> ignored;

        @Override public Integer call() {
            throw new UserError("gan kernels bench runs JMH from the benchmarks jar: run it as ./gan kernels bench OP[:VARIANT] ..."
                    + " (or java -cp benchmarks/target/benchmarks.jar dev.jgan.bench.lab.KernelBench OP[:VARIANT] ...)");
        }
    }
}
