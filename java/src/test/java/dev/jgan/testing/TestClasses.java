package dev.jgan.testing;

import dev.jgan.backend.Backend;
import dev.jgan.gan.GanModel;
import dev.jgan.nn.Sequential;
import dev.jgan.tensor.Shape;

/** Classes for a class-conditional network a test builds by hand: every class in turn, as one-hot rows. */
public final class TestClasses {
    private TestClasses() {}

    /** Gives {@code net} (built for batch N) the classes i % K of its items when it is conditional; returns it. */
    public static Sequential give(Backend b, Sequential net) {
        int k = net.classes();
        if (k == 0) return net;
        int n = net.inShape().dim(0);
        float[] oneHot = new float[n * k];
        GanModel.oneHot(GanModel.balanced(n, k, 0), k, oneHot);
        net.useClasses(b.fromHost(oneHot, Shape.of(n, k)));
        return net;
    }
}
