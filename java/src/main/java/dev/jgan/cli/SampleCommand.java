package dev.jgan.cli;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.gan.Checkpoints;
import dev.jgan.gan.Generation;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "sample", mixinStandardHelpOptions = true,
        description = "Generate images from a checkpoint's generator (batch-norm in inference mode; G's EMA when the checkpoint has one).")
final class SampleCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;

    @Mixin CheckpointOptions source;

    @Option(names = "--n", defaultValue = "64", description = "number of samples (default: ${DEFAULT-VALUE})")
    int n;

    @Option(names = "--out", required = true, description = "output file")
    Path out;

    @Option(names = "--format", description = "png (a grid, in colour for colour models), idx (uint8 0-255, N x H x W, gray models only) or npy (float32 in [-1, 1]: "
            + "N x H x W for gray, N x C x H x W for colour); default: from --out's extension")
    String format;

    @Option(names = "--seed", defaultValue = "0", description = "noise seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--class", paramLabel = "K|all", description = "a class-conditional checkpoint's class: K (0 .. classes - 1) for --n "
            + "images of class K, or all for --n / classes of each, class by class (a PNG grid with one row per class); default: every class in turn")
    String classChoice;

    @Override public Integer call() {
        if (n <= 0) throw new UserError("--n must be positive, got " + n);
        String f = format != null ? format : formatOf(out);
        Checkpoints.Loaded ck = source.read();
        int written;
        try (Backend b = common.backend(spec.commandLine().getErr())) {
            Generation.Format fmt = Generation.Format.of(f);
            written = Generation.write(b, ck, n, seed, source.ema(), classChoice, fmt, out);
        }
        String which = classChoice == null ? "" : classChoice.equals("all") ? ", " + written / ck.config().model().classes() + " of each class"
                : ", class " + classChoice;
        spec.commandLine().getOut().println("wrote " + written + " samples to " + out + " (" + f + which
                + (ck.hasEma() && source.ema() ? ", EMA generator" : "") + ")");
        return 0;
    }

    private static String formatOf(Path p) {
        String name = p.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String ext = dot < 0 ? "" : name.substring(dot + 1);
        if (ext.equals("gz")) return "idx";
        if (ext.equals("png") || ext.equals("idx") || ext.equals("npy")) return ext;
        throw new UserError("cannot tell the format of " + p + " from its extension; pass --format png, idx or npy");
    }
}
