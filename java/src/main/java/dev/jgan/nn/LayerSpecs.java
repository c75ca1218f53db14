package dev.jgan.nn;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Layers from their {@link Layer#spec() specs}: what a checkpoint keeps of its networks, so that
 * a model built in code (not a registered preset) can be read back in another process, and what
 * an exporter reads to write the same network elsewhere. The specs' values are those JSON gives
 * back: numbers of any boxed type, booleans, lists of numbers.
 */
public final class LayerSpecs {
    /** The version of the spec format; a reader refuses a later one by name. */
    public static final int VERSION = 1;

    private LayerSpecs() {}

    /** Every layer's spec, in order. */
    public static List<Map<String, Object>> of(List<Layer> layers) {
        List<Map<String, Object>> specs = new ArrayList<>(layers.size());
        for (Layer l : layers) specs.add(l.spec());
        return specs;
    }

    /** Fresh layers from specs, in order. */
    public static List<Layer> layers(List<? extends Map<String, ?>> specs) {
        List<Layer> layers = new ArrayList<>(specs.size());
        for (Map<String, ?> s : specs) layers.add(layer(s));
        return layers;
    }

    /** A fresh layer from its spec; IllegalArgumentException naming the type or argument that is wrong or missing. */
    public static Layer layer(Map<String, ?> s) {
        String type = String.valueOf(s.get("type"));
        Layer l = switch (type) {
            case "Dense" -> new Dense(i(s, "in"), i(s, "out"), b(s, "bias"));
            case "Conv2d" -> new Conv2d(i(s, "in"), i(s, "out"), i(s, "kernel"), i(s, "stride"), i(s, "pad"), b(s, "bias"));
            case "ConvTranspose2d" -> new ConvTranspose2d(i(s, "in"), i(s, "out"), i(s, "kernel"), i(s, "stride"), i(s, "pad"),
                    i(s, "outputPadding"), b(s, "bias"));
            case "BatchNorm" -> new BatchNorm(i(s, "channels"), f(s, "momentum"), f(s, "eps"));
            case "ClassEmbedding" -> new ClassEmbedding(i(s, "classes"), i(s, "features"));
            case "ClassHead" -> new ClassHead(i(s, "features"), i(s, "classes"), b(s, "projection"));
            case "Dropout" -> new Dropout(f(s, "p"));
            case "Reshape" -> new Reshape(ints(s, "item"));
            case "Flatten" -> new Flatten();
            case "MaxPool2d" -> new MaxPool2d();
            case "LeakyReLU" -> new Activation.LeakyReLU(f(s, "slope"));
            case "ReLU" -> new Activation.ReLU();
            case "Tanh" -> new Activation.Tanh();
            case "Sigmoid" -> new Activation.Sigmoid();
            default -> throw new IllegalArgumentException("unknown layer type '" + type + "' in a model spec (this jgan knows Dense, Conv2d, "
                    + "ConvTranspose2d, BatchNorm, ClassEmbedding, ClassHead, Dropout, Reshape, Flatten, MaxPool2d, LeakyReLU, ReLU, Tanh, Sigmoid)");
        };
        if (Boolean.TRUE.equals(s.get("spectral"))) l.spectralNormalized();
        return l;
    }

    private static Object arg(Map<String, ?> s, String name) {
        Object v = s.get(name);
        if (v == null) throw new IllegalArgumentException(s.get("type") + " spec lacks '" + name + "': " + s);
        return v;
    }

    private static int i(Map<String, ?> s, String name) {
        if (!(arg(s, name) instanceof Number n) || n.doubleValue() != n.intValue())
            throw new IllegalArgumentException(s.get("type") + " spec: '" + name + "' must be a whole number, got " + s.get(name));
        return n.intValue();
    }

    /** A float as written: through its decimal text, so that 0.01f read back from JSON's double is 0.01f again. */
    private static float f(Map<String, ?> s, String name) {
        if (!(arg(s, name) instanceof Number n))
            throw new IllegalArgumentException(s.get("type") + " spec: '" + name + "' must be a number, got " + s.get(name));
        return n instanceof Float x ? x : Float.parseFloat(n.toString());
    }

    private static boolean b(Map<String, ?> s, String name) {
        if (!(arg(s, name) instanceof Boolean v))
            throw new IllegalArgumentException(s.get("type") + " spec: '" + name + "' must be true or false, got " + s.get(name));
        return v;
    }

    private static int[] ints(Map<String, ?> s, String name) {
        if (!(arg(s, name) instanceof List<?> list))
            throw new IllegalArgumentException(s.get("type") + " spec: '" + name + "' must be a list of whole numbers, got " + s.get(name));
        int[] a = new int[list.size()];
        for (int k = 0; k < a.length; k++) {
            if (!(list.get(k) instanceof Number n)) throw new IllegalArgumentException(s.get("type") + " spec: '" + name + "' holds " + list.get(k));
            a[k] = n.intValue();
        }
        return a;
    }
}
