package dev.jgan.examples;

import dev.jgan.api.Generator;
import dev.jgan.api.Samples;
import dev.jgan.api.Trainer;

import java.nio.file.Path;

/**
 * jgan from an application: train a preset for a while, then sample the checkpoint from as many
 * threads as the application has. {@code TrainAndSample OUT [PRESET [STEPS]]}; the defaults, the
 * ring toy for 300 steps, need no dataset (the README's example trains fast-fmnist).
 */
public final class TrainAndSample {
    private TrainAndSample() {}

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "runs/example");
        String preset = args.length > 1 ? args[1] : "ring";
        long steps = args.length > 2 ? Long.parseLong(args[2]) : 300;

        Trainer trainer = Trainer.builder(preset).out(out).steps(steps).seed(1)
                .listener(s -> { if (s.step() % 100 == 0) System.out.printf("step %d: G loss %.3f%n", s.step(), s.gLoss()); })
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(trainer::cancel));   // Ctrl-C: stop with a checkpoint
        Trainer.Result r = trainer.run();

        try (Generator g = Generator.load(r.checkpoint())) {
            Thread[] workers = new Thread[4];   // one Generator, many threads: calls are safe and deterministic
            for (int i = 0; i < workers.length; i++) {
                int seed = i;
                workers[i] = Thread.ofPlatform().start(() -> {
                    Samples s = g.sample(64, seed);
                    s.writePng(out.resolve("sample-" + seed + ".png"));
                });
            }
            for (Thread w : workers) w.join();
            System.out.println("wrote " + workers.length + " grids of " + g.preset() + " at step " + g.step() + " to " + out);
        }
    }
}
