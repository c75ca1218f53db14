package dev.jgan.cli;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.check.OpSuite;
import dev.jgan.check.VariantCheck;
import dev.jgan.cpu.CpuBackend;
import dev.jgan.cuda.KernelImages;
import dev.jgan.cuda.emulated.EmulatedDevice;
import dev.jgan.cuda.emulated.EmulatedLauncher;
import dev.jgan.lab.KernelLab;
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
import java.util.IntSummaryStatistics;
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
            List<KernelImages.KernelReport> reports = new ArrayList<>(KernelImages.report());
            reports.addAll(KernelImages.labReport());
            out.println(String.format(Locale.ROOT, "%-26s  %-6s  %-10s  %-4s  %6s  %9s  %-34s  %s", "op:variant", "device", "status", "prod",
                    "B/elem", "FLOP/elem", "CUDA: registers, spills, shared", "source"));
            for (Variant v : KernelLab.variants()) {
                boolean production = KernelLab.production(v.op(), v.device()).equals(v);
                out.println(String.format(Locale.ROOT, "%-26s  %-6s  %-10s  %-4s  %6s  %9s  %-34s  %s", v.id(), v.device().id(), v.status().id(),
                        production ? "yes" : "", number(v.bytesPerElement()), number(v.flopsPerElement()), ptxas(v, reports), v.source()));
                if (kernels)
                    for (String k : v.kernels())
                        for (KernelImages.KernelReport r : reports)
                            if (r.kernel().equals(k))
                                out.println(String.format(Locale.ROOT, "    %-44s %-6s %3d registers, %d/%d spill bytes, %d stack, %d shared", k,
                                        r.arch(), r.registers(), r.spillStores(), r.spillLoads(), r.stackBytes(), r.sharedBytes()));
            }
            out.println("B/elem and FLOP/elem: per element of the op's main tensor, every pass over it counted (the variant's source header says how);"
                    + " ptxas figures of sm_80 and sm_90 from the build's reports" + (reports.isEmpty() ? " (absent: built without nvcc)" : ""));
            out.flush();
            return 0;
        }

        private static String number(double v) {
            return v == 0 ? "-" : String.format(Locale.ROOT, v == Math.rint(v) ? "%.0f" : "%.1f", v);
        }

        /** "32-40 regs, 0 spills, <= 264 B": the range over the variant's kernels and architectures. */
        private static String ptxas(Variant v, List<KernelImages.KernelReport> reports) {
            if (v.device() != Device.CUDA || v.kernels().isEmpty()) return "";
            IntSummaryStatistics regs = new IntSummaryStatistics();
            int spills = 0, shared = 0, missing = 0;
            for (String k : v.kernels()) {
                boolean found = false;
                for (KernelImages.KernelReport r : reports)
                    if (r.kernel().equals(k)) {
                        found = true;
                        regs.accept(r.registers());
                        spills += r.spillStores() + r.spillLoads();
                        shared = Math.max(shared, r.sharedBytes());
                    }
                if (!found) missing++;
            }
            if (regs.getCount() == 0) return "not built";
            String range = regs.getMin() == regs.getMax() ? "" + regs.getMin() : regs.getMin() + "-" + regs.getMax();
            return range + " regs, " + spills + " spill B, <= " + shared + " B shared" + (missing > 0 ? ", " + missing + " not built" : "");
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
            try (Backend recorder = recorder(n)) {
                for (Device d : Device.values()) {
                    List<Variant> these = variants.stream().filter(v -> v.device() == d).toList();
                    if (these.isEmpty()) continue;
                    List<OpSuite.Case> cases = VariantCheck.cases(these.getFirst().op(), quick, recorder);
                    for (Target t : targets(d, n, err)) {
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

        /** A backend the variants of one device run on, and its label in the table. */
        private record Target(String label, Backend backend) {}

        /** CPU: the CPU backend. CUDA: the emulated device always; the GPU (or the virtual one) where present, else one line. */
        private static List<Target> targets(Device d, int threads, PrintWriter err) {
            List<Target> out = new ArrayList<>();
            if (d == Device.CPU) {
                if (!CpuBackend.available()) throw new UserError("the CPU backend is " + CpuBackend.ABSENT + ": CPU variants cannot be checked here");
                out.add(new Target("cpu", new CpuBackend(threads)));
                return out;
            }
            if (EmulatedLauncher.bundledLibrary().isEmpty())
                throw new UserError("this build has no host emulation library (native/ needs g++ and CMake): CUDA variants cannot be checked");
            out.add(new Target("emulated", EmulatedDevice.open(256L << 20)));
            try {
                Backend gpu = Backends.select("cuda", threads, s -> {});
                out.add(new Target(dev.jgan.cuda.gpu.VirtualGpu.installed() ? "vgpu" : "gpu", gpu));
            } catch (UserError e) {
                // the first thing missing is enough here; `gan info` lists the rest
                String why = e.getMessage().replaceFirst("^--device cuda is not usable here: ", "").split("; ")[0];
                err.println("gan kernels check: CUDA variants on the emulated device only (no GPU: " + why + ")");
            }
            return out;
        }

        /** The backend the presets' steps are recorded on (their shapes do not depend on it): the CPU, or the emulated device. */
        private static Backend recorder(int threads) {
            return CpuBackend.available() ? new CpuBackend(threads) : EmulatedDevice.open(256L << 20);
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
