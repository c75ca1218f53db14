package dev.jgan.cli;

import dev.jgan.UserError;
import dev.jgan.io.RunReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Rebuild RUN/report.html: one self-contained page with the sample grids, the curves, the config and the machine.")
final class ReportCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "RUN", description = "a run directory (runs/NAME)")
    Path run;

    @Override public Integer call() {
        if (!Files.isDirectory(run)) throw new UserError("run directory " + run + " not found");
        Path page = RunReport.write(run);
        spec.commandLine().getOut().println("wrote " + page);
        return 0;
    }
}
