package dev.jgan.gan;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jgan.UserError;
import dev.jgan.nn.LayerSpecs;
import dev.jgan.tensor.Shape;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model as data: the spec a checkpoint keeps (metadata "model_spec") of the networks it was
 * trained with, as built (the run's channels, classes and spectral norm applied), so that a
 * model built in code can be read back where its code is not registered: another process, another
 * application. {"version": 1, "preset": name, "kind": "IMAGES" or "POINTS", "item": [C, H, W],
 * "zDim": 100, "classes": K, "generator": [layer specs], "discriminator": [layer specs]}; the
 * layer specs are {@link dev.jgan.nn.Layer#spec()}'s.
 */
public final class PresetSpecs {
    private static final ObjectMapper JSON = new ObjectMapper();

    private PresetSpecs() {}

    /** The spec of a model as built, as JSON text. */
    public static String of(GanModel model) {
        Preset p = model.preset();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", LayerSpecs.VERSION);
        m.put("preset", p.name());
        m.put("kind", p.kind().name());
        m.put("item", java.util.Arrays.stream(p.item().dims()).boxed().toList());
        m.put("zDim", p.zDim());
        m.put("classes", p.conditional() ? p.classes() : 0);
        m.put("generator", LayerSpecs.of(model.generator().layers()));
        m.put("discriminator", LayerSpecs.of(model.discriminator().layers()));
        try {
            return JSON.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The preset a spec describes: its networks are the spec's layers, fresh on every call, for the
     * channels and classes they were built with; its optimiser defaults are the builder's (a
     * checkpoint's config holds the run's own). A UserError naming {@code where} for a spec this
     * jgan cannot read.
     */
    public static Preset preset(String json, String where) {
        Map<String, Object> m;
        try {
            m = JSON.readValue(json, new TypeReference<Map<String, Object>>() {});
        } catch (JsonProcessingException e) {
            throw new UserError(where + ": its model spec is not JSON: " + e.getOriginalMessage());
        }
        try {
            if (!(m.get("version") instanceof Integer v)) throw new IllegalArgumentException("it has no version");
            if (v > LayerSpecs.VERSION)
                throw new UserError(where + ": its model spec is version " + v + ", written by a newer jgan (this one reads up to "
                        + LayerSpecs.VERSION + "); upgrade to read it");
            List<Map<String, Object>> g = list(m, "generator"), d = list(m, "discriminator");
            LayerSpecs.layers(g);   // a bad layer spec fails here, with its message, not later in a build
            LayerSpecs.layers(d);
            @SuppressWarnings("unchecked")
            List<Number> item = (List<Number>) m.get("item");
            Preset.Builder b = Preset.builder(String.valueOf(m.get("preset")));
            if ("POINTS".equals(m.get("kind"))) b.points();
            int k = ((Number) m.get("classes")).intValue();
            if (k > 0) b.classes(k);
            return b.description("a model built in code, read from its spec")
                    .item(Shape.of(item.stream().mapToInt(Number::intValue).toArray()))
                    .zDim(((Number) m.get("zDim")).intValue())
                    .generator((c, kk) -> LayerSpecs.layers(g))
                    .discriminator((c, kk) -> LayerSpecs.layers(d))
                    .build();
        } catch (IllegalArgumentException | ClassCastException | NullPointerException e) {
            throw new UserError(where + ": its model spec cannot be read: " + e.getMessage());
        }
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(Map<String, Object> m, String key) {
        if (!(m.get(key) instanceof List<?> l)) throw new IllegalArgumentException("it has no " + key + " list");
        return (List<Map<String, Object>>) l;
    }
}
