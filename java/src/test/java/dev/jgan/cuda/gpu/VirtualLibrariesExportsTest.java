package dev.jgan.cuda.gpu;

import jcuda.JCudaVersion;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

import static dev.jgan.cuda.gpu.VirtualDriverExportsTest.dynamicFunctions;
import static dev.jgan.cuda.gpu.VirtualDriverExportsTest.mapNames;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * libcublas.so.12 and libcudnn.so.8 of the virtual GPU export exactly the names of their version
 * scripts (native/vgpu/libcublas.map, libcudnn.map), each one JCublas2's or JCudnn's JNI library
 * imports, and every function jgan's adapters reach (the README's list, in the C ABI names the
 * headers map them to): a missing one would kill the JVM at the JNI call ("symbol lookup error").
 */
@Tag("virtual-gpu")
class VirtualLibrariesExportsTest {
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "libcublas.so.12|libcublas.map|JCublas2|cublasCreate_v2 cublasDestroy_v2 cublasSetStream_v2 cublasGetVersion_v2 cublasSgemm_v2"
                    + " cublasGetProperty",
            "libcudnn.so.8|libcudnn.map|JCudnn|cudnnCreate cudnnSetStream cudnnGetVersion cudnnCreateTensorDescriptor"
                    + " cudnnSetTensor4dDescriptor cudnnCreateFilterDescriptor cudnnSetFilter4dDescriptor cudnnCreateConvolutionDescriptor"
                    + " cudnnSetConvolution2dDescriptor cudnnSetConvolutionMathType cudnnGetConvolutionForwardWorkspaceSize"
                    + " cudnnGetConvolutionBackwardDataWorkspaceSize cudnnGetConvolutionBackwardFilterWorkspaceSize"
                    + " cudnnFindConvolutionForwardAlgorithmEx cudnnFindConvolutionBackwardDataAlgorithmEx"
                    + " cudnnFindConvolutionBackwardFilterAlgorithmEx cudnnConvolutionForward cudnnConvolutionBackwardData"
                    + " cudnnConvolutionBackwardFilter cudnnDestroyTensorDescriptor cudnnDestroyFilterDescriptor"
                    + " cudnnDestroyConvolutionDescriptor cudnnDestroy"})
    void exportsExactlyItsMapWhichHoldsWhatJganCallsAndTheJniImportsEachName(String library, String mapFile, String jniName,
                                                                              String jganCalls) throws IOException {
        Path dir = VirtualGpu.directory().orElse(null);
        if (dir == null || !Files.isRegularFile(dir.resolve(library)))
            VirtualDriverTest.unavailable("the virtual GPU's " + library + " was not built (native/vgpu/; the build needs cmake and g++)");
        Set<String> names = mapNames(Path.of("..", "native", "vgpu", mapFile));
        assertEquals(names, dynamicFunctions(Files.readAllBytes(dir.resolve(library)), true), "exports of " + library);
        Set<String> missing = new TreeSet<>(Set.of(jganCalls.split(" ")));
        missing.removeAll(names);
        assertEquals(Set.of(), missing, "called by jgan but not exported by " + library);

        String jni = "/lib/lib" + jniName + "-" + JCudaVersion.get() + "-linux-x86_64.so";
        try (InputStream in = getClass().getResourceAsStream(jni)) {
            assertNotNull(in, jni);
            Set<String> imported = dynamicFunctions(in.readAllBytes(), false);
            Set<String> notImported = new TreeSet<>(names);
            notImported.removeAll(imported);
            assertEquals(Set.of(), notImported, "exported by " + library + " but not imported by " + jni);
            assertTrue(imported.containsAll(names));
        }
    }
}
