package dev.jgan.cli;

import dev.jgan.backend.Backend;
import dev.jgan.backend.Backends;
import picocli.CommandLine.Option;

import java.io.PrintWriter;

/** Options every command that computes takes. */
final class CommonOptions {
    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu or cuda (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--threads", description = "CPU threads (default: all cores)")
    Integer threads;

    @Option(names = "--debug", description = "print stack traces of failures")
    boolean debug;

    int threads() { return threads != null ? threads : Backends.defaultThreads(); }

    Backend backend(PrintWriter log) {
        return Backends.select(device, threads(), log::println);
    }
}
