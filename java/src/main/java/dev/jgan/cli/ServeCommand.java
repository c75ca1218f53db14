package dev.jgan.cli;

import dev.jgan.UserError;
import dev.jgan.api.Generator;
import dev.jgan.serve.Server;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve a checkpoint's generator over HTTP: a web page at / and a JSON API (/v1/model, /v1/samples, "
                + "/v1/samples.png) until stopped (Ctrl-C).")
final class ServeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;

    @Mixin CheckpointOptions source;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "the address to listen on; 0.0.0.0 for every interface (default: ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "the port, 0 for any free one (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--request-threads", defaultValue = "16", description = "threads that serve requests (default: ${DEFAULT-VALUE}); "
            + "sampling itself runs one request at a time on the backend's --threads")
    int requestThreads;

    @Option(names = "--batch", defaultValue = "16", description = "images made per forward pass: requests for fewer are padded, for more "
            + "run several (default: ${DEFAULT-VALUE}); the images do not depend on it but for the last bits")
    int batch;

    /** What gan eval wrote of the checkpoint (step-N.eval.json beside it), or null: the page's model card shows it. */
    private com.fasterxml.jackson.databind.JsonNode quality() {
        if (!source.checkpoint.getFileName().toString().endsWith(".safetensors")) return null;
        Path eval = source.evalJson();
        if (!java.nio.file.Files.isRegularFile(eval)) return null;
        try {
            return dev.jgan.io.Json.readTree(eval);
        } catch (RuntimeException e) {
            return null;   // an unreadable eval file leaves the card without quality, not the server unstarted
        }
    }

    @Override public Integer call() throws InterruptedException {
        if (port < 0 || port > 65535) throw new UserError("--port must be 0 .. 65535, got " + port);
        if (requestThreads < 1) throw new UserError("--request-threads must be at least 1, got " + requestThreads);
        if (batch < 1) throw new UserError("--batch must be at least 1, got " + batch);
        Generator g = Generator.load(source.checkpoint, new Generator.Options(common.device, common.threads(), batch, source.ema()));
        Server server;
        try {
            server = new Server(g, host, port, requestThreads, quality());
        } catch (IOException e) {
            g.close();
            throw new UserError("cannot listen on " + host + ":" + port + ": " + e.getMessage());
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            g.close();
            stopped.countDown();
        }));
        spec.commandLine().getOut().println("serving " + g.preset() + " (step " + g.step() + ") at " + server.uri() + " - Ctrl-C stops");
        spec.commandLine().getOut().flush();
        stopped.await();
        return 0;
    }
}
