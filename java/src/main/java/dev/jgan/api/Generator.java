package dev.jgan.api;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.gan.Checkpoints;
import dev.jgan.gan.GanModel;
import dev.jgan.gan.Generation;
import dev.jgan.gan.Preset;
import dev.jgan.random.Philox;
import dev.jgan.selection.Backends;
import dev.jgan.tensor.Tensor;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A trained generator, loaded from a jgan checkpoint, that makes samples: the one object an
 * application needs to use a model.
 *
 * <pre>{@code
 * try (Generator g = Generator.load(Path.of("runs/ff/checkpoints/step-0021715.safetensors"))) {
 *     Samples s = g.sample(64, 7);               // 64 images from the noise of seed 7
 *     s.writePng(Path.of("grid.png"));
 * }
 * }</pre>
 *
 * <p>Promises:
 * <ul>
 *   <li>Thread-safe: any number of threads may call any method at once. Calls are served one at a
 *       time, each with all of the backend's threads, so a call's result does not depend on what
 *       else runs: {@code sample(n, seed)} returns the same floats alone or beside 200 callers.</li>
 *   <li>Deterministic: the noise of {@code sample(n, seed)} is {@link #noise noise(n, seed)}, and
 *       sample i's noise is the same for every n, so {@code sample(1, s)} is the first image of
 *       {@code sample(64, s)}.</li>
 *   <li>Nothing to free by hand: results are plain Java arrays; {@link #close} releases the
 *       backend (native memory, oneDNN primitives, CUDA contexts). close waits for a call in
 *       progress to finish, never cuts one short, and a call after close throws
 *       IllegalStateException. close is idempotent.</li>
 *   <li>Nothing is downloaded: the native libraries ship in the jar or come from the machine.</li>
 * </ul>
 * Bad input is one-line: a missing or corrupt checkpoint is a {@link UserError}; a bad argument
 * (n below 1, a class the model has not) is an IllegalArgumentException.
 */
public final class Generator implements AutoCloseable {
    private final Backend backend;
    private final GanModel model;
    private final Preset preset;
    private final boolean ema;
    private final long step;
    private final String dataset;
    private final int zDim, batch, per;
    private final Tensor z;
    private final float[] zHost, chunk;
    private final int[] chunkClasses;
    private final ReentrantLock lock = new ReentrantLock(true);   // fair: no caller waits behind a stream of others
    private volatile boolean closed;
    private boolean released;

    /**
     * How a Generator runs.
     *
     * @param device  "auto" (CUDA when it works here, else the CPU), "cpu" or "cuda"
     * @param threads CPU threads for the backend
     * @param batch   images made per forward pass: a call for more runs several, for fewer pads one, so a
     *                small batch serves small calls faster. The EMA generator's batch-norm statistics are gan
     *                sample's and gan eval's whatever the batch (their estimate for batches of 256)
     * @param ema     the moving average of G's weights when the checkpoint has one (it samples better), else the live G
     */
    public record Options(String device, int threads, int batch, boolean ema) {
        public Options {
            if (!"auto".equals(device) && !"cpu".equals(device) && !"cuda".equals(device))
                throw new IllegalArgumentException("device must be auto, cpu or cuda, not '" + device + "'");
            if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
            if (batch < 1) throw new IllegalArgumentException("batch must be at least 1, got " + batch);
        }

        /** auto device, every core, batches of 256 (gan sample's and gan eval's), the EMA generator. */
        public static Options defaults() { return new Options("auto", Backends.defaultThreads(), Generation.CHUNK, true); }

        public Options withDevice(String d) { return new Options(d, threads, batch, ema); }
        public Options withThreads(int t) { return new Options(device, t, batch, ema); }
        public Options withBatch(int b) { return new Options(device, threads, b, ema); }
        public Options withEma(boolean e) { return new Options(device, threads, batch, e); }
    }

    private Generator(Backend backend, Checkpoints.Loaded ck, Options o) {
        this.backend = backend;
        this.preset = ck.config().model();   // with the channels and classes it was trained on
        this.ema = o.ema() && ck.hasEma();
        this.step = ck.step();
        this.dataset = ck.config().dataset();
        this.model = new GanModel(backend, preset, o.batch(), ck.config().seed(), ck.hasEma());
        Checkpoints.loadModel(ck, model);
        if (o.batch() != Generation.CHUNK) useSampleStatistics(ck);
        this.batch = o.batch();
        this.zDim = preset.zDim();
        this.per = Math.toIntExact(preset.item().size());
        this.z = backend.allocate(model.noiseShape());
        this.zHost = new float[batch * zDim];
        this.chunk = new float[batch * per];
        this.chunkClasses = preset.conditional() ? new int[batch] : null;
    }

    /**
     * Gives the EMA generator the batch-norm statistics (and spectral-norm vectors) gan sample and
     * gan eval compute with (re-estimated for batches of {@link Generation#CHUNK}, by a model of that
     * batch made for the purpose), not those this model's own batch would give: so that the images
     * do not depend on {@link Options#batch} but for the last bits of the arithmetic.
     */
    private void useSampleStatistics(Checkpoints.Loaded ck) {
        if (model.hasEma()) model.useEmaStatisticsOf(Generation.open(backend, ck, Generation.CHUNK));
    }

    /** The generator of {@code checkpoint} with {@link Options#defaults()}. */
    public static Generator load(Path checkpoint) { return load(checkpoint, Options.defaults()); }

    /** The generator of {@code checkpoint}, run as {@code options} say. A UserError when it is missing or not a jgan checkpoint. */
    public static Generator load(Path checkpoint, Options options) {
        Checkpoints.Loaded ck = Checkpoints.read(checkpoint);
        Backend b = Backends.select(options.device(), options.threads(), line -> {});
        try {
            return new Generator(b, ck, options);
        } catch (RuntimeException | Error e) {
            b.close();
            throw e;
        }
    }

    /** The preset the checkpoint was trained with. */
    public String preset() { return preset.name(); }

    /** The training step the checkpoint was written at. */
    public long step() { return step; }

    /** The dataset the model was trained on (fashion-mnist, cifar10, folder, ring, ...). */
    public String dataset() { return dataset; }

    /** The length of one noise vector. */
    public int noiseSize() { return zDim; }

    /** The classes a conditional model makes (0 .. K-1); 0 for an unconditional one. */
    public int classes() { return preset.conditional() ? preset.classes() : 0; }

    /** One sample's shape: (C, H, W) for images, (2) for the ring toy's points. */
    public int[] itemShape() { return preset.item().dims(); }

    /** Whether samples come from the moving average of G's weights. */
    public boolean usesEma() { return ema; }

    /** What the backend is, in words (e.g. "cpu: oneDNN, 2 threads, ..."). */
    public String device() { return backend.describe(); }

    /** n samples from the noise of {@code seed}; a conditional model's sample i is of class i % K. */
    public Samples sample(int n, long seed) {
        int k = classes();
        return sample(noise(n, seed), k == 0 ? null : GanModel.balanced(checkCount(n), k, 0));
    }

    /** n samples of class {@code classOf} from the noise of {@code seed} (a conditional model). */
    public Samples sample(int n, long seed, int classOf) {
        int[] c = new int[checkCount(n)];
        Arrays.fill(c, classOf);
        return sample(noise(n, seed), c);
    }

    /**
     * Samples from noise given: {@code z} holds n noise vectors of {@link #noiseSize()} floats one
     * after another; {@code classes} n class labels for a conditional model (null: class i % K),
     * null for an unconditional one.
     */
    public Samples sample(float[] noise, int[] classes) {
        if (noise == null || noise.length == 0 || noise.length % zDim != 0)
            throw new IllegalArgumentException("noise must hold n vectors of " + zDim + " floats, got "
                    + (noise == null ? "null" : noise.length + " floats"));
        int n = noise.length / zDim, k = classes();
        if (classes != null && k == 0) throw new IllegalArgumentException(preset.name() + " is not class-conditional: it takes no classes");
        if (k > 0 && classes == null) classes = GanModel.balanced(n, k, 0);
        if (classes != null) {
            if (classes.length != n) throw new IllegalArgumentException(classes.length + " classes for " + n + " samples");
            for (int c : classes)
                if (c < 0 || c >= k) throw new IllegalArgumentException("class " + c + " is not one of this model's: 0 .. " + (k - 1));
        }
        float[] out = new float[Math.multiplyExact(n, per)];
        lock.lock();
        try {
            if (closed) throw new IllegalStateException("this Generator is closed");
            for (int done = 0; done < n; done += batch) {
                int m = Math.min(batch, n - done);
                Arrays.fill(zHost, 0f);
                System.arraycopy(noise, done * zDim, zHost, 0, m * zDim);
                backend.copyFromHost(zHost, z);
                if (chunkClasses != null) {
                    for (int i = 0; i < batch; i++) chunkClasses[i] = classes[done + Math.min(i, m - 1)];   // the last chunk padded
                    model.useClasses(chunkClasses);
                }
                backend.toHost(model.generate(z, ema), chunk);
                System.arraycopy(chunk, 0, out, done * per, m * per);
            }
        } finally {
            lock.unlock();
        }
        return new Samples(n, itemShape(), out, classes == null ? null : classes.clone());
    }

    /**
     * The noise {@code sample(n, seed)} uses: n vectors of N(0, 1) floats, Philox-generated from
     * {@code seed}, vector i the same for every n.
     */
    public float[] noise(int n, long seed) {
        if (closed) throw new IllegalStateException("this Generator is closed");
        float[] z = new float[Math.multiplyExact(checkCount(n), zDim)];
        int[] w = new int[4];
        for (int i = 0; i < z.length; i++) {   // the backends' fillNormal from offset 0, on the host
            if ((i & 3) == 0) Philox.block(seed, i >>> 2, w);
            z[i] = Philox.normal(w, i & 3);
        }
        return z;
    }

    /** {@link #interpolate(long, long, int, int)} for an unconditional model (a conditional one: every class in turn, frame f of class f % K). */
    public Samples interpolate(long seedA, long seedB, int frames) { return interpolate(seedA, seedB, frames, -1); }

    /**
     * {@code frames} samples along the great circle from the noise of {@code seedA}'s first vector
     * to {@code seedB}'s (spherical interpolation, which keeps the noise's norm where Gaussian
     * noise lives); the first frame is {@code sample(1, seedA)}, the last {@code sample(1, seedB)}.
     * {@code classOf} is the class of every frame for a conditional model (-1: every class in
     * turn), ignored for an unconditional one.
     */
    public Samples interpolate(long seedA, long seedB, int frames, int classOf) {
        if (frames < 2) throw new IllegalArgumentException("frames must be at least 2, got " + frames);
        float[] a = noise(1, seedA), b = noise(1, seedB);
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < zDim; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        double theta = Math.acos(Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb))));
        float[] z = new float[frames * zDim];
        for (int f = 0; f < frames; f++) {
            double t = (double) f / (frames - 1);
            // slerp; linear where the two are (nearly) parallel and sin(theta) would divide by ~0
            double wa = theta < 1e-6 ? 1 - t : Math.sin((1 - t) * theta) / Math.sin(theta);
            double wb = theta < 1e-6 ? t : Math.sin(t * theta) / Math.sin(theta);
            for (int i = 0; i < zDim; i++) z[f * zDim + i] = (float) (wa * a[i] + wb * b[i]);
        }
        int[] c = null;
        if (classes() > 0 && classOf >= 0) {
            c = new int[frames];
            Arrays.fill(c, classOf);
        }
        return sample(z, c);
    }

    private static int checkCount(int n) {
        if (n < 1) throw new IllegalArgumentException("n must be at least 1, got " + n);
        return n;
    }

    /** Releases the backend once a call in progress has finished; later calls throw IllegalStateException. */
    @Override public void close() {
        closed = true;
        lock.lock();
        try {
            if (!released) {
                released = true;
                backend.close();
            }
        } finally {
            lock.unlock();
        }
    }

    @Override public String toString() {
        return "Generator(" + preset.name() + ", step " + step + (ema ? ", EMA" : "") + ", " + backend + ")";
    }
}
