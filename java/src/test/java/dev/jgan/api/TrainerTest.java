package dev.jgan.api;

import dev.jgan.UserError;
import dev.jgan.cli.Main;
import dev.jgan.gan.Checkpoints;
import dev.jgan.gan.Preset;
import dev.jgan.gan.Presets;
import dev.jgan.gan.TrainConfig;
import dev.jgan.nn.Activation;
import dev.jgan.nn.BatchNorm;
import dev.jgan.nn.Dense;
import dev.jgan.nn.Flatten;
import dev.jgan.nn.Layer;
import dev.jgan.nn.Reshape;
import dev.jgan.tensor.Shape;
import dev.jgan.gan.TinyData;
import dev.jgan.io.Safetensors;
import dev.jgan.selection.Backends;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The public Trainer: the CLI's run from Java, its listener, cancellation, resume, and one-line bad input. */
class TrainerTest {
    @TempDir static Path tmp;
    static Path data;

    @BeforeAll
    static void data() throws Exception { data = TinyData.writeSplits(Files.createDirectories(tmp.resolve("data")), 40, 20); }

    static Trainer.Builder small(Path out) {
        return Trainer.builder("mlp-gan-small").data(data).out(out).batch(4).seed(3).device("cpu").threads(2)
                .recipe(c -> c.logEvery(2).checkpointEvery(4).sampleEvery(4));
    }

    /** The same run as gan train with the same settings: every checkpoint tensor bit for bit; the listener sees each step. */
    @Test
    void trainsTheCliRunAndTellsEveryStep() throws Exception {
        Path cli = tmp.resolve("cli"), api = tmp.resolve("api");
        StringWriter out = new StringWriter(), err = new StringWriter();
        assertEquals(0, Main.execute(new String[] {"train", "--no-progress", "--device", "cpu", "--threads", "2", "--preset",
                "mlp-gan-small", "--data", data.toString(), "--out", cli.toString(), "--steps", "8", "--batch", "4", "--seed", "3",
                "--log-every", "2", "--checkpoint-every", "4", "--sample-every", "4"},
                new PrintWriter(out, true), new PrintWriter(err, true)), err.toString());
        List<Trainer.Step> seen = new ArrayList<>();
        List<String> files = new ArrayList<>();
        int[] made = {0};   // the backend from backend(...), in place of device and threads: made once, for the run
        Trainer.Result r = small(api).steps(8).backend(() -> { made[0]++; return Backends.select("cpu", 2, line -> {}); })
                .listener(new Trainer.Listener() {
                    @Override public void onStep(Trainer.Step step) { seen.add(step); }

                    @Override public void onSamples(long step, Path grid) { files.add(step + " " + grid.getFileName()); }

                    @Override public void onCheckpoint(long step, Path checkpoint) { files.add(step + " " + checkpoint.getFileName()); }
                }).build().run();
        assertEquals(List.of("4 step-0000004.png", "4 step-0000004.safetensors", "8 step-0000008.png", "8 step-0000008.safetensors"), files,
                "each grid and checkpoint, as written");
        assertEquals(1, made[0], "backend(...) is asked once");
        assertEquals(8, r.steps());
        assertFalse(r.cancelled());
        assertEquals(8, r.last().step());
        assertEquals(out.toString().lines().findFirst().orElseThrow(), r.last().summary(), "gan train's closing line, from the Result");
        assertEquals(api.resolve("checkpoints/step-0000008.safetensors"), r.checkpoint());
        assertTrue(Files.isRegularFile(r.lastSample()), "the last sample grid: " + r.lastSample());
        var a = Safetensors.read(Checkpoints.latest(cli)).tensors();
        var b = Safetensors.read(r.checkpoint()).tensors();
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) assertArrayEquals(a.get(k).data(), b.get(k).data(), 0f, k + ": Trainer against gan train");
        assertEquals(8, seen.size(), "one Step a step");
        for (int i = 0; i < 8; i++) {
            assertEquals(i + 1, seen.get(i).step());
            assertEquals(8, seen.get(i).totalSteps());
        }
        assertTrue(Float.isNaN(seen.get(0).gLoss()), "no log point before step 2");
        assertTrue(Float.isFinite(seen.get(1).gLoss()) && Float.isFinite(seen.get(7).dLoss()), "losses from step 2 on");
    }

    /** cancel from the listener at step 3 of 1000, between steps: the run ends after the next, with its checkpoint, and resumes from it. */
    @Test
    void cancelEndsAfterTheStepWithACheckpointThatResumes() {
        Path out = tmp.resolve("cancelled");
        Trainer[] t = new Trainer[1];
        t[0] = small(out).steps(1000).listener(s -> { if (s.step() == 3) t[0].cancel(); }).build();
        Trainer.Result r = t[0].run();
        assertTrue(r.cancelled());
        assertEquals(4, r.steps(), "cancel came between steps 3 and 4: step 4 is the last");
        assertEquals(out.resolve("checkpoints/step-0000004.safetensors"), r.checkpoint());
        assertEquals("this Trainer has run already: build another",
                assertThrows(IllegalStateException.class, () -> t[0].run()).getMessage());
        Trainer.Result more = small(out).resume().steps(6).build().run();
        assertEquals(6, more.steps());
        assertFalse(more.cancelled());
        Trainer.Result again = Trainer.resume(out).steps(8).device("cpu").threads(2).build().run();
        assertEquals(8, again.steps(), "resumed without naming the preset: the checkpoint's");
        assertThrows(IllegalStateException.class, () -> Trainer.resume(out).batch(8), "a resumed run's recipe is its checkpoint's");
    }

    /** A model built in code trains by the Trainer, and its checkpoint reads back by its spec alone once its code is forgotten. */
    @Test
    void aModelBuiltInCodeReadsBackFromItsCheckpointAlone() {
        Preset mine = Preset.builder("test-own-mlp").item(Shape.of(1, 28, 28)).zDim(16)
                .generator(c -> List.<Layer>of(new Dense(16, 64), new Activation.LeakyReLU(0.2f), new BatchNorm(64, 0.1f, 1e-5f),
                        new Dense(64, c * 784), new Activation.Tanh(), new Reshape(c, 28, 28)))
                .discriminator(c -> List.<Layer>of(new Flatten(), new Dense(c * 784, 64).spectralNormalized(),
                        new Activation.LeakyReLU(0.2f), new Dense(64, 1)))
                .build();
        try {
            Trainer.Result r = Trainer.builder(mine).data(data).out(tmp.resolve("own")).steps(4).batch(4).device("cpu").threads(2)
                    .recipe(c -> c.checkpointEvery(4).sampleEvery(4)).build().run();
            Generator.Options cpu = new Generator.Options("cpu", 2, 8, true);
            float[] before;
            try (Generator g = Generator.load(r.checkpoint(), cpu)) { before = g.sample(8, 1).values(); }
            assertTrue(Presets.unregister("test-own-mlp"));
            try (Generator g = Generator.load(r.checkpoint(), cpu)) {
                assertEquals("test-own-mlp", g.preset());
                assertEquals(16, g.noiseSize());
                assertArrayEquals(before, g.sample(8, 1).values(), "the model read from its spec samples as the one built in code");
            }
            UserError builtIn = assertThrows(UserError.class, () -> Presets.register(Presets.get("mlp-gan")));
            assertTrue(builtIn.getMessage().contains("is built in"), builtIn.getMessage());
        } finally {
            Presets.unregister("test-own-mlp");
        }
    }

    @Test
    void badInputIsOneLine() {
        UserError unknown = assertThrows(UserError.class, () -> Trainer.builder("no-such-preset"));
        assertTrue(unknown.getMessage().startsWith("unknown preset 'no-such-preset'"), unknown.getMessage());
        Path out = tmp.resolve("twice");
        small(out).steps(2).build().run();
        UserError again = assertThrows(UserError.class, () -> small(out).steps(2).build().run());
        assertTrue(again.getMessage().contains("already holds a run"), again.getMessage());
        UserError noData = assertThrows(UserError.class, () -> small(tmp.resolve("x")).data(tmp.resolve("nothing")).steps(2).build().run());
        assertFalse(noData.getMessage().contains("\n"), noData.getMessage());
        assertThrows(IllegalArgumentException.class, () -> small(out).threads(0));
    }

    /** The length asked for and the recipe are checked by build(), before any backend is made, in gan train's words. */
    @Test
    void aRecipeThatDoesNotHoldTogetherFailsAtBuild() {
        Path out = tmp.resolve("never");
        assertEquals("give --steps or --epochs, not both",
                assertThrows(UserError.class, () -> small(out).steps(2).epochs(1).build()).getMessage());
        assertEquals("--epochs must be positive, got 0", assertThrows(UserError.class, () -> small(out).epochs(0).build()).getMessage());
        assertEquals("--minutes must be > 0, got 0.0", assertThrows(UserError.class, () -> small(out).minutes(0).build()).getMessage());
        assertEquals("--batch must be positive, got 0", assertThrows(UserError.class, () -> small(out).batch(0).build()).getMessage());
        assertFalse(Files.exists(out), "nothing was written");
        TrainConfig preset = Trainer.builder("fast-fmnist").build().config();
        assertEquals(Long.MAX_VALUE, preset.steps(), "fast-fmnist's own budget ends its run");
        assertTrue(preset.minutes() > 0, "fast-fmnist has a budget");
        TrainConfig steps = Trainer.builder("fast-fmnist").steps(5).build().config();
        assertEquals(5, steps.steps());
        assertEquals(0, steps.minutes(), "steps alone replace a preset's budget");
        assertEquals(0, Trainer.builder("fast-fmnist").epochs(2).build().config().minutes(), "and so do epochs");
        TrainConfig budget = small(out).minutes(2).build().config();
        assertEquals(Long.MAX_VALUE, budget.steps(), "the budget alone ends the run");
        assertEquals(2, budget.minutes());
        TrainConfig both = small(out).steps(7).minutes(2).build().config();
        assertEquals(7, both.steps());
        assertEquals(2, both.minutes());
    }
}
