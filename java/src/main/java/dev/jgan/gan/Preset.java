package dev.jgan.gan;

import dev.jgan.nn.Init;
import dev.jgan.nn.Layer;
import dev.jgan.tensor.Shape;

import java.util.List;
import java.util.function.Supplier;

/**
 * A named recipe: both networks, their initialisation and the optimiser settings of the tutorial
 * it follows. {@code item} is the shape of one real sample: (1, 28, 28) for images, (2) for the toy.
 */
public record Preset(
        String name,
        String description,
        Shape item,
        int zDim,
        Supplier<List<Layer>> generator,
        Supplier<List<Layer>> discriminator,
        Init init,
        float lrG,
        float lrD,
        float beta1,
        float beta2,
        int batch,
        int defaultSteps,
        int sampleEvery,
        /** The dataset used when none is named, or null for the toy (which makes its own data). */
        String defaultDataset) {

    public boolean isToy() { return defaultDataset == null; }
}
