package dev.jgan.cuda.gpu;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Both sonames of each library the virtual GPU stands in for answer as their NVIDIA version does
 * where the versions differ: libcudnn.so.8 with cuDNN 8.9's status codes and version encoding,
 * libcudnn.so.9 with cuDNN 9's renumbered codes (BAD_PARAM 2000, NOT_SUPPORTED 3000, ...) and its
 * encoding; libcublas.so.12 and .13 their majors. Each file is opened by its path (so both of a
 * library sit in this one JVM, sharing the core's state, which these calls do not touch: they
 * need no device). The stacks' whole training steps run in surefire's executions: virtual-gpu
 * (cuda12, JNI) and virtual-gpu-ffm (cuda13, FFM).
 */
@Tag("virtual-gpu")
class VirtualStacksTest {
    private static Path dir;

    @BeforeAll
    static void built() {
        dir = VirtualGpu.directory().orElse(null);
        if (dir == null || !Files.isRegularFile(dir.resolve("libcudnn.so.9")))
            VirtualDriverTest.unavailable("the virtual GPU's stand-ins were not built (native/vgpu/; the build needs cmake and g++)");
        VirtualGpu.install(); // the core, which the stand-ins link
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            // soname, cudnnGetVersion, BAD_PARAM, NOT_SUPPORTED
            "libcudnn.so.8, 8907, 3, 9",
            "libcudnn.so.9, 91002, 2000, 3000"})
    void cudnnAnswersInItsMajorsNumbering(String soname, long version, int badParam, int notSupported) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup lib = SymbolLookup.libraryLookup(dir.resolve(soname), arena);
            Linker l = Linker.nativeLinker();
            assertEquals(version, (long) l.downcallHandle(lib.findOrThrow("cudnnGetVersion"), FunctionDescriptor.of(JAVA_LONG)).invokeExact(),
                    soname + ": cudnnGetVersion");
            MethodHandle create = l.downcallHandle(lib.findOrThrow("cudnnCreateTensorDescriptor"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
            MethodHandle set = l.downcallHandle(lib.findOrThrow("cudnnSetTensor4dDescriptor"),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
            MethodHandle destroy = l.downcallHandle(lib.findOrThrow("cudnnDestroyTensorDescriptor"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
            MethodHandle text = l.downcallHandle(lib.findOrThrow("cudnnGetErrorString"), FunctionDescriptor.of(ADDRESS, JAVA_INT));
            MemorySegment out = arena.allocate(ADDRESS);
            assertEquals(0, (int) create.invokeExact(out));
            MemorySegment desc = out.get(ADDRESS, 0);
            int nchw = 0, nhwc = 1, floatType = 0;
            assertEquals(badParam, (int) set.invokeExact(desc, nchw, floatType, 0, 3, 4, 4), soname + ": a batch of 0 is BAD_PARAM");
            assertEquals(notSupported, (int) set.invokeExact(desc, nhwc, floatType, 1, 3, 4, 4), soname + ": NHWC is not supported here");
            assertEquals(0, (int) set.invokeExact(desc, nchw, floatType, 1, 3, 4, 4));
            assertEquals(0, (int) destroy.invokeExact(desc));
            assertEquals("CUDNN_STATUS_BAD_PARAM", string((MemorySegment) text.invokeExact(badParam)), soname);
            assertEquals("CUDNN_STATUS_NOT_SUPPORTED", string((MemorySegment) text.invokeExact(notSupported)), soname);
            // the other version's code means nothing here
            int other = badParam == 3 ? 2000 : 3;
            assertEquals("CUDNN_UNKNOWN_STATUS", string((MemorySegment) text.invokeExact(other)), soname + ": code " + other);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"libcublas.so.12, 12", "libcublas.so.13, 13"})
    void cublasReportsItsMajor(String soname, int major) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup lib = SymbolLookup.libraryLookup(dir.resolve(soname), arena);
            MethodHandle property = Linker.nativeLinker().downcallHandle(lib.findOrThrow("cublasGetProperty"),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
            MemorySegment v = arena.allocate(JAVA_INT);
            assertEquals(0, (int) property.invokeExact(0, v)); // MAJOR_VERSION
            assertEquals(major, v.get(JAVA_INT, 0), soname);
            assertEquals(major + "." + (major == 12 ? "4.5" : "0.2"), NvidiaLibraries.version(
                    new NvidiaLibraries.Found(NvidiaLibraries.Library.CUBLAS, soname, dir.resolve(soname).toString(), "test")), soname);
        }
    }

    private static String string(MemorySegment cString) {
        return cString.reinterpret(256).getString(0);
    }
}
