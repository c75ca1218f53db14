package dev.jgan.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the build packed into the jar from kernels/: the fatbin ({@link CudaProbe#KERNELS_RESOURCE})
 * and ptxas's report on it ({@link #REPORT_RESOURCE}: registers and spills per kernel and
 * architecture, which `gan info` and the tests read).
 */
public final class KernelImages {
    /** Tab-separated: kernel, arch, registers, spill stores, spill loads, stack, static shared, parameter bank bytes. */
    public static final String REPORT_RESOURCE = "/dev/jgan/kernels/jgan_kernels.report";

    private KernelImages() {}

    /** One line of the ptxas report. */
    public record KernelReport(String kernel, String arch, int registers, int spillStores, int spillLoads,
                               int stackBytes, int sharedBytes) {}

    /** The fatbin's bytes, when the jar has it. */
    public static Optional<byte[]> fatbin() {
        return read(CudaProbe.KERNELS_RESOURCE);
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
}
