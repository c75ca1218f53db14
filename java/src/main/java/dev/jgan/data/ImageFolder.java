package dev.jgan.data;

import dev.jgan.UserError;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Any folder of pictures as a dataset: the PNG, JPEG, BMP and GIF files under it, searched
 * recursively, in the order of their relative paths. The immediate sub-folders that hold pictures
 * are the classes (torchvision's ImageFolder convention: label k is the k-th folder name in sorted
 * order); a folder with pictures only at its top is unlabelled. Pictures at the top of a folder
 * that has class folders are left out, with a note, as ImageFolder leaves them.
 *
 * <p>Each picture is composited onto the background (transparent pixels of PNGs and GIFs show
 * it), its centred square (side: the shorter side) is taken, and that is resized to size x size:
 * by the mean over each output pixel's area when shrinking (no aliasing), bilinearly when
 * growing. The channels are the data's: 1 when every picture is gray (R = G = B everywhere), 3
 * otherwise, or what {@code want} forces (gray from colour by BT.601 luma, rounded). Unreadable
 * or cut-short files are skipped, counted, and the first few named in one note line. The result
 * is kept in the {@link ImageCache}, keyed by the files' paths, sizes and modification times and
 * the preprocessing, so a folder is decoded once.
 */
public final class ImageFolder {
    /** What a picture file is, by its extension (case ignored). */
    public static final Set<String> EXTENSIONS = Set.of("png", "jpg", "jpeg", "bmp", "gif");
    /** Skipped files named in the note line. */
    static final int NAMED = 3;

    static {
        ImageIO.setUseCache(false);   // decode from memory, with no temporary files
    }

    private ImageFolder() {}

    /** The pictures under {@code dir} as {@code want} asks, from the cache when it has them. */
    public static U8Images read(Path dir, Datasets.Want want, Path cacheDir, Consumer<String> notes) {
        if (want.size() < 1) throw new IllegalArgumentException("a folder of pictures needs a size to resize them to");
        if (!Files.isDirectory(dir)) throw new UserError("--data " + dir + ": no such directory");
        Listing files = list(dir);
        if (files.outside() > 0)
            notes.accept(files.outside() + " picture" + (files.outside() == 1 ? "" : "s") + " at the top of " + dir
                    + ", outside its class folders, left out (as torchvision's ImageFolder does)");
        if (files.paths().isEmpty()) throw new UserError("no usable image in " + dir + " (PNG, JPEG, BMP, GIF, searched recursively)");
        List<String> key = new ArrayList<>(List.of("folder " + dir.toAbsolutePath().normalize(), "want " + want));
        for (Path p : files.paths()) {
            try {
                key.add(dir.relativize(p) + " " + Files.size(p) + " " + Files.getLastModifiedTime(p).toMillis());
            } catch (IOException e) {
                key.add(dir.relativize(p) + " unreadable");
            }
        }
        String name = dir.toAbsolutePath().normalize().getFileName() == null ? "folder" : dir.toAbsolutePath().normalize().getFileName().toString();
        ImageCache.Decoded d = ImageCache.load(cacheDir, "folder-" + name, key,
                () -> decode(name, files.paths().stream().map(p -> (Source) () -> Files.readAllBytes(p)).toList(),
                        files.paths().stream().map(p -> dir.relativize(p).toString()).toList(), files.labels(), files.classes(), want), notes);
        if (d.skipped() > 0) notes.accept(skippedLine(d, dir.toString()));
        return d.images();
    }

    static String skippedLine(ImageCache.Decoded d, String where) {
        int total = d.images().n() + d.skipped();
        return "skipped " + d.skipped() + " unreadable file" + (d.skipped() == 1 ? "" : "s") + " of " + total + " in " + where + ": "
                + String.join(", ", d.skippedNames()) + (d.skipped() > d.skippedNames().size() ? ", ..." : "");
    }

    /** The picture files, their labels (null when unlabelled), the class names, and how many top-level pictures were left out. */
    record Listing(List<Path> paths, int[] labels, List<String> classes, int outside) {}

    static Listing list(Path dir) {
        List<Path> all;
        try (Stream<Path> s = Files.walk(dir)) {
            all = s.filter(Files::isRegularFile).filter(ImageFolder::isPicture).sorted((a, b) -> dir.relativize(a).toString()
                    .compareTo(dir.relativize(b).toString())).toList();
        } catch (IOException | UncheckedIOException e) {
            throw new UserError("cannot list " + dir + ": " + e.getMessage());
        }
        TreeSet<String> classes = new TreeSet<>();
        for (Path p : all) if (dir.relativize(p).getNameCount() > 1) classes.add(dir.relativize(p).getName(0).toString());
        if (classes.isEmpty()) return new Listing(all, null, List.of(), 0);
        List<String> names = List.copyOf(classes);
        List<Path> kept = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        int outside = 0;
        for (Path p : all) {
            Path rel = dir.relativize(p);
            if (rel.getNameCount() == 1) {
                outside++;
                continue;
            }
            kept.add(p);
            labels.add(names.indexOf(rel.getName(0).toString()));
        }
        return new Listing(kept, labels.stream().mapToInt(Integer::intValue).toArray(), names, outside);
    }

    static boolean isPicture(Path p) {
        String f = p.getFileName().toString();
        int dot = f.lastIndexOf('.');
        return dot > 0 && EXTENSIONS.contains(f.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    /** Where a picture's bytes come from: a file, or an entry of an archive already in memory. */
    @FunctionalInterface
    interface Source {
        byte[] bytes() throws IOException;
    }

    /**
     * Decodes {@code files} (labels may be null) on as many threads as there are cores, in order;
     * {@code names} name them in the skipped-files note.
     */
    static ImageCache.Decoded decode(String name, List<Source> files, List<String> names, int[] labels, List<String> classes,
                                     Datasets.Want want) {
        int s = want.size(), threads = Math.max(1, Math.min(files.size(), Runtime.getRuntime().availableProcessors()));
        List<int[]> rgb = new ArrayList<>(files.size());
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "jgan-decode");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<int[]>> jobs = new ArrayList<>();
            for (Source f : files) jobs.add(pool.submit(() -> picture(f, s, want.background())));
            for (Future<int[]> f : jobs) rgb.add(f.get());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserError("interrupted while decoding " + name);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
        return assemble(name, names, rgb, labels, classes, want);
    }

    /** The decoded pictures (null: unreadable) into one set of images with the channels asked for or the data's. */
    static ImageCache.Decoded assemble(String name, List<String> names, List<int[]> rgb, int[] labels, List<String> classes,
                                       Datasets.Want want) {
        int s = want.size(), plane = s * s;
        List<String> skippedNames = new ArrayList<>();
        int skipped = 0, kept = 0;
        boolean allGray = true;
        for (int i = 0; i < rgb.size(); i++) {
            int[] px = rgb.get(i);
            if (px == null) {
                if (skippedNames.size() < NAMED) skippedNames.add(names.get(i));
                skipped++;
                continue;
            }
            kept++;
            if (allGray) for (int v : px) if (((v >> 16) & 0xFF) != (v & 0xFF) || ((v >> 8) & 0xFF) != (v & 0xFF)) { allGray = false; break; }
        }
        if (kept == 0)
            throw new UserError("no usable image in " + name + ": all " + skipped + " picture files are unreadable (" + String.join(", ", skippedNames)
                    + (skipped > skippedNames.size() ? ", ..." : "") + ")");
        int c = want.channels() != 0 ? want.channels() : allGray ? 1 : 3;
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(kept, c), plane)];
        int[] keptLabels = labels == null ? null : new int[kept];
        for (int i = 0, j = 0; i < rgb.size(); i++) {
            int[] px = rgb.get(i);
            if (px == null) continue;
            int base = j * c * plane;
            for (int k = 0; k < plane; k++) {
                int r = (px[k] >> 16) & 0xFF, g = (px[k] >> 8) & 0xFF, b = px[k] & 0xFF;
                if (c == 3) {
                    out[base + k] = (byte) r;
                    out[base + plane + k] = (byte) g;
                    out[base + 2 * plane + k] = (byte) b;
                } else {
                    out[base + k] = (byte) Math.round(ChannelView.LUMA_R * r + ChannelView.LUMA_G * g + ChannelView.LUMA_B * b);
                }
            }
            if (keptLabels != null) keptLabels[j] = labels[i];
            j++;
        }
        return new ImageCache.Decoded(U8Images.of(name, out, keptLabels, classes, kept, c, s, s), skipped, skippedNames);
    }

    /** One picture composited, squared and resized to s x s as packed RGB, or null when it cannot be read whole. */
    static int[] picture(Source file, int s, String background) {
        BufferedImage img;
        try {
            img = readWhole(file.bytes());
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return img == null ? null : squareRgb(img, s, background);
    }

    /** The first image in {@code bytes}; null when no reader takes it or a reader warns (a cut-short file). */
    static BufferedImage readWhole(byte[] bytes) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            if (in == null) return null;
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) return null;
            ImageReader r = readers.next();
            boolean[] warned = {false};
            r.addIIOReadWarningListener((source, warning) -> warned[0] = true);
            try {
                r.setInput(in, true, true);
                BufferedImage img = r.read(0);
                return warned[0] ? null : img;
            } finally {
                r.dispose();
            }
        }
    }

    /** {@code img} onto the background, its centred square (side: the shorter side), resized to s x s: packed 0xRRGGBB. */
    static int[] squareRgb(BufferedImage img, int s, String background) {
        int w = img.getWidth(), h = img.getHeight(), m = Math.min(w, h);
        BufferedImage rgb = new BufferedImage(m, m, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = rgb.createGraphics();
        try {
            g.setColor("black".equals(background) ? Color.BLACK : Color.WHITE);
            g.fillRect(0, 0, m, m);
            g.drawImage(img, -(w - m) / 2, -(h - m) / 2, null);
        } finally {
            g.dispose();
        }
        int[] src = rgb.getRGB(0, 0, m, m, null, 0, m);
        if (m == s) {
            for (int i = 0; i < src.length; i++) src[i] &= 0xFFFFFF;
            return src;
        }
        float[][] planes = new float[3][];
        for (int ch = 0; ch < 3; ch++) {
            float[] p = new float[m * m];
            int shift = 16 - 8 * ch;
            for (int i = 0; i < p.length; i++) p[i] = (src[i] >> shift) & 0xFF;
            planes[ch] = Resample.square(p, m, s);
        }
        int[] out = new int[s * s];
        for (int i = 0; i < out.length; i++)
            out[i] = clamp(planes[0][i]) << 16 | clamp(planes[1][i]) << 8 | clamp(planes[2][i]);
        return out;
    }

    private static int clamp(float v) { return Math.min(255, Math.max(0, Math.round(v))); }

    /** Separable resampling of one square plane: area means when shrinking, bilinear (half-pixel centres) when growing. */
    static final class Resample {
        private Resample() {}

        static float[] square(float[] src, int m, int s) {
            float[][] wts = new float[s][];
            int[] first = new int[s];
            weights(m, s, first, wts);
            float[] rows = new float[m * s];   // each source row resampled along x: m rows of s
            for (int y = 0; y < m; y++)
                for (int x = 0; x < s; x++) {
                    float acc = 0;
                    for (int k = 0; k < wts[x].length; k++) acc += wts[x][k] * src[y * m + first[x] + k];
                    rows[y * s + x] = acc;
                }
            float[] out = new float[s * s];
            for (int y = 0; y < s; y++)
                for (int x = 0; x < s; x++) {
                    float acc = 0;
                    for (int k = 0; k < wts[y].length; k++) acc += wts[y][k] * rows[(first[y] + k) * s + x];
                    out[y * s + x] = acc;
                }
            return out;
        }

        /** For each output index, the first source index and the weights from there on (summing to 1). */
        static void weights(int in, int out, int[] first, float[][] w) {
            double scale = (double) in / out;
            for (int o = 0; o < out; o++) {
                if (in >= out) {   // area: output o covers source [o * scale, (o + 1) * scale)
                    double lo = o * scale, hi = (o + 1) * scale;
                    int a = (int) Math.floor(lo), b = Math.min(in, (int) Math.ceil(hi));
                    first[o] = a;
                    w[o] = new float[b - a];
                    for (int i = a; i < b; i++) w[o][i - a] = (float) ((Math.min(hi, i + 1) - Math.max(lo, i)) / scale);
                } else {           // bilinear, as Resize.bilinear
                    double src = Math.max(0.0, (o + 0.5) * scale - 0.5);
                    int lo = Math.min((int) src, in - 1);
                    float frac = (float) (src - lo);
                    first[o] = lo;
                    w[o] = lo < in - 1 ? new float[] {1f - frac, frac} : new float[] {1f};
                }
            }
        }
    }
}
