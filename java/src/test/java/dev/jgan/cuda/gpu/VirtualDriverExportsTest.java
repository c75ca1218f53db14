package dev.jgan.cuda.gpu;

import jcuda.JCudaVersion;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * libcuda.so.1 of the virtual GPU exports exactly the names of native/vgpu/libcuda.map, and each
 * of them is one JCuda's driver JNI library imports (so none is dead, and the JNI library's lazy
 * binding finds it). Read from the ELF files' dynamic symbol tables.
 */
@Tag("virtual-gpu")
class VirtualDriverExportsTest {
    /** The names in a linker version script's global: section. */
    static Set<String> mapNames(Path map) throws IOException {
        String text = Files.readString(map).replaceAll("(?s)/\\*.*?\\*/", "");
        String global = text.substring(text.indexOf("global:") + 7, text.indexOf("local:"));
        Set<String> out = new TreeSet<>();
        Matcher m = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)\\s*;").matcher(global);
        while (m.find()) out.add(m.group(1));
        return out;
    }

    /** Function symbols of an ELF64 file's .dynsym: those it defines (exports) or those it imports. */
    static Set<String> dynamicFunctions(byte[] elf, boolean defined) {
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        long shoff = b.getLong(0x28);
        int shentsize = Short.toUnsignedInt(b.getShort(0x3A)), shnum = Short.toUnsignedInt(b.getShort(0x3C));
        Set<String> out = new TreeSet<>();
        for (int i = 0; i < shnum; i++) {
            int sh = (int) (shoff + (long) i * shentsize);
            if (b.getInt(sh + 4) != 11) continue; // SHT_DYNSYM
            int off = (int) b.getLong(sh + 0x18), size = (int) b.getLong(sh + 0x20), entsize = (int) b.getLong(sh + 0x38);
            int strsh = (int) (shoff + (long) b.getInt(sh + 0x28) * shentsize);
            int strtab = (int) b.getLong(strsh + 0x18);
            for (int s = off; s + entsize <= off + size; s += entsize) {
                int info = b.get(s + 4) & 0xff, shndx = Short.toUnsignedInt(b.getShort(s + 6));
                int bind = info >> 4, type = info & 0xf;
                if (type != 2 && type != 0 || bind == 0) continue; // functions (or untyped imports), global or weak
                if (defined != (shndx != 0) || shndx == 0xfff1) continue;
                int name = strtab + b.getInt(s);
                int end = name;
                while (elf[end] != 0) end++;
                if (end > name) out.add(new String(elf, name, end - name, StandardCharsets.US_ASCII));
            }
        }
        return out;
    }

    @Test
    void theDriverExportsExactlyItsMapAndJCudaImportsEachOfThem() throws IOException {
        Path dir = VirtualGpu.directory().orElse(null);
        if (dir == null || !Files.isRegularFile(dir.resolve(CudaProbe.DRIVER)))
            VirtualDriverTest.unavailable("the virtual GPU was not built (native/vgpu/; the build needs cmake and g++)");
        Path map = Path.of("..", "native", "vgpu", "libcuda.map");
        Set<String> names = mapNames(map);
        assertTrue(names.contains("cuLaunchKernel") && names.contains("cuMemAlloc_v2"), names.toString());
        assertEquals(names, dynamicFunctions(Files.readAllBytes(dir.resolve(CudaProbe.DRIVER)), true), "exports of libcuda.so.1");

        String jni = "/lib/libJCudaDriver-" + JCudaVersion.get() + "-linux-x86_64.so";
        try (InputStream in = getClass().getResourceAsStream(jni)) {
            assertNotNull(in, jni);
            Set<String> imported = dynamicFunctions(in.readAllBytes(), false);
            Set<String> notImported = new TreeSet<>(names);
            notImported.removeAll(imported);
            assertEquals(Set.of(), notImported, "exported by libcuda.so.1 but not imported by " + jni);
        }
    }
}
