package dev.jgan.cuda.gpu;

import dev.jgan.UserError;
import dev.jgan.cuda.gpu.NvidiaLibraries.Folder;
import dev.jgan.cuda.gpu.NvidiaLibraries.Found;
import dev.jgan.cuda.gpu.NvidiaLibraries.Library;
import dev.jgan.cuda.gpu.NvidiaLibraries.Search;
import dev.jgan.selection.CudaBinding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where the library search looks, in which order, and what each binding then loads, on folders
 * made here (empty files with the libraries' names: the search looks only at names; versions are
 * read later, from the file chosen).
 */
class NvidiaLibrariesTest {
    private static Path touch(Path dir, String... names) throws IOException {
        Files.createDirectories(dir);
        for (String n : names) Files.createFile(dir.resolve(n));
        return dir;
    }

    private static List<Path> paths(List<Folder> folders) {
        return folders.stream().map(Folder::path).toList();
    }

    /** JGAN_CUDA_LIBS first, then LD_LIBRARY_PATH, then pip wheels of the Pythons found, then the CUDA and system folders. */
    @Test
    void foldersComeInTheDocumentedOrder(@TempDir Path tmp) throws IOException {
        Path mine = touch(tmp.resolve("mine")), ld = touch(tmp.resolve("ld")), home = tmp.resolve("home");
        Path venvWheel = touch(home.resolve(".venv/lib/python3.12/site-packages/nvidia/cublas/lib"));
        Path pyenvWheel = touch(home.resolve(".pyenv/versions/3.11.7/lib/python3.11/site-packages/nvidia/cudnn/lib"));
        Path bareSite = Files.createDirectories(home.resolve(".local/lib/python3.10/site-packages"));
        Map<String, String> env = Map.of("JGAN_CUDA_LIBS", mine + ":" + tmp.resolve("absent"), "LD_LIBRARY_PATH", ld.toString());
        List<Path> order = paths(NvidiaLibraries.folders(env::get, home, tmp.resolve("cwd")));
        List<Path> expected = List.of(mine, tmp.resolve("absent"), ld, venvWheel, pyenvWheel, bareSite.resolve("nvidia"));
        assertEquals(expected, order.subList(0, expected.size()), order.toString());
        int cuda = order.indexOf(Path.of("/usr/local/cuda/lib64")), system = order.indexOf(Path.of("/usr/lib/x86_64-linux-gnu"));
        assertTrue(cuda > expected.size() - 1 && system > cuda, order.toString());
        assertEquals("JGAN_CUDA_LIBS", NvidiaLibraries.folders(env::get, home, tmp).getFirst().origin());
    }

    /** The first folder holding a library wins; within a folder, the newer soname. */
    @Test
    void theFirstFolderAndTheNewerSonameWin(@TempDir Path tmp) throws IOException {
        Path a = touch(tmp.resolve("a"), "libcublas.so.12"), b = touch(tmp.resolve("b"), "libcublas.so.13", "libcublas.so.12", "libcudnn.so.8",
                "libcudnn.so.9", "libcuda.so.1");
        Search s = NvidiaLibraries.search(List.of(new Folder(a, "A"), new Folder(tmp.resolve("none"), "B"), new Folder(b, "C")), false);
        assertEquals(a.resolve("libcublas.so.12").toString(), s.first(Library.CUBLAS).orElseThrow().location());
        assertEquals(List.of("libcublas.so.12", "libcublas.so.13", "libcublas.so.12"), s.all(Library.CUBLAS).stream().map(Found::soname).toList());
        assertEquals("libcudnn.so.9", s.first(Library.CUDNN).orElseThrow().soname());
        assertEquals(3, s.looked().size(), "a folder that is not there is still listed");
    }

    private static Search machine(Path tmp, String... names) throws IOException {
        Path dir = touch(tmp.resolve("libs" + names.length), names);
        return NvidiaLibraries.search(List.of(new Folder(dir, "test")), false);
    }

    /** ffm takes any soname; jni only what JCublas 12.0 and JCudnn 11.7 link; auto is ffm, and jni where ffm lacks nothing. */
    @Test
    void eachBindingTakesWhatItCanLoad(@TempDir Path tmp) throws IOException {
        Search cuda13 = machine(tmp, "libcuda.so.1", "libcublas.so.13", "libcudnn.so.9");
        CudaBinding.Choice ffm = CudaBinding.FFM.choose(cuda13, 13);
        assertEquals(List.of("libcublas.so.13", "libcudnn.so.9"), List.of(ffm.cublas().soname(), ffm.cudnn().soname()));
        assertEquals(CudaBinding.FFM, CudaBinding.AUTO.choose(cuda13, 13).binding());
        UserError jni = assertThrows(UserError.class, () -> CudaBinding.JNI.choose(cuda13, 13));
        assertEquals("the jni binding (JCublas 12.0, JCudnn 11.7) needs libcublas.so.12 (found only libcublas.so.13) and libcudnn.so.8 "
                + "(found only libcudnn.so.9); use --cuda-binding ffm, which also loads cuBLAS 13 and cuDNN 9", jni.getMessage());

        Search both = machine(tmp, "libcuda.so.1", "libcublas.so.13", "libcublas.so.12", "libcudnn.so.9", "libcudnn.so.8");
        CudaBinding.Choice j = CudaBinding.JNI.choose(both, 13);
        assertEquals(List.of("libcublas.so.12", "libcudnn.so.8"), List.of(j.cublas().soname(), j.cudnn().soname()));
        // a CUDA 12 driver cannot run cuBLAS 13: ffm takes the .12 beside it, and says so when there is none
        assertEquals("libcublas.so.12", CudaBinding.FFM.choose(both, 12).cublas().soname());
        UserError old = assertThrows(UserError.class, () -> CudaBinding.FFM.choose(cuda13, 12));
        assertTrue(old.getMessage().startsWith("cuBLAS libcublas.so.13 needs a CUDA 13 driver, this driver supports CUDA 12"), old.getMessage());
    }

    @Test
    void whatIsMissingIsOneLine(@TempDir Path tmp) throws IOException {
        UserError noDriver = assertThrows(UserError.class, () -> CudaBinding.AUTO.choose(machine(tmp, "libcublas.so.12"), 0));
        assertTrue(noDriver.getMessage().startsWith("no NVIDIA driver (libcuda.so.1 not found"), noDriver.getMessage());
        UserError noDnn = assertThrows(UserError.class, () -> CudaBinding.FFM.choose(machine(tmp, "libcuda.so.1", "libcublas.so.12"), 12));
        assertTrue(noDnn.getMessage().startsWith("cuDNN not found (libcudnn.so.9 or libcudnn.so.8, looked in 1 places")
                && noDnn.getMessage().contains("JGAN_CUDA_LIBS"), noDnn.getMessage());
        assertEquals(1, noDnn.getMessage().lines().count());
        assertThrows(UserError.class, () -> CudaBinding.parse("cuda", "--cuda-binding"));
        assertEquals(CudaBinding.JNI, CudaBinding.parse("JNI", "--cuda-binding"));
    }

    @Test
    void versionEncodings() {
        assertEquals("12.4", NvidiaLibraries.driverVersion(12040));
        assertEquals("13.0", NvidiaLibraries.driverVersion(13000));
        assertEquals("8.9.7", NvidiaLibraries.cudnnVersion(8907));
        assertEquals("9.10.2", NvidiaLibraries.cudnnVersion(91002));
    }
}
