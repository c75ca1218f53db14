package dev.jgan.cli;

import dev.jgan.gan.Checkpoints;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The checkpoint a command reads its generator from, and which of its generators: sample, eval, export and serve. */
final class CheckpointOptions {
    @Option(names = "--checkpoint", required = true, description = "a checkpoints/step-N.safetensors file")
    Path checkpoint;

    @Option(names = "--no-ema", description = "use the live generator even when the checkpoint holds an EMA of it")
    boolean noEma;

    /** The checkpoint, read; a UserError in one line when it is missing or not a jgan checkpoint. */
    Checkpoints.Loaded read() { return Checkpoints.read(checkpoint); }

    /** Where gan eval writes its measurement of the checkpoint by default: step-N.eval.json beside it. */
    Path evalJson() {
        return checkpoint.resolveSibling(checkpoint.getFileName().toString().replaceFirst("\\.safetensors$", "") + ".eval.json");
    }

    /** Whether the EMA generator is asked for (it is used where the checkpoint has one). */
    boolean ema() { return !noEma; }
}
