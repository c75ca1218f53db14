package dev.jgan.backend;

import dev.jgan.UserError;
import dev.jgan.cpu.CpuBackend;
import dev.jgan.cuda.CudaProbe;

import java.util.function.Consumer;

/**
 * Chooses the backend for {@code --device}: {@code cpu}, {@code cuda}, or {@code auto} (CUDA when
 * it is usable, else the CPU, saying in one line why CUDA was not chosen).
 */
public final class Backends {
    private Backends() {}

    /**
     * @param device  "auto", "cpu" or "cuda"
     * @param threads CPU threads (OpenBLAS and our kernels)
     * @param log     receives the one-line reason when auto falls back to the CPU
     */
    public static Backend select(String device, int threads, Consumer<String> log) {
        if (threads <= 0) throw new UserError("--threads must be positive, got " + threads);
        return switch (device) {
            case "cpu" -> new CpuBackend(threads);
            case "cuda" -> {
                CudaProbe.Status s = CudaProbe.probe();
                throw new UserError("--device cuda is not usable here: " + s.reason() + "; use --device cpu");
            }
            case "auto" -> {
                CudaProbe.Status s = CudaProbe.probe();
                log.accept("device auto: using the CPU (CUDA: " + s.reason() + ")");
                yield new CpuBackend(threads);
            }
            default -> throw new UserError("unknown device '" + device + "'; use auto, cpu or cuda");
        };
    }

    /** All cores of this machine: the default for --threads. */
    public static int defaultThreads() { return Runtime.getRuntime().availableProcessors(); }
}
