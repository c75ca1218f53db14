package dev.jgan.data;

import dev.jgan.UserError;
import dev.jgan.io.IoErrors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * CIFAR-10's binary version (cifar-10-binary.tar.gz from the dataset's page, unpacked): the
 * training split is {@code data_batch_1.bin} ... {@code data_batch_5.bin}, the test split
 * {@code test_batch.bin}, in the given folder or in the {@code cifar-10-batches-bin} folder the
 * archive unpacks to. Each record is {@value #RECORD_BYTES} bytes: the label (0-9), then the
 * 32x32 image as 1024 red, 1024 green and 1024 blue bytes, each plane row by row: exactly the
 * (C, H, W) order of an {@link ImageSource} item, kept as bytes ({@link U8Images}).
 */
public final class Cifar10 {
    public static final String NAME = "cifar10";
    /** Where a user gets the files (jgan downloads nothing it does not install itself). */
    public static final String URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
    public static final int SIZE = 32, CHANNELS = 3, CLASSES = 10;
    public static final int IMAGE_BYTES = CHANNELS * SIZE * SIZE, RECORD_BYTES = 1 + IMAGE_BYTES;
    /** The archive's own folder name, looked in when the files are not in the folder given. */
    public static final String ARCHIVE_FOLDER = "cifar-10-batches-bin";
    /** The label names of batches.meta.txt, by label. */
    public static final List<String> CLASS_NAMES = List.of("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck");

    private Cifar10() {}

    /** The files of {@code split}, in order. */
    public static List<String> files(Datasets.Split split) {
        if (split == Datasets.Split.TEST) return List.of("test_batch.bin");
        List<String> names = new ArrayList<>();
        for (int i = 1; i <= 5; i++) names.add("data_batch_" + i + ".bin");
        return names;
    }

    /**
     * The {@code split} of the CIFAR-10 files in {@code dir} (or its {@value #ARCHIVE_FOLDER}), with
     * labels. A missing file, a size that is not whole records, or a label over 9 is one
     * {@link UserError} naming the file.
     */
    public static U8Images read(Path dir, Datasets.Split split) {
        Path base = Files.isRegularFile(dir.resolve(files(split).getFirst())) || !Files.isDirectory(dir.resolve(ARCHIVE_FOLDER))
                ? dir : dir.resolve(ARCHIVE_FOLDER);
        List<byte[]> contents = new ArrayList<>();
        long records = 0;
        for (String name : files(split)) {
            Path file = base.resolve(name);
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(file);
            } catch (NoSuchFileException e) {
                throw new UserError("CIFAR-10 file " + file + " not found (the binary version, cifar-10-binary.tar.gz, unpacked)", e);
            } catch (IOException e) {
                throw new UserError("cannot read " + file + ": " + IoErrors.reason(e), e);
            }
            if (bytes.length == 0 || bytes.length % RECORD_BYTES != 0)
                throw new UserError("CIFAR-10 file " + file + " is corrupt: " + bytes.length + " bytes is not a whole number of "
                        + RECORD_BYTES + "-byte records");
            for (long r = 0, at = 0; at < bytes.length; r++, at += RECORD_BYTES)
                if ((bytes[(int) at] & 0xFF) >= CLASSES)
                    throw new UserError("CIFAR-10 file " + file + " is corrupt: record " + r + " has label " + (bytes[(int) at] & 0xFF)
                            + " (0-9)");
            contents.add(bytes);
            records += bytes.length / RECORD_BYTES;
        }
        int n = Math.toIntExact(records);
        byte[] pixels = new byte[Math.multiplyExact(n, IMAGE_BYTES)];
        int[] labels = new int[n];
        int i = 0;
        for (byte[] bytes : contents)
            for (int at = 0; at < bytes.length; at += RECORD_BYTES, i++) {
                labels[i] = bytes[at] & 0xFF;
                System.arraycopy(bytes, at + 1, pixels, i * IMAGE_BYTES, IMAGE_BYTES);
            }
        return U8Images.of(NAME, pixels, labels, CLASS_NAMES, n, CHANNELS, SIZE, SIZE);
    }
}
