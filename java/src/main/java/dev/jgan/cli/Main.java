package dev.jgan.cli;

import dev.jgan.UserError;
import dev.jgan.backend.DeviceException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.Arrays;

/**
 * The `gan` command line. Failures caused by the input print one line and exit non-zero; the
 * stack trace is shown only with --debug.
 */
@Command(name = "gan", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "jgan: GAN training engine for the JVM (CPU: oneDNN + Vector API; CUDA: cuBLAS, cuDNN and jgan kernels).",
        subcommands = {TrainCommand.class, SampleCommand.class, EvalCommand.class, ReportCommand.class, BenchCommand.class, CheckCommand.class, KernelsCommand.class, InfoCommand.class, ExportCommand.class, ImportCommand.class, ServeCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is needed: train, sample, eval, report, bench, check, kernels or info");
    }

    public static void main(String[] args) {
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI with the given streams and returns the exit code (tests call this). */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        boolean debug = Arrays.asList(args).contains("--debug");
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println("gan: " + ex.getMessage() + " (see '" + c.getCommandSpec().qualifiedName() + " --help')");
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            if (debug) ex.printStackTrace(c.getErr());
            if (ex instanceof UserError u) {
                c.getErr().println("gan: " + u.getMessage());
                return u.exitCode();
            }
            if (ex instanceof DeviceException d) {
                c.getErr().println("gan: device error: " + d.getMessage());
                return DeviceException.EXIT_CODE;
            }
            c.getErr().println("gan: internal error: " + ex + (debug ? "" : " (rerun with --debug for the stack trace)"));
            return 1;
        });
        return cl.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"jgan " + (v == null ? "(development build)" : v) + " on Java " + Runtime.version()};
        }
    }
}
