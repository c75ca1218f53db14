package dev.jgan.data;

import dev.jgan.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CIFAR-10's binary records, built here by hand, against what the reader makes of them. */
class Cifar10Test {
    /** The pixel byte of record {@code id}, channel c, row y, column x: distinct enough to catch a swapped plane or axis. */
    private static int pixel(int id, int c, int y, int x) { return (id * 31 + c * 97 + y * 7 + x * 3) & 0xFF; }

    /** Records with ids {@code first..first+count-1}, label id % 10, planes R, G, B row by row. */
    private static byte[] records(int first, int count) {
        byte[] b = new byte[count * Cifar10.RECORD_BYTES];
        for (int r = 0; r < count; r++) {
            int id = first + r, at = r * Cifar10.RECORD_BYTES;
            b[at] = (byte) (id % 10);
            for (int c = 0; c < 3; c++) for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++)
                b[at + 1 + c * 1024 + y * 32 + x] = (byte) pixel(id, c, y, x);
        }
        return b;
    }

    /** Five training files of 2, 1, 1, 1 and 3 records (ids 0-7) and a test file of 2 (ids 100, 101). */
    private static void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        int[] counts = {2, 1, 1, 1, 3};
        int id = 0;
        for (int i = 0; i < 5; i++) {
            Files.write(dir.resolve("data_batch_" + (i + 1) + ".bin"), records(id, counts[i]));
            id += counts[i];
        }
        Files.write(dir.resolve("test_batch.bin"), records(100, 2));
    }

    @Test
    void recordsBecomeLabelledChwImagesInOrder(@TempDir Path tmp) throws IOException {
        write(tmp);
        U8Images train = Cifar10.read(tmp, Datasets.Split.TRAIN);
        assertEquals(8, train.n());
        assertEquals(3, train.c());
        assertEquals(32, train.h());
        assertEquals(32, train.w());
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7}, train.labels(), "labels in file order");
        for (int id = 0; id < 8; id++)
            for (int c = 0; c < 3; c++) for (int y = 0; y < 32; y += 5) for (int x = 0; x < 32; x += 3) {
                assertEquals(pixel(id, c, y, x), train.pixel(id * 3072 + c * 1024 + y * 32 + x), "record " + id + " c=" + c + " y=" + y + " x=" + x);
            }
        assertEquals(Cifar10.CLASS_NAMES, train.classNames());
        U8Images test = Cifar10.read(tmp, Datasets.Split.TEST);
        assertArrayEquals(new int[] {0, 1}, test.labels());
        assertEquals(Dataset.unit(pixel(101, 2, 31, 31)), test.toDataset().images()[3072 + 2 * 1024 + 31 * 32 + 31], "as floats");
    }

    @Test
    void theArchivesOwnFolderIsFound(@TempDir Path tmp) throws IOException {
        write(tmp.resolve(Cifar10.ARCHIVE_FOLDER));
        assertEquals(2, Cifar10.read(tmp, Datasets.Split.TEST).n());
    }

    @Test
    void badFilesAreOneLineNamingTheFile(@TempDir Path tmp) throws IOException {
        write(tmp);
        Files.delete(tmp.resolve("data_batch_4.bin"));
        UserError missing = assertThrows(UserError.class, () -> Cifar10.read(tmp, Datasets.Split.TRAIN));
        assertTrue(missing.getMessage().contains("data_batch_4.bin") && missing.getMessage().contains("not found"), missing.getMessage());

        byte[] truncated = records(0, 2);
        Files.write(tmp.resolve("test_batch.bin"), java.util.Arrays.copyOf(truncated, truncated.length - 1));
        UserError cut = assertThrows(UserError.class, () -> Cifar10.read(tmp, Datasets.Split.TEST));
        assertTrue(cut.getMessage().contains("test_batch.bin") && cut.getMessage().contains("6145 bytes"), cut.getMessage());

        byte[] badLabel = records(0, 2);
        badLabel[Cifar10.RECORD_BYTES] = 10;
        Files.write(tmp.resolve("test_batch.bin"), badLabel);
        UserError label = assertThrows(UserError.class, () -> Cifar10.read(tmp, Datasets.Split.TEST));
        assertTrue(label.getMessage().contains("record 1 has label 10"), label.getMessage());
        for (UserError e : new UserError[] {missing, cut, label}) assertEquals(1, e.getMessage().lines().count());
    }
}
