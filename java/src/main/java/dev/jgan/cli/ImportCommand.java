package dev.jgan.cli;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.gan.TorchImport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "import", mixinStandardHelpOptions = true,
        description = "Make a jgan checkpoint of a generator trained elsewhere: --format torch reads a safetensors file of the "
                + "state_dict of the module gan export --format torch writes (generator.py), for a preset's G; sample, eval, export "
                + "and serve then read the checkpoint (G at step 0, D untrained, no optimizer state).")
final class ImportCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;

    @Parameters(index = "0", paramLabel = "WEIGHTS", description = "the safetensors file (F32, F16 or BF16 tensors; int64 ones are read past)")
    Path weights;

    @Option(names = "--format", required = true, description = "torch")
    String format;

    @Option(names = "--preset", description = "the preset whose G the weights are (default: the one the file's metadata names, as an export's does)")
    String preset;

    @Option(names = "--out", required = true, description = "the checkpoint to write (.safetensors)")
    Path out;

    @Override public Integer call() {
        if (!format.equals("torch")) throw new UserError("unknown import format '" + format + "'; use torch");
        TorchImport.Weights w = TorchImport.read(weights, preset);   // a bad file or preset before a backend is opened for it
        String what;
        try (Backend b = common.backend(spec.commandLine().getErr())) {
            what = TorchImport.write(b, w, out);
        }
        spec.commandLine().getOut().println("wrote " + out + ": " + what + "; sample it with gan sample --checkpoint " + out);
        return 0;
    }
}
