package dev.jgan.cuda.gpu;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.selection.Backends;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * Every "not found" path of the CUDA probe and of {@code --device cuda|auto}, played on this
 * machine through a fake {@link CudaProbe.Environment}: each missing piece is named in one line
 * with what to install, --device cuda stops with that line, --device auto says it and takes the
 * CPU. And the real probe on this GPU-less machine.
 */
class CudaProbeTest {
    /** A machine with the given libraries, GPUs and kernels. */
    private record Fake(Set<String> libraries, int devices, boolean kernels) implements CudaProbe.Environment {
        @Override public boolean libraryPresent(String library) { return libraries.contains(library); }

        @Override public int deviceCount() { return devices; }

        @Override public boolean kernelsBuilt() { return kernels; }
    }

    private static final Set<String> ALL = Set.of(CudaProbe.DRIVER, CudaProbe.CUBLAS, CudaProbe.CUDNN);

    @Test
    void eachMissingPieceIsNamedWithWhatToInstall() {
        assertEquals(List.of("no NVIDIA driver (libcuda.so.1 not found; install the NVIDIA driver, " + dev.jgan.cuda.KernelImages.minimumDriver() + " or newer)"),
                CudaProbe.probe(new Fake(Set.of(CudaProbe.CUBLAS, CudaProbe.CUDNN), 0, true)).missing());
        assertEquals(List.of("no GPU visible to the NVIDIA driver (cuInit/cuDeviceGetCount found none)"),
                CudaProbe.probe(new Fake(ALL, 0, true)).missing());
        assertEquals(List.of("cuBLAS not found (libcublas.so.13 or libcublas.so.12; install cuBLAS of CUDA 13 or 12, e.g. pip install "
                        + "nvidia-cublas-cu12 or apt-get install libcublas-12-8, or name its folder in JGAN_CUDA_LIBS)"),
                CudaProbe.probe(new Fake(Set.of(CudaProbe.DRIVER, CudaProbe.CUDNN), 1, true)).missing());
        assertEquals(List.of("cuDNN not found (libcudnn.so.9 or libcudnn.so.8; install cuDNN 9 or 8.9, e.g. pip install nvidia-cudnn-cu12 "
                        + "or apt-get install libcudnn9-cuda-12, or name its folder in JGAN_CUDA_LIBS)"),
                CudaProbe.probe(new Fake(Set.of(CudaProbe.DRIVER, CudaProbe.CUBLAS), 1, true)).missing());
        assertEquals(List.of("jgan's CUDA kernels are not built into this jar (build on a machine with nvcc and CMake)"),
                CudaProbe.probe(new Fake(ALL, 1, false)).missing());
        CudaProbe.Status ready = CudaProbe.probe(new Fake(ALL, 2, true));
        assertTrue(ready.usable());
        assertEquals("ready (2 GPUs)", ready.reason());
        CudaProbe.Status none = CudaProbe.probe(new Fake(Set.of(), 0, false));
        assertEquals(4, none.missing().size(), none.reason());
        assertFalse(none.reason().contains("\n"));
    }

    @Test
    void deviceCudaStopsWithOneLineForEachMissingPiece() {
        List<Fake> machines = List.of(new Fake(Set.of(CudaProbe.CUBLAS, CudaProbe.CUDNN), 0, true), new Fake(ALL, 0, true),
                new Fake(Set.of(CudaProbe.DRIVER, CudaProbe.CUDNN), 1, true), new Fake(Set.of(CudaProbe.DRIVER, CudaProbe.CUBLAS), 1, true));
        List<String> expected = List.of("libcuda.so.1 not found", "no GPU visible", "cuBLAS not found", "cuDNN not found");
        for (int i = 0; i < machines.size(); i++) {
            Fake m = machines.get(i);
            UserError e = assertThrows(UserError.class, () -> Backends.select("cuda", 2, 1 << 20, line -> {}, m));
            assertTrue(e.getMessage().startsWith("--device cuda is not usable here: ") && e.getMessage().contains(expected.get(i))
                    && e.getMessage().endsWith("; use --device cpu"), e.getMessage());
            assertEquals(1, e.getMessage().lines().count(), e.getMessage());

            List<String> log = new ArrayList<>();
            Backend b = Backends.select("auto", 2, 1 << 20, log::add, m);
            assertEquals("cpu", b.name());   // the CPU backend, with the kernel lab's production choices in place
            assertEquals(1, log.size());
            assertTrue(log.get(0).startsWith("device auto: using the CPU (CUDA: ") && log.get(0).contains(expected.get(i)), log.get(0));
        }
    }

    /** A machine whose probe passes but whose GPU cannot be opened (here: no driver at all) gets one line too; auto takes the CPU. */
    @Test
    void aGpuThatDoesNotOpenIsOneLine() {
        assumeFalse(CudaProbe.libraryPresent(CudaProbe.DRIVER), "an NVIDIA driver is installed here");
        UserError e = assertThrows(UserError.class, () -> Backends.select("cuda", 2, 1 << 20, line -> {}, new Fake(ALL, 1, true)));
        assertTrue(e.getMessage().startsWith("--device cuda: cannot open GPU 0: ") && e.getMessage().contains("libcuda.so.1"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        // auto takes the CPU and says why
        List<String> log = new ArrayList<>();
        assertEquals("cpu", Backends.select("auto", 2, 1 << 20, log::add, new Fake(ALL, 1, true)).name());
        assertEquals(1, log.size());
        assertTrue(log.get(0).startsWith("device auto: using the CPU (CUDA: cannot open GPU 0: ") && log.get(0).contains("libcuda.so.1"),
                log.get(0));
    }

    /** This machine: no driver, so not usable, and `gan info`'s details say what is not found. */
    @Test
    void thisMachine() {
        assumeFalse(CudaProbe.libraryPresent(CudaProbe.DRIVER), "an NVIDIA driver is installed here");
        CudaProbe.Status s = CudaProbe.probe();
        assertFalse(s.usable());
        assertTrue(s.reason().contains("libcuda.so.1 not found"), s.reason());
        List<String> details = CudaProbe.details();
        assertTrue(details.contains("driver:    not found (libcuda.so.1)"), details.toString());
        for (NvidiaLibraries.Library lib : List.of(NvidiaLibraries.Library.CUBLAS, NvidiaLibraries.Library.CUDNN))
            if (CudaProbe.libraries().all(lib).isEmpty())
                assertTrue(details.contains(String.format("%-11s", lib.label + ":") + "not found (" + lib.names() + ")"), details.toString());
        assertTrue(details.contains("  the dynamic linker's default path: none of them"), details.toString());
    }
}
