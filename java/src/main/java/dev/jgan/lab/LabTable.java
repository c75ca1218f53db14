package dev.jgan.lab;

import dev.jgan.cuda.KernelImages;
import dev.jgan.lab.Variant.Device;

import java.util.ArrayList;
import java.util.IntSummaryStatistics;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;

/** {@code gan kernels list}: every op and variant, its status, production's choice, its traffic and its kernels' ptxas figures. */
public final class LabTable {
    private static final String ROW = "%-26s  %-6s  %-10s  %-4s  %6s  %9s  %-36s  %s";

    private LabTable() {}

    /** The table's lines; with {@code kernels}, each CUDA kernel's figures per architecture under its variant. */
    public static List<String> lines(boolean kernels) {
        List<KernelImages.KernelReport> reports = new ArrayList<>(KernelImages.report());
        reports.addAll(KernelImages.labReport());
        List<String> out = new ArrayList<>();
        out.add(String.format(Locale.ROOT, ROW, "op:variant", "device", "status", "prod", "B/elem", "FLOP/elem",
                "CUDA: registers, spills, shared", "source"));
        for (Variant v : KernelLab.variants()) {
            boolean production = KernelLab.production(v.op(), v.device()).equals(v);
            out.add(String.format(Locale.ROOT, ROW, v.id(), v.device().id(), v.status().id(), production ? "yes" : "",
                    number(v.bytesPerElement()), number(v.flopsPerElement()), ptxas(v, reports), v.source()));
            if (kernels)
                for (String k : v.kernels())
                    for (KernelImages.KernelReport r : new LinkedHashSet<>(reports))   // ptxas -v reports some kernels twice
                        if (r.kernel().equals(k))
                            out.add(String.format(Locale.ROOT, "    %-44s %-6s %3d registers, %d/%d spill bytes, %d stack, %d shared", k,
                                    r.arch(), r.registers(), r.spillStores(), r.spillLoads(), r.stackBytes(), r.sharedBytes()));
        }
        out.add("B/elem, FLOP/elem: per element of the op's tensor in its main call, every pass counted (the source's header says how);"
                + " ptxas figures over sm_80 and sm_90 from the build's reports" + (reports.isEmpty() ? " (absent: built without nvcc)" : ""));
        return out;
    }

    private static String number(double v) {
        return v == 0 ? "-" : String.format(Locale.ROOT, v == Math.rint(v) ? "%.0f" : "%.1f", v);
    }

    /** "32-40 regs, 0 spill B, 264 B shared": the range over the variant's kernels and both architectures. */
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
        return range + " regs, " + spills + " spill B, " + (shared == 0 ? "no" : "<= " + shared + " B") + " shared"
                + (missing > 0 ? ", " + missing + " not built" : "");
    }
}
