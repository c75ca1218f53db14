package dev.jgan.data;

import dev.jgan.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The emoji dataset from a tarball in the npm package's layout, built here (no network). */
class EmojiTest {
    private static byte[] png(int argb) throws IOException {
        BufferedImage img = new BufferedImage(64, 64, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x++) img.setRGB(x, y, x < 32 ? argb : 0);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    /** Three emoji: a face, a hand with one skin-tone variation, a flag; categories in the package's order, not sorted. */
    private static Path packageIn(Path dir) throws IOException {
        Files.createDirectories(dir);
        String index = """
                [{"image":"1f600.png","category":"Smileys & Emotion"},
                 {"image":"1f44b.png","category":"People & Body","skin_variations":{"1F3FB":{"image":"1f44b-1f3fb.png"}}},
                 {"image":"1f1e6-1f1e8.png","category":"Flags"}]""";
        String categories = "{\"Smileys & Emotion\": {}, \"People & Body\": {}, \"Flags\": {}}";
        TarWriter t = new TarWriter().file("package/package.json", "{}").file(Emoji.INDEX, index).file(Emoji.CATEGORIES, categories)
                .file(Emoji.IMAGES + "1f600.png", png(0xFFFFCC00)).file(Emoji.IMAGES + "1f44b.png", png(0xFFFFDD00))
                .file(Emoji.IMAGES + "1f44b-1f3fb.png", png(0xFFEECCAA)).file(Emoji.IMAGES + "1f1e6-1f1e8.png", png(0xFF0000FF));
        try (OutputStream out = Files.newOutputStream(dir.resolve(Emoji.PACKAGE + "-" + Emoji.VERSION + ".tgz"))) {
            t.writeTgz(out);
        }
        return dir;
    }

    @Test
    void everyPictureHasItsCategoryAndTransparencyShowsTheBackground(@TempDir Path tmp) throws IOException {
        Path dir = packageIn(tmp.resolve("emoji"));
        List<String> notes = new ArrayList<>();
        U8Images u = Emoji.load(dir, null, new Datasets.Want(0, 0, "white"), tmp.resolve("images"), notes::add);
        assertEquals(4, u.n());
        assertEquals(3, u.c());
        assertEquals(64, u.h());
        assertEquals(List.of("Smileys & Emotion", "People & Body", "Flags"), u.classNames(), "categories.json's order");
        // sorted by file name: 1f1e6-1f1e8 (flag), 1f44b-1f3fb (hand, a skin tone), 1f44b (hand), 1f600 (face)
        assertArrayEquals(new int[] {2, 1, 1, 0}, u.labels());
        assertEquals(List.of(), notes);
        int plane = 64 * 64;
        assertEquals(0, u.pixel(0), "the flag's left half is opaque blue: no red");
        assertEquals(255, u.pixel(2 * plane), "and full blue");
        for (int ch = 0; ch < 3; ch++) assertEquals(255, u.pixel(ch * plane + 63), "its transparent right half is the white background");
        U8Images small = Emoji.load(dir, null, new Datasets.Want(28, 0, "black"), tmp.resolve("images"), s -> {});
        assertEquals(28, small.h());
        assertEquals(0, small.pixel(2 * 28 * 28 + 27), "transparent on black, at the preset's 28x28");
    }

    @Test
    void noPackageAndNoNpmIsOneLine(@TempDir Path tmp) {
        Path dir = tmp.resolve("emoji");
        UserError e = assertThrows(UserError.class, () -> Emoji.load(dir, null, new Datasets.Want(0, 0, "white"), tmp.resolve("i"), s -> {}));
        assertEquals("the emoji dataset is the npm package emoji-datasource-twitter@16.0.0: install npm (apt-get install npm) so that jgan "
                + "can fetch it into " + dir + ", or put emoji-datasource-twitter-16.0.0.tgz there", e.getMessage());
    }

    @Test
    void aTarballWithoutTheIndexIsNotTheEmojiPackage(@TempDir Path tmp) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("emoji"));
        try (OutputStream out = Files.newOutputStream(dir.resolve(Emoji.PACKAGE + "-" + Emoji.VERSION + ".tgz"))) {
            new TarWriter().file(Emoji.IMAGES + "1f600.png", png(0xFFFFCC00)).writeTgz(out);
        }
        UserError e = assertThrows(UserError.class, () -> Emoji.load(dir, null, new Datasets.Want(0, 0, "white"), tmp.resolve("i"), s -> {}));
        assertTrue(e.getMessage().endsWith("is not the emoji-datasource-twitter@16.0.0 package jgan knows: it lacks package/emoji.json"), e.getMessage());
    }
}
