package dev.jgan.cuda;

import dev.jgan.cuda.gpu.CudaProbe;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the build packed into the jar: the fatbin holds exactly one sm_80 and one sm_90 ELF and
 * compute_90 PTX (what cuobjdump --list-elf / --list-ptx would list; cuobjdump is not part of the
 * CI machine's CUDA toolkit), every kernel is in both ELFs, and ptxas reports no spills.
 */
class KernelBuildTest {
    /** A fatbin image: kind 1 PTX, 2 ELF; arch 80 for sm_80 / compute_80. */
    record Image(int kind, int arch, byte[] payload) {
        String describe() { return (kind == 2 ? "ELF sm_" : kind == 1 ? "PTX compute_" : "kind " + kind + " arch ") + arch; }
    }

    /**
     * The fatbin container (fatbinary's format, as cuobjdump reads it): a 16-byte header (magic
     * 0xBA55ED50, version, header size, payload size), then images, each a header (kind u16,
     * header size u32 at 4, payload size u64 at 8, arch u32 at 28) and its payload.
     */
    static List<Image> images(byte[] fatbin) {
        ByteBuffer b = ByteBuffer.wrap(fatbin).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0xBA55ED50, b.getInt(0), "fatbin magic");
        int headerSize = Short.toUnsignedInt(b.getShort(6));
        long end = headerSize + b.getLong(8);
        List<Image> out = new ArrayList<>();
        for (long at = headerSize; at < end; ) {
            int p = (int) at;
            int kind = Short.toUnsignedInt(b.getShort(p)), imageHeader = b.getInt(p + 4), arch = b.getInt(p + 28);
            long size = b.getLong(p + 8);
            byte[] payload = new byte[(int) size];
            b.get(p + imageHeader, payload);
            out.add(new Image(kind, arch, payload));
            at += imageHeader + size;
        }
        return out;
    }

    @Test
    void fatbinHasSm80AndSm90MachineCodeAndCompute90Ptx() {
        List<Image> images = images(Emulation.fatbin());
        List<String> listed = images.stream().map(Image::describe).sorted().toList();
        assertEquals(List.of("ELF sm_80", "ELF sm_90", "PTX compute_90"), listed,
                "one ELF per architecture (cuModuleLoadData loads one) and the PTX for later GPUs");
        for (Image i : images) {
            if (i.kind() != 2) continue;
            String elf = new String(i.payload(), StandardCharsets.ISO_8859_1);
            for (String k : Kernels.NAMES) assertTrue(elf.contains(".text." + k + "\0"), k + " missing from " + i.describe());
        }
    }

    @Test
    void everyKernelCompilesWithoutSpillsOnBothArchitectures() {
        Emulation.fatbin();
        List<KernelImages.KernelReport> report = KernelImages.report();
        Set<String> seen = new TreeSet<>();
        for (KernelImages.KernelReport r : report) {
            assertEquals(0, r.spillStores(), r.kernel() + " (" + r.arch() + ") spill stores");
            assertEquals(0, r.spillLoads(), r.kernel() + " (" + r.arch() + ") spill loads");
            assertTrue(r.registers() > 0 && r.registers() <= 255, r.toString());
            seen.add(r.kernel() + "@" + r.arch());
        }
        Set<String> expected = new TreeSet<>();
        for (String k : Kernels.NAMES) {
            expected.add(k + "@sm_80");
            expected.add(k + "@sm_90");
        }
        assertEquals(expected, seen, "the ptxas report covers exactly the kernels Kernels launches");
    }

    @Test
    void probeSummarisesTheReportInOneLine() {
        Emulation.fatbin();
        String line = KernelImages.summary();
        assertTrue(line.startsWith(Kernels.NAMES.size() + " kernels built into the jar (sm_80, sm_90, compute_90 PTX; compute_80 PTX ISA 7.0 for CUDA 12.x drivers)"), line);
        assertTrue(line.contains("no spills") && !line.contains("\n"), line);
    }
}
