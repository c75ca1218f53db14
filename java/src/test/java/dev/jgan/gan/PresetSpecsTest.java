package dev.jgan.gan;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jgan.UserError;
import dev.jgan.nn.Layer;
import dev.jgan.nn.LayerSpecs;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Model specs: every built-in preset's networks (gray and colour, with spectral norm on both)
 * through JSON and back are the same layers (the same specs and descriptions), a model built from
 * a model's spec has the same tensors by name and shape, and a spec this jgan cannot read is one line.
 */
class PresetSpecsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyPresetsLayersSurviveJson() throws Exception {
        int checked = 0;
        for (Preset p : Presets.all().values()) {
            for (int c : p.kind().images() ? new int[] {1, 3} : new int[] {0}) {
                Preset q = (p.kind().images() ? p.withChannels(c) : p).withSpectralNorm(SpectralNormOn.BOTH);
                int k = q.conditional() ? q.classes() : 0;
                for (List<Layer> layers : List.of(q.generatorFor().layers(c, k), q.discriminatorFor().layers(c, k))) {
                    List<Map<String, Object>> specs = LayerSpecs.of(layers);
                    List<Map<String, Object>> read = JSON.readValue(JSON.writeValueAsString(specs), new TypeReference<>() {});
                    List<Layer> back = LayerSpecs.layers(read);
                    assertEquals(specs, LayerSpecs.of(back), p.name() + " C=" + c + ": specs after JSON");
                    assertEquals(layers.toString(), back.toString(), p.name() + " C=" + c);
                    checked++;
                }
            }
        }
        assertTrue(checked >= 2 * Presets.all().size(), "networks checked: " + checked);
    }

    @Test
    void aModelFromItsSpecHasTheSameTensors() {
        for (String name : List.of("fast-fmnist", "dcgan-64", "cgan-ring", "mlp-gan")) {
            Preset p = Presets.get(name).withSpectralNorm(SpectralNormOn.D);
            GanModel model = new GanModel(TestBackends.cpu(), p, 2, 1, true);
            Preset read = PresetSpecs.preset(PresetSpecs.of(model), "test");
            assertEquals(p.name(), read.name());
            assertEquals(p.kind(), read.kind());
            assertEquals(p.item(), read.item());
            assertEquals(p.zDim(), read.zDim());
            assertEquals(p.conditional() ? p.classes() : 0, read.conditional() ? read.classes() : 0);
            GanModel again = new GanModel(TestBackends.cpu(), read, 2, 1, true);
            Map<String, Tensor> a = model.state(), b = again.state();
            assertEquals(a.keySet(), b.keySet(), name);
            for (String t : a.keySet()) assertArrayEquals(a.get(t).shape().dims(), b.get(t).shape().dims(), name + " " + t);
        }
    }

    @Test
    void aSpecThisJganCannotReadIsOneLine() {
        UserError newer = assertThrows(UserError.class, () -> PresetSpecs.preset("{\"version\": 9}", "checkpoint x"));
        assertEquals("checkpoint x: its model spec is version 9, written by a newer jgan (this one reads up to 1); upgrade to read it",
                newer.getMessage());
        UserError unknown = assertThrows(UserError.class, () -> PresetSpecs.preset("{\"version\": 1, \"preset\": \"m\", \"kind\": \"IMAGES\","
                + " \"item\": [1, 28, 28], \"zDim\": 4, \"classes\": 0, \"generator\": [{\"type\": \"Attention\"}], \"discriminator\": []}", "checkpoint x"));
        assertTrue(unknown.getMessage().startsWith("checkpoint x: its model spec cannot be read: unknown layer type 'Attention'"), unknown.getMessage());
        UserError missing = assertThrows(UserError.class, () -> PresetSpecs.preset("{\"version\": 1, \"preset\": \"m\", \"kind\": \"IMAGES\","
                + " \"item\": [1, 28, 28], \"zDim\": 4, \"classes\": 0, \"generator\": [{\"type\": \"Dense\", \"in\": 4}], \"discriminator\": []}", "x"));
        assertEquals("x: its model spec cannot be read: Dense spec lacks 'out': {type=Dense, in=4}", missing.getMessage());
        assertThrows(UserError.class, () -> PresetSpecs.preset("not json", "x"));
    }
}
