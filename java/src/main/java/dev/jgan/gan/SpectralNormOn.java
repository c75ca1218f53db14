package dev.jgan.gan;

import dev.jgan.UserError;
import dev.jgan.nn.Layer;

import java.util.List;

/**
 * Which networks compute with spectrally normalised weights ({@code --spectral-norm}): every
 * dense and convolution layer of D, of G, of both, or of none. Miyato et al. normalise D (SNGAN);
 * SAGAN and BigGAN normalise G as well.
 */
public enum SpectralNormOn {
    NONE("none"), D("d"), G("g"), BOTH("both");

    private final String flag;

    SpectralNormOn(String flag) { this.flag = flag; }

    /** The name {@code --spectral-norm} takes. */
    public String flag() { return flag; }

    public boolean generator() { return this == G || this == BOTH; }

    public boolean discriminator() { return this == D || this == BOTH; }

    public static SpectralNormOn of(String flag) {
        for (SpectralNormOn s : values()) if (s.flag.equals(flag)) return s;
        throw new UserError("unknown --spectral-norm '" + flag + "'; use none, d, g or both");
    }

    /** {@code network} with every layer that has a weight spectrally normalised when {@code on}. */
    static Preset.Network apply(boolean on, Preset.Network network) {
        if (!on) return network;
        return (c, k) -> {
            List<Layer> layers = network.layers(c, k);
            for (Layer l : layers) if (l.hasWeight()) l.spectralNormalized();
            return layers;
        };
    }
}
