package dev.jgan.testing;

import dev.jgan.cli.Main;
import dev.jgan.gan.TinyData;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A checkpoint of each preset, trained once in a test JVM and shared by the tests that only read
 * one (the API, export and serve tests): {@code gan train --preset P --steps 4 --batch 4} on
 * {@link TinyData} (40 training and 20 test images), on the CPU with 2 threads. Its weights are
 * barely trained; the tests that use it compare two ways of computing the same generator. The
 * runs live in one temporary folder, removed when the JVM exits; a test must not write into them.
 */
public final class TinyRuns {
    private TinyRuns() {}

    /** Steps of every shared run; its checkpoint is the one at this step. */
    public static final int STEPS = 4;

    private static final Map<String, Path> CHECKPOINTS = new HashMap<>();
    private static Path root;

    /** The step-4 checkpoint of {@code preset}, trained on the first call. */
    public static synchronized Path checkpoint(String preset) {
        return checkpoint(preset, new String[0]);
    }

    /** As {@link #checkpoint(String)}, trained with these flags of gan train too (e.g. --spectral-norm g). */
    public static synchronized Path checkpoint(String preset, String... flags) {
        return CHECKPOINTS.computeIfAbsent(key(preset, "gray", flags), k -> train(preset, data(), flags));
    }

    /** As {@link #checkpoint(String, String...)}, trained on {@link #colourData}: 3 channels and 2 classes. */
    public static synchronized Path colour(String preset, String... flags) {
        return CHECKPOINTS.computeIfAbsent(key(preset, "colour", flags), k -> train(preset, colourData(), flags));
    }

    private static String key(String preset, String data, String... flags) {
        return preset + " " + data + " " + String.join(" ", flags);
    }

    /** 40 colour pictures of 28x28 in two class folders, warm (reddish) and cold (bluish), patterned by index. */
    public static synchronized Path colourData() {
        Path d = root().resolve("colour");
        if (!Files.isDirectory(d)) {
            try {
                for (int i = 0; i < 40; i++) {
                    boolean warm = i % 2 == 0;
                    BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_INT_RGB);
                    for (int y = 0; y < 28; y++)
                        for (int x = 0; x < 28; x++) {
                            int v = (x * 7 + y * 3 + i * 5) % 50;
                            img.setRGB(x, y, warm ? (200 + v) << 16 | (40 + v) << 8 | v : v << 16 | (60 + v) << 8 | (190 + v));
                        }
                    Path f = d.resolve((warm ? "warm" : "cold") + "/p" + i + ".png");
                    Files.createDirectories(f.getParent());
                    ImageIO.write(img, "png", f.toFile());
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return d;
    }

    /** The tiny dataset the shared runs trained on (both splits). */
    public static synchronized Path data() {
        Path d = root().resolve("data");
        if (!Files.isDirectory(d)) {
            try {
                TinyData.writeSplits(Files.createDirectories(d), 40, 20);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return d;
    }

    private static Path train(String preset, Path data, String... flags) {
        Path out = root().resolve("run-" + CHECKPOINTS.size());
        StringWriter err = new StringWriter();
        List<String> args = new ArrayList<>(List.of("train", "--no-progress", "--device", "cpu", "--threads", "2", "--preset", preset,
                "--data", data.toString(), "--out", out.toString(), "--steps", "" + STEPS, "--batch", "4",
                "--checkpoint-every", "" + STEPS, "--sample-every", "" + STEPS, "--log-every", "2"));
        args.addAll(List.of(flags));
        int code = Main.execute(args.toArray(String[]::new), new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
        if (code != 0) throw new IllegalStateException("training the shared " + preset + " run " + args + " failed (" + code + "): " + err);
        Path ck = out.resolve("checkpoints").resolve(String.format("step-%07d.safetensors", STEPS));
        if (!Files.isRegularFile(ck)) throw new IllegalStateException("the shared " + preset + " run wrote no " + ck);
        return ck;
    }

    private static Path root() {
        if (root == null) {
            try {
                root = Files.createTempDirectory("jgan-tiny-runs");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Path r = root;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(r)));
        }
        return root;
    }

    private static void delete(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temporary folder left behind is not worth failing the JVM's exit for
        }
    }
}
