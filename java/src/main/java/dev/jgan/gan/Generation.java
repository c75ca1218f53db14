package dev.jgan.gan;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.data.Idx;
import dev.jgan.io.Npy;
import dev.jgan.random.RngStream;

import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.nio.file.Path;

/** Generates samples from a checkpoint's generator and writes them as a picture or an array file. */
public final class Generation {
    private static final int CHUNK = 256;

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
        Preset p = ck.config().model();   // with the channels it was trained on
        GanModel model = new GanModel(b, p, Math.min(n, CHUNK), ck.config().seed(), ck.hasEma());
        Checkpoints.loadModel(ck, model);
        return generate(model, n, new RngStream(seed, 0), ema);
    }

    /** n samples of a model's G in inference mode (its EMA copy when {@code ema} and it has one), in chunks of its batch size. */
    public static float[] generate(GanModel model, int n, RngStream noise, boolean ema) {
        Backend b = model.backend();
        Preset p = model.preset();
        Tensor z = b.allocate(model.noiseShape());
        int per = Math.toIntExact(p.item().size());
        float[] all = new float[Math.multiplyExact(n, per)];
        float[] chunk = new float[model.batch() * per];
        for (int done = 0; done < n; done += model.batch()) {
            b.fillNormal(z, 0f, 1f, noise.seed(), noise.take(z.size()));
            b.toHost(model.generate(z, ema), chunk);
            System.arraycopy(chunk, 0, all, done * per, Math.min(model.batch(), n - done) * per);
        }
        return all;
    }

    public static void write(Backend b, Checkpoints.Loaded ck, int n, long seed, Format format, Path out) {
        write(b, ck, n, seed, true, format, out);
    }

    public static void write(Backend b, Checkpoints.Loaded ck, int n, long seed, boolean ema, Format format, Path out) {
        Preset p = ck.config().model();   // with the channels it was trained on
        Shape item = p.item();
        if (!p.kind().images() && format == Format.IDX) throw new UserError("the 2-D toy makes points, not images: use --format npy or png");
        float[] x = generate(b, ck, n, seed, ema);
        switch (format) {
            case PNG -> {
                p.kind().writePng(out, x, item.batched(n), n, 1);
            }
            case NPY -> Npy.write(out, x, item.dim(0) == 1 && item.rank() == 3
                    ? new int[] {n, item.dim(1), item.dim(2)} : item.batched(n).dims());
            case IDX -> {
                if (item.dim(0) != 1)
                    throw new UserError("idx holds gray images only; this checkpoint makes " + item.dim(0) + "-channel images: use --format npy or png");
                Idx.writeImages(out, x, n, item.dim(1), item.dim(2), out.getFileName().toString().endsWith(".gz"));
            }
        }
    }
}
