package dev.jgan.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * What the build packed into the jar from kernels/: the fatbin ({@link #FATBIN_RESOURCE}), the
 * PTX for older drivers ({@link #PTX_RESOURCE}) and ptxas's report on the fatbin
 * ({@link #REPORT_RESOURCE}: registers and spills per kernel and architecture, which `gan info`
 * and the tests read); and which of the two images a driver can load ({@link #forDriver}).
 *
 * <p>The driver floor (kernels/fatbin.cmake has the evidence): nvcc 13's fatbin holds sm_80 and
 * sm_90 machine code in CUDA 13's ELF format and compute_90 PTX of ISA 9.0, which NVIDIA supports
 * on CUDA 13.0 drivers (R580) and newer only. For older drivers the build lowers compute_80 PTX to
 * ISA 7.0 (the lowest that knows sm_80), which ptxas 13 and CUDA 11.8's ptxas both assemble, and
 * which the driver JIT-compiles at load. The kernels alone would run from CUDA 11.0 (R450); the
 * floor is CUDA 12.0 (R525) because the libraries are: cuBLAS 12 and cuDNN for CUDA 12 (the
 * oldest jgan binds) need it.
 */
public final class KernelImages {
    /** The fatbin of kernels/ (sm_80, sm_90, compute_90 PTX), for CUDA 13.0 drivers and newer. */
    public static final String FATBIN_RESOURCE = "/dev/jgan/kernels/jgan_kernels.fatbin";
    /** compute_80 PTX text declared ISA 7.0, for drivers older than CUDA 13.0 (JIT-compiled at load). */
    public static final String PTX_RESOURCE = "/dev/jgan/kernels/jgan_kernels.ptx";
    /** The host build of kernels/ with the emulation runtime (native/), loaded by the emulated launcher. */
    public static final String EMULATION_RESOURCE = "/dev/jgan/native/linux-x86_64/libjgan_emu.so";
    /** Tab-separated: kernel, arch, registers, spill stores, spill loads, stack, static shared, parameter bank bytes. */
    public static final String REPORT_RESOURCE = "/dev/jgan/kernels/jgan_kernels.report";

    /** The kernel lab's images (kernels/lab/, built apart from the production ones; docs/kernel-lab.md). */
    public static final String LAB_FATBIN_RESOURCE = "/dev/jgan/kernels/jgan_lab.fatbin",
            LAB_PTX_RESOURCE = "/dev/jgan/kernels/jgan_lab.ptx",
            LAB_EMULATION_RESOURCE = "/dev/jgan/native/linux-x86_64/libjgan_lab_emu.so",
            LAB_REPORT_RESOURCE = "/dev/jgan/kernels/jgan_lab.report";

    /** The oldest driver jgan runs on, as cuDriverGetVersion says it (1000 * major + 10 * minor): CUDA 12.0, R525. */
    public static final int DRIVER_FLOOR = 12000;
    /** The oldest driver that loads the fatbin: CUDA 13.0 (R580), the first to read nvcc 13's ELF and PTX ISA 9.0. */
    public static final int FATBIN_DRIVER = 13000;
    /** The PTX ISA {@link #PTX_RESOURCE} declares (kernels/fatbin.cmake's PTX_ISA). */
    public static final String PTX_ISA = "7.0";

    private KernelImages() {}

    /** One line of the ptxas report. */
    public record KernelReport(String kernel, String arch, int registers, int spillStores, int spillLoads,
                               int stackBytes, int sharedBytes) {}

    /** The fatbin's bytes, when the jar has it. */
    public static Optional<byte[]> fatbin() {
        return read(FATBIN_RESOURCE);
    }

    /** The PTX image as cuModuleLoadData takes it: the text and a terminating NUL, when the jar has it. */
    public static Optional<byte[]> ptx() {
        return ptx(PTX_RESOURCE);
    }

    /** A PTX resource as cuModuleLoadData takes it: the text and a terminating NUL. */
    private static Optional<byte[]> ptx(String resource) {
        return read(resource).map(text -> Arrays.copyOf(text, text.length + 1));
    }

    /** Which image a driver loads: the fatbin or the PTX text. */
    public enum Kind { FATBIN, PTX }

    /** An image to hand cuModuleLoadData, and one line on which part of the build it is and why. */
    public record Image(Kind kind, byte[] bytes, String description) {}

    /**
     * The image for a driver of CUDA version {@code cudaDriverVersion} (cuDriverGetVersion's
     * value, e.g. 12020 for CUDA 12.2): the fatbin from CUDA 13.0 on, the ISA 7.0 PTX for CUDA
     * 12.x drivers, which JIT-compile it (the fatbin's machine code and PTX are CUDA 13's, which
     * NVIDIA supports from R580 only).
     *
     * @throws IllegalStateException one line, when the driver is older than {@link #DRIVER_FLOOR}
     *     or the jar lacks the image
     */
    public static Image forDriver(int cudaDriverVersion) {
        return forDriver(cudaDriverVersion, false);
    }

    /** {@link #forDriver(int)} of the production kernels, or of the kernel lab's when {@code lab}. */
    public static Image forDriver(int cudaDriverVersion, boolean lab) {
        if (cudaDriverVersion < DRIVER_FLOOR)
            throw new IllegalStateException("NVIDIA driver too old: " + cudaVersion(cudaDriverVersion)
                    + " driver, jgan needs " + cudaVersion(DRIVER_FLOOR) + " (driver 525) or newer; upgrade the NVIDIA driver");
        String missing = lab ? "the kernel lab's CUDA kernels are not built into this jar (kernels/lab/ needs nvcc and CMake; see the build's output)"
                : "jgan's CUDA kernels are not built into this jar (build on a machine with nvcc and CMake)";
        if (cudaDriverVersion >= FATBIN_DRIVER)
            return new Image(Kind.FATBIN, read(lab ? LAB_FATBIN_RESOURCE : FATBIN_RESOURCE).orElseThrow(() -> new IllegalStateException(missing)),
                    (lab ? "lab " : "") + "fatbin (sm_80, sm_90 machine code, compute_90 PTX ISA 9.0) for the " + cudaVersion(cudaDriverVersion) + " driver");
        return new Image(Kind.PTX, ptx(lab ? LAB_PTX_RESOURCE : PTX_RESOURCE).orElseThrow(() -> new IllegalStateException(missing)),
                "compute_80 PTX (ISA " + PTX_ISA + "), JIT-compiled by the " + cudaVersion(cudaDriverVersion)
                        + " driver (the fatbin needs CUDA 13.0, R580)");
    }

    /** The oldest driver jgan runs on, in words: "CUDA 12.0 (driver 525)". */
    public static String minimumDriver() {
        return cudaVersion(DRIVER_FLOOR) + " (driver 525)";
    }

    /** The floor in words, for `gan info` and the README. */
    public static String driverFloor() {
        return minimumDriver() + " or newer: from " + cudaVersion(FATBIN_DRIVER)
                + " (R580) the fatbin's sm_80/sm_90 machine code, before it the compute_80 PTX (ISA " + PTX_ISA
                + ") JIT-compiled by the driver";
    }

    /** cuDriverGetVersion's value in words: 12020 -> "CUDA 12.2". */
    static String cudaVersion(int v) {
        return "CUDA " + v / 1000 + "." + v % 1000 / 10;
    }

    /** The ptxas report, one entry per kernel and architecture (empty when the kernels were not built). */
    public static List<KernelReport> report() {
        return report(REPORT_RESOURCE);
    }

    /** The ptxas report of the kernel lab's fatbin (empty when it was not built). */
    public static List<KernelReport> labReport() {
        return report(LAB_REPORT_RESOURCE);
    }

    private static List<KernelReport> report(String resource) {
        Optional<byte[]> bytes = read(resource);
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
     * architectures (and whether the PTX for older drivers is there), the register range and the spills (the build refuses any), and whether the
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
        String ptx = KernelImages.class.getResource(PTX_RESOURCE) == null ? ""
                : "; compute_80 PTX ISA " + PTX_ISA + " for CUDA 12.x drivers";
        return kernels.size() + " kernels built into the jar (" + String.join(", ", archs) + ", compute_90 PTX" + ptx + "), "
                + min + "-" + max + " registers, " + (spills == 0 ? "no spills" : spills + " bytes spilled")
                + " (per kernel: " + REPORT_RESOURCE + "); " + emu;
    }
}
