package dev.jgan.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * What the build packed into the jar from kernels/: the fatbin ({@link #FATBIN_RESOURCE})
 * and ptxas's report on it ({@link #REPORT_RESOURCE}: registers and spills per kernel and
 * architecture, which `gan info` and the tests read).
 */
public final class KernelImages {
    /** Tab-separated: kernel, arch, registers, spill stores, spill loads, stack, static shared, parameter bank bytes. */
    /** The fatbin of kernels/ (sm_80, sm_90, compute_90 PTX). */
    public static final String FATBIN_RESOURCE = "/dev/jgan/kernels/jgan_kernels.fatbin";
    /** The host build of kernels/ with the emulation runtime (native/), loaded by the emulated launcher. */
    public static final String EMULATION_RESOURCE = "/dev/jgan/native/linux-x86_64/libjgan_emu.so";
    public static final String REPORT_RESOURCE = "/dev/jgan/kernels/jgan_kernels.report";

    private KernelImages() {}

    /** One line of the ptxas report. */
    public record KernelReport(String kernel, String arch, int registers, int spillStores, int spillLoads,
                               int stackBytes, int sharedBytes) {}

    /** The fatbin's bytes, when the jar has it. */
    /** TEMPORARY (lead's branch, replaced by helper floor's): the driver the kernels need. */
    public static String driverFloor() { return "525 or newer for CUDA 12"; }

    public static Optional<byte[]> fatbin() {
        return read(FATBIN_RESOURCE);
    }

    /** The ptxas report, one entry per kernel and architecture (empty when the kernels were not built). */
    public static List<KernelReport> report() {
        Optional<byte[]> bytes = read(REPORT_RESOURCE);
        List<KernelReport> out = new ArrayList<>();
        if (bytes.isEmpty()) return out;
        for (String line : new String(bytes.get(), StandardCharsets.UTF_8).split("\n")) {
            if (line.isBlank() || line.startsWith("#")) continue;
            String[] f = line.split("\t");
            out.add(new KernelReport(f[0], f[1], Integer.parseInt(f[2]), Integer.parseInt(f[3]), Integer.parseInt(f[4]),
                    Integer.parseInt(f[5]), Integer.parseInt(f[6])));
        }
        return out;
    }

    private static Optional<byte[]> read(String resource) {
        try (InputStream in = KernelImages.class.getResourceAsStream(resource)) {
            return in == null ? Optional.empty() : Optional.of(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource + " from the class path", e);
        }
    }


    /**
     * One line on jgan's kernels in this jar, from the build's ptxas report: how many, for which
     * architectures, the register range and the spills (the build refuses any), and whether the
     * host emulation library is there; or that they were not built.
     */
    public static String summary() {
        boolean emulation = KernelImages.class.getResource(EMULATION_RESOURCE) != null;
        String emu = emulation ? "host emulation built in" : "no host emulation (built when g++ and CMake are present)";
        List<KernelReport> report = report();
        if (KernelImages.class.getResource(FATBIN_RESOURCE) == null || report.isEmpty())
            return "absent (not built: needs nvcc and CMake at build time); " + emu;
        Set<String> kernels = new TreeSet<>(), archs = new TreeSet<>();
        int min = Integer.MAX_VALUE, max = 0, spills = 0;
        for (KernelReport r : report) {
            kernels.add(r.kernel());
            archs.add(r.arch());
            min = Math.min(min, r.registers());
            max = Math.max(max, r.registers());
            spills += r.spillStores() + r.spillLoads();
        }
        return kernels.size() + " kernels built into the jar (" + String.join(", ", archs) + ", compute_90 PTX), "
                + min + "-" + max + " registers, " + (spills == 0 ? "no spills" : spills + " bytes spilled")
                + " (per kernel: " + REPORT_RESOURCE + "); " + emu;
    }
}
