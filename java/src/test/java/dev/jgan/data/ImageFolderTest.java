package dev.jgan.data;

import dev.jgan.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A folder of pictures the test draws itself: coloured shapes as PNG, JPEG, BMP and GIF, in class folders. */
class ImageFolderTest {
    private static final Datasets.Want AT_16 = new Datasets.Want(16, 0, "white");

    private static BufferedImage shape(int w, int h, Color fill, boolean disc) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.BLACK);
        g.fillRect(0, 0, w, h);
        g.setColor(fill);
        if (disc) g.fillOval(w / 4, h / 4, w / 2, h / 2);
        else g.fillRect(w / 4, h / 4, w / 2, h / 2);
        g.dispose();
        return img;
    }

    private static void write(BufferedImage img, String format, Path file) throws IOException {
        Files.createDirectories(file.getParent());
        assertTrue(ImageIO.write(img, format, file.toFile()), "a writer for " + format);
    }

    /** Red discs and blue squares, 4 of each, as PNG, JPEG, BMP and GIF; a note file that is not a picture. */
    private static Path shapes(Path dir) throws IOException {
        String[] formats = {"png", "jpg", "bmp", "gif"};
        for (int i = 0; i < 4; i++) {
            write(shape(32 + 8 * i, 32, Color.RED, true), formats[i].equals("jpg") ? "jpeg" : formats[i], dir.resolve("discs/d" + i + "." + formats[i]));
            write(shape(32, 24 + 8 * i, Color.BLUE, false), formats[i].equals("jpg") ? "jpeg" : formats[i], dir.resolve("squares/s" + i + "." + formats[i]));
        }
        Files.writeString(dir.resolve("squares/README.txt"), "not a picture");
        return dir;
    }

    @Test
    void classFoldersAreLabelsInSortedOrder(@TempDir Path tmp) throws IOException {
        Path data = shapes(tmp.resolve("shapes"));
        List<String> notes = new ArrayList<>();
        U8Images u = ImageFolder.read(data, AT_16, tmp.resolve("cache"), notes::add);
        assertEquals(8, u.n());
        assertEquals(3, u.c(), "red and blue: colour");
        assertEquals(16, u.h());
        assertEquals(List.of("discs", "squares"), u.classNames());
        assertArrayEquals(new int[] {0, 0, 0, 0, 1, 1, 1, 1}, u.labels());
        assertEquals(List.of(), notes, "nothing skipped, nothing to say");
        // the centre of a disc is red, of a square blue (JPEG within its loss); the corners black
        int plane = 16 * 16, centre = 8 * 16 + 8;
        for (int i = 0; i < 8; i++) {
            int r = u.pixel((long) i * 3 * plane + centre), b = u.pixel((long) i * 3 * plane + 2 * plane + centre);
            assertTrue(i < 4 ? r > 230 && b < 25 : b > 230 && r < 25, "image " + i + ": r=" + r + " b=" + b);
            assertTrue(u.pixel((long) i * 3 * plane) < 25, "image " + i + "'s corner is black");
        }
    }

    /** 40x20, left half red, right half blue: the centred 20x20 square is columns 10..29, half each; shrunk by 2, 5 columns each. */
    @Test
    void theCentredSquareIsResizedByAreaMeans(@TempDir Path tmp) throws IOException {
        BufferedImage img = new BufferedImage(40, 20, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 20; y++) for (int x = 0; x < 40; x++) img.setRGB(x, y, x < 20 ? 0xFF0000 : 0x0000FF);
        write(img, "png", tmp.resolve("one/wide.png"));
        U8Images u = ImageFolder.read(tmp.resolve("one"), new Datasets.Want(10, 0, "white"), tmp.resolve("cache"), s -> {});
        assertEquals(null, u.labels(), "a flat folder has no labels");
        for (int y = 0; y < 10; y++)
            for (int x = 0; x < 10; x++) {
                assertEquals(x < 5 ? 255 : 0, u.pixel(y * 10 + x), "red at " + x + "," + y);
                assertEquals(x < 5 ? 0 : 255, u.pixel(200 + y * 10 + x), "blue at " + x + "," + y);
            }
        // 1x3 columns of 0, 90, 180 shrunk to 1: the area mean, 90
        float[] mean = ImageFolder.Resample.square(new float[] {0, 90, 180, 0, 90, 180, 0, 90, 180}, 3, 1);
        assertEquals(90f, mean[0], 1e-4f);
    }

    /** A half-transparent red pixel over white is (255, 128, 128) (rounded), over black (128, 0, 0), within 1 for the blend's rounding. */
    @Test
    void transparencyIsCompositedOntoTheBackground(@TempDir Path tmp) throws IOException {
        BufferedImage argb = new BufferedImage(4, 4, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < 4; y++) for (int x = 0; x < 4; x++) argb.setRGB(x, y, x < 2 ? 0x80FF0000 : 0x00000000);
        write(argb, "png", tmp.resolve("alpha/a.png"));
        for (String bg : List.of("white", "black")) {
            U8Images u = ImageFolder.read(tmp.resolve("alpha"), new Datasets.Want(4, 0, bg), tmp.resolve("cache"), s -> {});
            boolean white = bg.equals("white");
            int[] half = white ? new int[] {255, 127, 127} : new int[] {128, 0, 0}, clear = white ? new int[] {255, 255, 255} : new int[] {0, 0, 0};
            for (int ch = 0; ch < 3; ch++) {
                assertEquals(half[ch], u.pixel(ch * 16), 1, bg + ": channel " + ch + " of the half-transparent red");
                assertEquals(clear[ch], u.pixel(ch * 16 + 3), bg + ": channel " + ch + " of the transparent pixel");
            }
        }
    }

    @Test
    void grayDataIsOneChannelAndChannelsCanBeForced(@TempDir Path tmp) throws IOException {
        BufferedImage gray = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 8; y++) for (int x = 0; x < 8; x++) gray.getRaster().setSample(x, y, 0, 30 * x);
        write(gray, "png", tmp.resolve("gray/g.png"));
        byte[] r = new byte[256], gg = new byte[256], b = new byte[256];
        for (int i = 0; i < 256; i++) r[i] = gg[i] = b[i] = (byte) i;   // a palette of grays: still gray data
        BufferedImage palette = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(8, 256, r, gg, b));
        write(palette, "gif", tmp.resolve("gray/p.gif"));
        assertEquals(1, ImageFolder.read(tmp.resolve("gray"), new Datasets.Want(8, 0, "white"), tmp.resolve("c"), s -> {}).c());
        U8Images three = ImageFolder.read(tmp.resolve("gray"), new Datasets.Want(8, 3, "white"), tmp.resolve("c"), s -> {});
        assertEquals(3, three.c());
        assertEquals(three.pixel(5), three.pixel(64 + 5), "gray forced to colour: equal planes");
        assertEquals(150, three.pixel(5));
        U8Images one = ImageFolder.read(shapes(tmp.resolve("shapes")), new Datasets.Want(16, 1, "white"), tmp.resolve("c"), s -> {});
        assertEquals(1, one.c());
        assertEquals(Math.round(0.299f * 255), one.pixel(8 * 16 + 8), 2, "a red disc's luma (PNG, exact but for the rounding)");
    }

    @Test
    void unreadableFilesAreSkippedWithTheirCountAndNames(@TempDir Path tmp) throws IOException {
        Path data = shapes(tmp.resolve("shapes"));
        byte[] png = Files.readAllBytes(data.resolve("discs/d0.png"));
        Files.write(data.resolve("discs/cut.png"), Arrays.copyOf(png, png.length / 2));
        Files.writeString(data.resolve("squares/text.jpg"), "this is not a JPEG");
        List<String> notes = new ArrayList<>();
        U8Images u = ImageFolder.read(data, AT_16, tmp.resolve("cache"), notes::add);
        assertEquals(8, u.n(), "the 8 good pictures");
        assertEquals(List.of("skipped 2 unreadable files of 10 in " + data + ": discs/cut.png, squares/text.jpg"), notes);
        List<String> again = new ArrayList<>();
        ImageFolder.read(data, AT_16, tmp.resolve("cache"), again::add);
        assertEquals(notes, again, "a cached load says the same");
    }

    @Test
    void aFolderWithNoPictureIsOneLine(@TempDir Path tmp) throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Files.writeString(empty.resolve("notes.txt"), "x");
        UserError e = assertThrows(UserError.class, () -> ImageFolder.read(empty, AT_16, tmp.resolve("c"), s -> {}));
        assertEquals("no usable image in " + empty + " (PNG, JPEG, BMP, GIF, searched recursively)", e.getMessage());
        Files.writeString(empty.resolve("bad.png"), "not a png");
        e = assertThrows(UserError.class, () -> ImageFolder.read(empty, AT_16, tmp.resolve("c"), s -> {}));
        assertTrue(e.getMessage().startsWith("no usable image in ") && e.getMessage().contains("bad.png"), e.getMessage());
    }

    @Test
    void theCacheIsMappedOnTheSecondLoadAndRebuiltWhenAFileChanges(@TempDir Path tmp) throws IOException {
        Path data = shapes(tmp.resolve("shapes")), cache = tmp.resolve("cache");
        U8Images first = ImageFolder.read(data, AT_16, cache, s -> {});
        assertTrue(ImageCache.mapped(first), "the decoded images are read back from the file just written");
        List<Path> files;
        try (var s = Files.list(cache)) { files = s.toList(); }
        assertEquals(1, files.size());
        FileTime written = Files.getLastModifiedTime(files.getFirst());
        U8Images second = ImageFolder.read(data, AT_16, cache, s -> {});
        assertEquals(written, Files.getLastModifiedTime(files.getFirst()), "not written again");
        for (long i = 0; i < 8L * 3 * 256; i += 37) assertEquals(first.pixel(i), second.pixel(i));

        // a changed file (new contents and time): another key, decoded again
        write(shape(32, 32, Color.GREEN, true), "png", data.resolve("discs/d0.png"));
        Files.setLastModifiedTime(data.resolve("discs/d0.png"), FileTime.fromMillis(written.toMillis() + 5000));
        U8Images changed = ImageFolder.read(data, AT_16, cache, s -> {});
        try (var s = Files.list(cache)) { assertEquals(2, s.count(), "a second cache file"); }
        assertTrue(changed.pixel(256 + 8 * 16 + 8) > 200 && changed.pixel(8 * 16 + 8) < 50, "the first disc is green now");

        // another preprocessing is another key too
        assertEquals(8, ImageFolder.read(data, new Datasets.Want(16, 0, "black"), cache, s -> {}).n());
        try (var s = Files.list(cache)) { assertEquals(3, s.count()); }
    }

    @Test
    void aCutShortCacheFileIsDecodedAgain(@TempDir Path tmp) throws IOException {
        Path data = shapes(tmp.resolve("shapes")), cache = tmp.resolve("cache");
        U8Images first = ImageFolder.read(data, AT_16, cache, s -> {});
        long sum = 0;
        for (long i = 0; i < 8L * 768; i++) sum += first.pixel(i);
        Path file;
        try (var s = Files.list(cache)) { file = s.findFirst().orElseThrow(); }
        byte[] bytes = Files.readAllBytes(file);
        first = null;
        System.gc();   // unmap before the file is cut (the mapping is freed with its images)
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 100));
        List<String> notes = new ArrayList<>();
        U8Images again = ImageFolder.read(data, AT_16, cache, notes::add);
        assertEquals(1, notes.size(), notes.toString());
        assertTrue(notes.getFirst().startsWith("image cache " + file + " is unusable ("), notes.getFirst());
        long after = 0;
        for (long i = 0; i < 8L * 768; i++) after += again.pixel(i);
        assertEquals(sum, after, "the same pixels, decoded again");
        assertEquals(bytes.length, Files.size(file), "and the file written whole again");
        assertFalse(notes.getFirst().contains("\n"));
    }
}
