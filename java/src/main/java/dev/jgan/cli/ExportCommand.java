package dev.jgan.cli;

import dev.jgan.UserError;
import dev.jgan.gan.Checkpoints;
import dev.jgan.gan.OnnxExport;
import dev.jgan.gan.TorchExport;
import dev.jgan.backend.Backend;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write a checkpoint's generator for another framework: --format torch writes generator.py (the network as "
                + "PyTorch modules) and generator.safetensors (its weights) into --out; --format onnx writes generator.onnx (opset 13).")
final class ExportCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;

    @Mixin CheckpointOptions source;

    @Option(names = "--format", required = true, description = "torch or onnx")
    String format;

    @Option(names = "--out", required = true, description = "the folder to write into (made if missing)")
    Path out;

    @Override public Integer call() {
        if (!format.equals("torch") && !format.equals("onnx")) throw new UserError("unknown export format '" + format + "'; use torch or onnx");
        Checkpoints.Loaded ck = source.read();
        TorchExport.check(ck);
        String what;
        try (Backend b = common.backend(spec.commandLine().getErr())) {
            what = format.equals("torch") ? TorchExport.write(b, ck, out, source.ema()) : OnnxExport.write(b, ck, out, source.ema());
        }
        spec.commandLine().getOut().println("wrote " + (format.equals("torch") ? out.resolve(TorchExport.MODULE) + " and " + TorchExport.WEIGHTS
                : out.resolve(OnnxExport.MODEL)) + ": " + what);
        return 0;
    }
}
