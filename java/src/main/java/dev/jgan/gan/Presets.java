package dev.jgan.gan;

import dev.jgan.UserError;
import dev.jgan.nn.Activation.LeakyReLU;
import dev.jgan.nn.Activation.ReLU;
import dev.jgan.nn.Activation.Tanh;
import dev.jgan.nn.BatchNorm;
import dev.jgan.nn.ClassEmbedding;
import dev.jgan.nn.ClassHead;
import dev.jgan.nn.Conv2d;
import dev.jgan.nn.ConvTranspose2d;
import dev.jgan.nn.Dense;
import dev.jgan.nn.Dropout;
import dev.jgan.nn.Flatten;
import dev.jgan.nn.Init;
import dev.jgan.nn.Layer;
import dev.jgan.nn.Reshape;
import dev.jgan.data.RingOfGaussians;
import dev.jgan.tensor.Shape;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The built-in recipes, by name. */
public final class Presets {
    private static final Map<String, Preset> ALL = new LinkedHashMap<>();

    static {
        add(mlpGan());
        add(mlpGanSmall());
        add(dcgan28());
        add(dcgan64());
        add(ring());
        add(cganMlp());
        add(cdcgan28());
        add(cganRing());
        add(fastFmnist());
    }

    /** Models built in code ({@link #register}), and those read back from a checkpoint's model spec. */
    private static final Map<String, Preset> CUSTOM = new java.util.concurrent.ConcurrentHashMap<>();

    private Presets() {}

    private static void add(Preset p) { ALL.put(p.name(), p); }

    /** The preset called {@code name}, built in or {@link #register registered}; a UserError listing the known names otherwise. */
    public static Preset get(String name) {
        Preset p = ALL.get(name);
        if (p == null) p = CUSTOM.get(name);
        if (p == null) {
            java.util.List<String> names = new java.util.ArrayList<>(ALL.keySet());
            names.addAll(new java.util.TreeSet<>(CUSTOM.keySet()));
            throw new UserError("unknown preset '" + name + "'; known presets: " + String.join(", ", names));
        }
        return p;
    }

    /** Whether {@code name} is a built-in or registered preset. */
    public static boolean known(String name) { return name != null && (ALL.containsKey(name) || CUSTOM.containsKey(name)); }

    /**
     * Makes a model built in code ({@link Preset#builder}) trainable, sampleable and evaluable by
     * its name in this JVM, replacing an earlier one of that name; its checkpoints carry its spec,
     * so they read back elsewhere without this call. A built-in's name is refused.
     */
    public static Preset register(Preset p) {
        if (ALL.containsKey(p.name())) throw new UserError("preset " + p.name() + " is built in: give your model another name");
        CUSTOM.put(p.name(), p);
        return p;
    }

    /** Forgets a {@link #register registered} preset; false when there was none of that name. */
    public static boolean unregister(String name) { return CUSTOM.remove(name) != null; }

    /** The built-in presets, in the order the README lists them. */
    public static Map<String, Preset> all() { return ALL; }

    /**
     * The Keras-GAN vanilla GAN (gan.py): G 100 -> 256 -> 512 -> 1024 -> 784C, each hidden layer
     * Dense, LeakyReLU 0.2, BatchNorm (Keras momentum 0.8 = PyTorch 0.2; Keras eps 0.001); tanh
     * output as Cx28x28 (C = 1 in Keras-GAN; 3 for colour data). D 784C -> 512 -> 256 -> 1 with LeakyReLU 0.2 and a logit output. Keras'
     * Glorot-uniform weights, Adam 2e-4, beta1 0.5.
     */
    static Preset mlpGan() {
        float slope = 0.2f, momentum = 0.2f, eps = 1e-3f;
        return Preset.builder("mlp-gan").description("Keras-GAN vanilla MLP GAN with batch norm (28x28, 1 or 3 channels)")
                .item(Shape.of(1, 28, 28)).zDim(100)
                .generator(c -> List.<Layer>of(
                        new Dense(100, 256), new LeakyReLU(slope), new BatchNorm(256, momentum, eps),
                        new Dense(256, 512), new LeakyReLU(slope), new BatchNorm(512, momentum, eps),
                        new Dense(512, 1024), new LeakyReLU(slope), new BatchNorm(1024, momentum, eps),
                        new Dense(1024, c * 784), new Tanh(), new Reshape(c, 28, 28)))
                .discriminator(c -> List.<Layer>of(
                        new Flatten(), new Dense(c * 784, 512), new LeakyReLU(slope),
                        new Dense(512, 256), new LeakyReLU(slope), new Dense(256, 1)))
                .init(Init.GLOROT_UNIFORM).lr(2e-4f).beta1(0.5f).beta2(0.999f).batch(64).steps(3000).sampleEvery(500)
                .dataset("fashion-mnist").build();
    }

    /** The smallest classic GAN: G 100 -> 128 -> 784C (LeakyReLU 0.01, tanh), D 784C -> 128 -> 1 (LeakyReLU 0.01); C channels. */
    static Preset mlpGanSmall() {
        float slope = 0.01f;
        return Preset.builder("mlp-gan-small").description("one-hidden-layer MLP GAN (28x28, 1 or 3 channels)")
                .item(Shape.of(1, 28, 28)).zDim(100)
                .generator(c -> List.<Layer>of(new Dense(100, 128), new LeakyReLU(slope), new Dense(128, c * 784), new Tanh(),
                        new Reshape(c, 28, 28)))
                .discriminator(c -> List.<Layer>of(new Flatten(), new Dense(c * 784, 128), new LeakyReLU(slope), new Dense(128, 1)))
                .init(Init.GLOROT_UNIFORM).lr(2e-4f).beta1(0.5f).beta2(0.999f).batch(64).steps(3000).sampleEvery(500)
                .dataset("fashion-mnist").build();
    }

    /**
     * The DCGAN of TensorFlow's tutorial (Fashion-MNIST seed). G: Dense 100 -> 7*7*256 (no bias),
     * BN, LeakyReLU 0.3, reshape to 256x7x7; ConvT 256 -> 128 (5x5, stride 1, same), BN, LeakyReLU;
     * ConvT 128 -> 64 (5x5, stride 2, to 14x14), BN, LeakyReLU; ConvT 64 -> C (5x5, stride 2, to
     * 28x28), tanh; no biases in G; BN with Keras' eps 0.001 and momentum 0.99 (0.01 in PyTorch's
     * convention). D: Conv C -> 64 and 64 -> 128 (5x5, stride 2, same), each LeakyReLU 0.3 and
     * Dropout 0.3; Dense 6272 -> 1 logit. Keras' Glorot-uniform weights. Training follows the
     * DCGAN paper's Adam (lr 2e-4, beta1 0.5) rather than the tutorial's (1e-4, beta1 0.9), at
     * batch 16: the tutorial needs tens of epochs, and after one epoch of Fashion-MNIST its recipe
     * left blobs with checkerboard dots (1e-4/0.9, batch 64), then rough tops and trousers only
     * (1e-4/0.5 at batch 64, 32 or 16), where 2e-4/0.5 at batch 16 (3750 updates) gives shirts,
     * dresses, trousers, sneakers, boots and bags.
     */
    static Preset dcgan28() {
        float slope = 0.3f, momentum = 0.01f, eps = 1e-3f;
        return Preset.builder("dcgan-28").description("TensorFlow tutorial DCGAN (28x28, 1 or 3 channels)")
                .item(Shape.of(1, 28, 28)).zDim(100)
                .generator(c -> List.<Layer>of(
                        new Dense(100, 7 * 7 * 256, false), new BatchNorm(7 * 7 * 256, momentum, eps), new LeakyReLU(slope),
                        new Reshape(256, 7, 7),
                        new ConvTranspose2d(256, 128, 5, 1, 2, 0, false), new BatchNorm(128, momentum, eps), new LeakyReLU(slope),
                        new ConvTranspose2d(128, 64, 5, 2, 2, 1, false), new BatchNorm(64, momentum, eps), new LeakyReLU(slope),
                        new ConvTranspose2d(64, c, 5, 2, 2, 1, false), new Tanh()))
                .discriminator(c -> List.<Layer>of(
                        new Conv2d(c, 64, 5, 2, 2, true), new LeakyReLU(slope), new Dropout(0.3f),
                        new Conv2d(64, 128, 5, 2, 2, true), new LeakyReLU(slope), new Dropout(0.3f),
                        new Flatten(), new Dense(128 * 7 * 7, 1)))
                .init(Init.GLOROT_UNIFORM).lr(2e-4f).beta1(0.5f).beta2(0.999f).batch(16).steps(3750).sampleEvery(500)
                .dataset("fashion-mnist").build();
    }

    /**
     * Radford et al.'s DCGAN as pytorch/examples trains it, for 64x64 images of nc = 1 or 3
     * channels (the 28x28 datasets are resized, bilinear, on load; nc = 3 is pytorch/examples'
     * own). G: ConvT 100 -> 512 (4x4, stride 1, pad 0),
     * then 512 -> 256 -> 128 -> 64 (4x4, stride 2, pad 1), each BN + ReLU, then ConvT 64 -> nc, tanh.
     * D mirrors it with LeakyReLU 0.2, BN on every layer but the first, and a last 4x4 conv to one
     * logit. No biases; weights N(0, 0.02), BN gamma N(1, 0.02); PyTorch's BN defaults (momentum
     * 0.1, eps 1e-5); Adam 2e-4, beta1 0.5.
     */
    static Preset dcgan64() {
        float slope = 0.2f, momentum = 0.1f, eps = 1e-5f;
        int g = 64, d = 64;
        return Preset.builder("dcgan-64").description("Radford et al. DCGAN, pytorch/examples (64x64, 1 or 3 channels: nc)")
                .item(Shape.of(1, 64, 64)).zDim(100)
                .generator(c -> List.<Layer>of(
                        new Reshape(100, 1, 1),
                        new ConvTranspose2d(100, g * 8, 4, 1, 0, 0, false), new BatchNorm(g * 8, momentum, eps), new ReLU(),
                        new ConvTranspose2d(g * 8, g * 4, 4, 2, 1, 0, false), new BatchNorm(g * 4, momentum, eps), new ReLU(),
                        new ConvTranspose2d(g * 4, g * 2, 4, 2, 1, 0, false), new BatchNorm(g * 2, momentum, eps), new ReLU(),
                        new ConvTranspose2d(g * 2, g, 4, 2, 1, 0, false), new BatchNorm(g, momentum, eps), new ReLU(),
                        new ConvTranspose2d(g, c, 4, 2, 1, 0, false), new Tanh()))
                .discriminator(c -> List.<Layer>of(
                        new Conv2d(c, d, 4, 2, 1, false), new LeakyReLU(slope),
                        new Conv2d(d, d * 2, 4, 2, 1, false), new BatchNorm(d * 2, momentum, eps), new LeakyReLU(slope),
                        new Conv2d(d * 2, d * 4, 4, 2, 1, false), new BatchNorm(d * 4, momentum, eps), new LeakyReLU(slope),
                        new Conv2d(d * 4, d * 8, 4, 2, 1, false), new BatchNorm(d * 8, momentum, eps), new LeakyReLU(slope),
                        new Conv2d(d * 8, 1, 4, 1, 0, false), new Flatten()))
                .init(Init.DCGAN_NORMAL).lr(2e-4f).beta1(0.5f).beta2(0.999f).batch(64).steps(500).sampleEvery(50)
                .dataset("fashion-mnist").build();
    }

    /**
     * The 2-D toy: a ring of 8 Gaussians (radius 2, std 0.05). Small MLPs with a 2-D latent, which
     * here covered all 8 modes from every seed tried (a 16-D latent collapsed onto fewer), Adam 3e-4.
     * Proves the trainer learns (modes covered) and shows mode collapse when it does not.
     */
    static Preset ring() {
        float slope = 0.2f;
        int z = 2, w = 128;
        return Preset.builder("ring").description("2-D toy: ring of 8 Gaussians (radius 2, std 0.05)")
                .points().item(Shape.of(2)).zDim(z)
                .generator(c -> List.<Layer>of(new Dense(z, w), new LeakyReLU(slope), new Dense(w, w), new LeakyReLU(slope),
                        new Dense(w, 2)))
                .discriminator(c -> List.<Layer>of(new Dense(2, w), new LeakyReLU(slope), new Dense(w, w), new LeakyReLU(slope),
                        new Dense(w, 1)))
                .init(Init.GLOROT_UNIFORM).lr(3e-4f).beta1(0.5f).beta2(0.999f).batch(256).steps(4000).sampleEvery(500)
                .build();
    }

    /**
     * Mirza and Osindero's conditional GAN on the Keras-GAN MLP (Keras-GAN's cgan.py beside gan.py):
     * mlp-gan's networks with the class joined to G's noise and to D's image. The one-hot class
     * joined to a dense layer's input is a {@link ClassEmbedding} added after it (its K extra weight
     * columns), so G is mlp-gan's G of [z, onehot(y)] and D mlp-gan's D of [x, onehot(y)]. K = 10 for
     * Fashion-MNIST and MNIST, or the classes of the data; Adam 2e-4, beta1 0.5, batch 64.
     */
    static Preset cganMlp() {
        float slope = 0.2f, momentum = 0.2f, eps = 1e-3f;
        return Preset.builder("cgan-mlp").description("conditional MLP GAN, class joined to z and to D's input (28x28, 1 or 3 channels)")
                .item(Shape.of(1, 28, 28)).zDim(100).classes(10)
                .generator((c, k) -> List.<Layer>of(
                        new Dense(100, 256), new ClassEmbedding(k, 256), new LeakyReLU(slope), new BatchNorm(256, momentum, eps),
                        new Dense(256, 512), new LeakyReLU(slope), new BatchNorm(512, momentum, eps),
                        new Dense(512, 1024), new LeakyReLU(slope), new BatchNorm(1024, momentum, eps),
                        new Dense(1024, c * 784), new Tanh(), new Reshape(c, 28, 28)))
                .discriminator((c, k) -> List.<Layer>of(
                        new Flatten(), new Dense(c * 784, 512), new ClassEmbedding(k, 512), new LeakyReLU(slope),
                        new Dense(512, 256), new LeakyReLU(slope), new ClassHead(256, k, false)))
                .init(Init.GLOROT_UNIFORM).lr(2e-4f).beta1(0.5f).beta2(0.999f).batch(64).steps(3000).sampleEvery(500)
                .dataset("fashion-mnist").build();
    }

    /**
     * dcgan-28 made class-conditional: G's first Dense takes the class joined to z (a
     * {@link ClassEmbedding} of 7*7*256 after it), and D is Miyato and Koyama's projection
     * discriminator, its logit x w + b + &lt;x, E[y]&gt; on the 6272 features of its last convolution
     * ({@link ClassHead}). dcgan-28's recipe otherwise (Adam 2e-4, beta1 0.5, batch 16, one epoch).
     */
    static Preset cdcgan28() {
        float slope = 0.3f, momentum = 0.01f, eps = 1e-3f;
        return Preset.builder("cdcgan-28").description("conditional DCGAN, class joined to z, projection discriminator (28x28, 1 or 3 channels)")
                .item(Shape.of(1, 28, 28)).zDim(100).classes(10).auxClassifier(1f)
                .generator((c, k) -> List.<Layer>of(
                        new Dense(100, 7 * 7 * 256, false), new ClassEmbedding(k, 7 * 7 * 256),
                        new BatchNorm(7 * 7 * 256, momentum, eps), new LeakyReLU(slope), new Reshape(256, 7, 7),
                        new ConvTranspose2d(256, 128, 5, 1, 2, 0, false), new BatchNorm(128, momentum, eps), new LeakyReLU(slope),
                        new ConvTranspose2d(128, 64, 5, 2, 2, 1, false), new BatchNorm(64, momentum, eps), new LeakyReLU(slope),
                        new ConvTranspose2d(64, c, 5, 2, 2, 1, false), new Tanh()))
                .discriminator((c, k) -> List.<Layer>of(
                        new Conv2d(c, 64, 5, 2, 2, true), new LeakyReLU(slope), new Dropout(0.3f),
                        new Conv2d(64, 128, 5, 2, 2, true), new LeakyReLU(slope), new Dropout(0.3f),
                        new Flatten(), new ClassHead(128 * 7 * 7, k, true)))
                .init(Init.GLOROT_UNIFORM).lr(2e-4f).beta1(0.5f).beta2(0.999f).batch(16).steps(3750).sampleEvery(500)
                .dataset("fashion-mnist").build();
    }

    /**
     * The ring toy with its mode as the class: asked for class k, G should put its points on mode
     * k. ring's networks with the class joined to G's noise and D's point, and a projection head.
     */
    static Preset cganRing() {
        float slope = 0.2f;
        int z = 2, w = 128;
        return Preset.builder("cgan-ring").description("2-D toy, conditional: class k is the ring's mode k")
                .points().item(Shape.of(2)).zDim(z).classes(RingOfGaussians.DEFAULT_MODES)
                .generator((c, k) -> List.<Layer>of(new Dense(z, w), new ClassEmbedding(k, w), new LeakyReLU(slope),
                        new Dense(w, w), new LeakyReLU(slope), new Dense(w, 2)))
                .discriminator((c, k) -> List.<Layer>of(new Dense(2, w), new ClassEmbedding(k, w), new LeakyReLU(slope),
                        new Dense(w, w), new LeakyReLU(slope), new ClassHead(w, k, true)))
                .init(Init.GLOROT_UNIFORM).lr(3e-4f).beta1(0.5f).beta2(0.999f).batch(256).steps(4000).sampleEvery(500)
                .build();
    }

    /**
     * The lowest FID on Fashion-MNIST after 10 minutes of training on this project's 2-core CPU
     * (issue 19's search, measured with {@code gan eval}; the README has the table). cdcgan-28's
     * widths with cheaper kernels: G's 7x7 layer 3x3 instead of 5x5 and the stride-2 layers 4x4
     * (pad 1), the same in D: G's forward falls from 104 to 45 MFLOP an image and D's from 21 to 13,
     * which gives about 1.6 times the steps in the same minutes; a projection discriminator without AC-GAN's
     * classifier (it cost FID), trained with the hinge loss and spectrally normalised (Miyato et al. 2018:
     * together they took seed 1's 10-minute FID from 1.293 to 1.033; hinge alone gave 1.205); an EMA
     * generator with a short memory (decay 0.996: on a 2-core AVX2 machine, seed 1's 8857 steps gave
     * 1.730 with 0.999, 1.479 with 0.998, 1.382 with 0.996); Adam 2e-4, beta1 0.5, batch 16. Its
     * default length is 10 minutes of training, not a step count.
     */
    static Preset fastFmnist() {
        float slope = 0.3f, momentum = 0.01f, eps = 1e-3f;
        return Preset.builder("fast-fmnist").description("best FID in 10 CPU minutes: conditional DCGAN, 3x3/4x4 kernels, "
                        + "projection D with spectral norm, hinge loss, EMA G (28x28)")
                .item(Shape.of(1, 28, 28)).zDim(100).classes(10).gEma(0.996f).minutes(10)
                .loss(Loss.HINGE.flag()).spectralNorm(SpectralNormOn.D)
                .generator((c, k) -> List.<Layer>of(
                        new Dense(100, 7 * 7 * 256, false), new ClassEmbedding(k, 7 * 7 * 256),
                        new BatchNorm(7 * 7 * 256, momentum, eps), new LeakyReLU(slope), new Reshape(256, 7, 7),
                        new ConvTranspose2d(256, 128, 3, 1, 1, 0, false), new BatchNorm(128, momentum, eps), new LeakyReLU(slope),
                        new ConvTranspose2d(128, 64, 4, 2, 1, 0, false), new BatchNorm(64, momentum, eps), new LeakyReLU(slope),
                        new ConvTranspose2d(64, c, 4, 2, 1, 0, false), new Tanh()))
                .discriminator((c, k) -> List.<Layer>of(
                        new Conv2d(c, 64, 4, 2, 1, true), new LeakyReLU(slope), new Dropout(0.3f),
                        new Conv2d(64, 128, 4, 2, 1, true), new LeakyReLU(slope), new Dropout(0.3f),
                        new Flatten(), new ClassHead(128 * 7 * 7, k, true)))
                .init(Init.GLOROT_UNIFORM).lr(2e-4f).beta1(0.5f).beta2(0.999f).batch(16).steps(3750).sampleEvery(500)
                .dataset("fashion-mnist").build();
    }
}
