package dev.jgan.gan;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.data.Idx;
import dev.jgan.io.ImageGrid;
import dev.jgan.io.Npy;
import dev.jgan.random.RngStream;

import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.nio.file.Path;

/** Generates samples from a checkpoint's generator and writes them as a picture or an array file. */
public final class Generation {
    /** The batch of sampling and evaluation, and so of the EMA generator's batch-norm statistics they re-estimate. */
    public static final int CHUNK = 256;

    private Generation() {}

    public enum Format {
        PNG, IDX, NPY;

        public static Format of(String s) {
            return switch (s) {
                case "png" -> PNG;
                case "idx" -> IDX;
                case "npy" -> NPY;
                default -> throw new UserError("unknown format '" + s + "'; use png, idx or npy");
            };
        }
    }

    /** n samples of G (inference mode) from noise seeded by {@code seed}, as host floats (n, item...); G's EMA when the checkpoint has one. */
    public static float[] generate(Backend b, Checkpoints.Loaded ck, int n, long seed) {
        return generate(b, ck, n, seed, true);
    }

    /** As {@link #generate(Backend, Checkpoints.Loaded, int, long)}; {@code ema} false uses the live G even when an EMA is saved. */
    public static float[] generate(Backend b, Checkpoints.Loaded ck, int n, long seed, boolean ema) {
        return generate(b, ck, n, seed, ema, null);
    }

    /**
     * As {@link #generate(Backend, Checkpoints.Loaded, int, long, boolean)}, image i of class
     * {@code classes[i]} (n labels) from a conditional checkpoint; null: every class in turn.
     */
    public static float[] generate(Backend b, Checkpoints.Loaded ck, int n, long seed, boolean ema, int[] classes) {
        return generate(open(b, ck, n), n, new RngStream(seed, 0), ema, classes);
    }

    /** A checkpoint's model, built for batches of at most {@value #CHUNK} (fewer when n is smaller). */
    public static GanModel open(Backend b, Checkpoints.Loaded ck, int n) {
        Preset p = ck.config().model();   // with the channels (and classes) it was trained on
        GanModel model = new GanModel(b, p, Math.min(n, CHUNK), ck.config().seed(), ck.hasEma());
        Checkpoints.loadModel(ck, model);
        return model;
    }

    /** n samples of a model's G in inference mode (its EMA copy when {@code ema} and it has one), in chunks of its batch size. */
    public static float[] generate(GanModel model, int n, RngStream noise, boolean ema) {
        return generate(model, n, noise, ema, null);
    }

    /**
     * As {@link #generate(GanModel, int, RngStream, boolean)}; a conditional model makes image i of
     * class {@code classes[i]} (n labels), or with null of class i % K (every class in turn).
     * {@code classes} must be null for an unconditional model.
     */
    public static float[] generate(GanModel model, int n, RngStream noise, boolean ema, int[] classes) {
        Backend b = model.backend();
        Preset p = model.preset();
        int k = model.classes();
        if (classes != null && k == 0) throw new UserError(p.name() + " is not class-conditional: it makes no class on request");
        if (classes != null && classes.length != n) throw new IllegalArgumentException(classes.length + " classes for " + n + " samples");
        if (k > 0 && classes == null) classes = GanModel.balanced(n, k, 0);
        Tensor z = b.allocate(model.noiseShape());
        int per = Math.toIntExact(p.item().size()), batch = model.batch();
        float[] all = new float[Math.multiplyExact(n, per)];
        float[] chunk = new float[batch * per];
        int[] chunkClasses = k > 0 ? new int[batch] : null;
        for (int done = 0; done < n; done += batch) {
            if (k > 0) {
                for (int i = 0; i < batch; i++) chunkClasses[i] = classes[Math.min(done + i, n - 1)];   // the last chunk padded
                model.useClasses(chunkClasses);
            }
            b.fillNormal(z, 0f, 1f, noise.seed(), noise.take(z.size()));
            b.toHost(model.generate(z, ema), chunk);
            System.arraycopy(chunk, 0, all, done * per, Math.min(batch, n - done) * per);
        }
        return all;
    }

    /**
     * Which classes a conditional checkpoint's samples are of ({@code --class}): "all" for
     * ceil(n / K) of every class, class by class (a PNG grid with one row per class), or one class
     * K for all n; null (no --class) for every class in turn. A UserError for a bad value.
     */
    public static int[] classesFor(String choice, int n, Preset p) {
        if (choice == null) return null;
        if (!p.conditional()) throw new UserError("--class needs a class-conditional checkpoint (cgan-mlp, cdcgan-28, cgan-ring, fast-fmnist); "
                + p.name() + " is not");
        int k = p.classes();
        if (choice.equals("all")) {
            int each = (n + k - 1) / k;
            int[] c = new int[each * k];
            for (int i = 0; i < c.length; i++) c[i] = i / each;
            return c;
        }
        int one;
        try {
            one = Integer.parseInt(choice);
        } catch (NumberFormatException e) {
            throw new UserError("--class takes a class number 0 .. " + (k - 1) + " or all, not '" + choice + "'");
        }
        if (one < 0 || one >= k) throw new UserError("--class " + one + " is not a class of this model: it has classes 0 .. " + (k - 1));
        int[] c = new int[n];
        java.util.Arrays.fill(c, one);
        return c;
    }

    public static void write(Backend b, Checkpoints.Loaded ck, int n, long seed, Format format, Path out) {
        write(b, ck, n, seed, true, format, out);
    }

    public static void write(Backend b, Checkpoints.Loaded ck, int n, long seed, boolean ema, Format format, Path out) {
        write(b, ck, n, seed, ema, null, format, out);
    }

    /**
     * Writes n samples (or with "all" classes, ceil(n / K) of each: {@link #classesFor}) as
     * {@code format}; returns how many it wrote.
     */
    public static int write(Backend b, Checkpoints.Loaded ck, int n, long seed, boolean ema, String classChoice, Format format, Path out) {
        Preset p = ck.config().model();   // with the channels it was trained on
        Shape item = p.item();
        if (!p.kind().images() && format == Format.IDX) throw new UserError("the 2-D toy makes points, not images: use --format npy or png");
        int[] classes = classesFor(classChoice, n, p);
        if (classes != null) n = classes.length;
        float[] x = generate(b, ck, n, seed, ema, classes);
        switch (format) {
            case PNG -> {
                if ("all".equals(classChoice) && p.kind().images())   // one row per class
                    ImageGrid.writePng(out, x, n, item.dim(0), item.dim(1), item.dim(2), n / p.classes(), 1);
                else p.kind().writePng(out, x, item.batched(n), n, 1);
            }
            case NPY -> Npy.write(out, x, item.dim(0) == 1 && item.rank() == 3
                    ? new int[] {n, item.dim(1), item.dim(2)} : item.batched(n).dims());
            case IDX -> {
                if (item.dim(0) != 1)
                    throw new UserError("idx holds gray images only; this checkpoint makes " + item.dim(0) + "-channel images: use --format npy or png");
                Idx.writeImages(out, x, n, item.dim(1), item.dim(2), out.getFileName().toString().endsWith(".gz"));
            }
        }
        return n;
    }
}
