package dev.jgan.cuda.gpu;

import jcuda.JCudaVersion;
import jcuda.jcublas.JCublas2;
import jcuda.jcudnn.JCudnn;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * JCublas's and JCudnn's JNI libraries are where they load them from, so that on a GPU machine
 * only NVIDIA's libraries can be missing: JCudnn 11.7.0 asks for its library by JCuda's version
 * (libJCudnn-12.0.0-linux-x86_64.so), which the build provides (java/pom.xml). Here, without
 * cuBLAS and cuDNN, loading fails on NVIDIA's library, not on jgan's packaging.
 */
class JCudaLibrariesTest {
    @Test
    void theJniLibrariesAreOnTheClassPathUnderTheNamesJCudaAsksFor() {
        String v = JCudaVersion.get();
        for (String lib : new String[] {"JCublas2", "JCudnn", "JCudaDriver"})
            assertNotNull(getClass().getResource("/lib/lib" + lib + "-" + v + "-linux-x86_64.so"), lib + " " + v);
    }

    @Test
    void withoutCudnnLoadingFailsOnLibcudnnItself() {
        assumeFalse(CudaProbe.libraryPresent(CudaProbe.CUDNN), "cuDNN is installed here");
        Throwable e = assertThrows(Throwable.class, JCudnn::initialize);
        String all = messages(e);
        assertTrue(all.contains("libcudnn.so.8"), all);
    }

    @Test
    void withoutCublasLoadingFailsOnLibcublasItself() {
        assumeFalse(CudaProbe.libraryPresent(CudaProbe.CUBLAS), "cuBLAS is installed here");
        Throwable e = assertThrows(Throwable.class, JCublas2::initialize);
        String all = messages(e);
        assertTrue(all.contains("libcublas.so.12"), all);
    }

    private static String messages(Throwable e) {
        StringBuilder s = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) s.append(t).append(" | ");
        return s.toString();
    }
}
