package dev.jgan.gan;

import dev.jgan.UserError;
import dev.jgan.nn.Activation.LeakyReLU;
import dev.jgan.nn.Activation.Tanh;
import dev.jgan.nn.BatchNorm;
import dev.jgan.nn.Dense;
import dev.jgan.nn.Flatten;
import dev.jgan.nn.Init;
import dev.jgan.nn.Layer;
import dev.jgan.nn.Reshape;
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
        add(ring());
    }

    private Presets() {}

    private static void add(Preset p) { ALL.put(p.name(), p); }

    /** The preset called {@code name}; a UserError listing the known names otherwise. */
    public static Preset get(String name) {
        Preset p = ALL.get(name);
        if (p == null) throw new UserError("unknown preset '" + name + "'; known presets: " + String.join(", ", ALL.keySet()));
        return p;
    }

    public static Map<String, Preset> all() { return ALL; }

    /**
     * The Keras-GAN vanilla GAN (gan.py): G 100 -> 256 -> 512 -> 1024 -> 784, each hidden layer
     * Dense, LeakyReLU 0.2, BatchNorm (Keras momentum 0.8 = PyTorch 0.2; Keras eps 0.001); tanh
     * output as 1x28x28. D 784 -> 512 -> 256 -> 1 with LeakyReLU 0.2 and a logit output. Keras'
     * Glorot-uniform weights, Adam 2e-4, beta1 0.5.
     */
    static Preset mlpGan() {
        float slope = 0.2f, momentum = 0.2f, eps = 1e-3f;
        return new Preset("mlp-gan", "Keras-GAN vanilla MLP GAN with batch norm (28x28x1)",
                Shape.of(1, 28, 28), 100,
                () -> List.<Layer>of(
                        new Dense(100, 256), new LeakyReLU(slope), new BatchNorm(256, momentum, eps),
                        new Dense(256, 512), new LeakyReLU(slope), new BatchNorm(512, momentum, eps),
                        new Dense(512, 1024), new LeakyReLU(slope), new BatchNorm(1024, momentum, eps),
                        new Dense(1024, 784), new Tanh(), new Reshape(1, 28, 28)),
                () -> List.<Layer>of(
                        new Flatten(), new Dense(784, 512), new LeakyReLU(slope),
                        new Dense(512, 256), new LeakyReLU(slope), new Dense(256, 1)),
                Init.GLOROT_UNIFORM, 2e-4f, 2e-4f, 0.5f, 0.999f, 64, 3000, 500, "fashion-mnist");
    }

    /** The smallest classic GAN: G 100 -> 128 -> 784 (LeakyReLU 0.01, tanh), D 784 -> 128 -> 1 (LeakyReLU 0.01). */
    static Preset mlpGanSmall() {
        float slope = 0.01f;
        return new Preset("mlp-gan-small", "one-hidden-layer MLP GAN (28x28x1)",
                Shape.of(1, 28, 28), 100,
                () -> List.<Layer>of(new Dense(100, 128), new LeakyReLU(slope), new Dense(128, 784), new Tanh(),
                        new Reshape(1, 28, 28)),
                () -> List.<Layer>of(new Flatten(), new Dense(784, 128), new LeakyReLU(slope), new Dense(128, 1)),
                Init.GLOROT_UNIFORM, 2e-4f, 2e-4f, 0.5f, 0.999f, 64, 3000, 500, "fashion-mnist");
    }

    /**
     * The 2-D toy: a ring of 8 Gaussians (radius 2, std 0.05). Small MLPs with a 2-D latent, which
     * here covered all 8 modes from every seed tried (a 16-D latent collapsed onto fewer), Adam 3e-4.
     * Proves the trainer learns (modes covered) and shows mode collapse when it does not.
     */
    static Preset ring() {
        float slope = 0.2f;
        int z = 2, w = 128;
        return new Preset("ring", "2-D toy: ring of 8 Gaussians (radius 2, std 0.05)",
                Shape.of(2), z,
                () -> List.<Layer>of(new Dense(z, w), new LeakyReLU(slope), new Dense(w, w), new LeakyReLU(slope),
                        new Dense(w, 2)),
                () -> List.<Layer>of(new Dense(2, w), new LeakyReLU(slope), new Dense(w, w), new LeakyReLU(slope),
                        new Dense(w, 1)),
                Init.GLOROT_UNIFORM, 3e-4f, 3e-4f, 0.5f, 0.999f, 256, 4000, 500, null);
    }
}
