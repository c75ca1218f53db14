package dev.jgan.cli;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.backend.Precision;
import dev.jgan.lab.KernelLab;
import dev.jgan.lab.Variant;
import dev.jgan.selection.Backends;
import dev.jgan.selection.CudaBinding;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** Options every command that computes takes. */
final class CommonOptions {
    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu or cuda (default: ${DEFAULT-VALUE})")
    String device;

    /** One count for every command; `gan bench` sweeps a list (1,2), the others refuse one ({@link #threads()}). */
    @Option(names = "--threads", split = ",", paramLabel = "N", description = "CPU threads (default: all cores; gan bench: a list, e.g. 1,2)")
    List<Integer> threads;

    @Option(names = "--workspace-mb", defaultValue = "256",
            description = "CUDA: the most cuDNN workspace one convolution may use, in MiB (default: ${DEFAULT-VALUE})")
    long workspaceMb;

    @Option(names = "--cudnn-nondeterministic",
            description = "CUDA: let cuDNN's non-deterministic convolution algorithms be chosen (often faster backward passes; "
                    + "runs then differ in the last bits, and --resume no longer reproduces the uninterrupted run)")
    boolean cudnnNondeterministic;

    @Option(names = "--cuda-binding", paramLabel = "auto|ffm|jni",
            description = "CUDA: how to reach NVIDIA's libraries: ffm (java.lang.foreign; CUDA 12/13, cuBLAS 12/13, cuDNN 8.9/9), "
                    + "jni (JCuda, JCublas, JCudnn; cuBLAS 12 and cuDNN 8.9 only) or auto (ffm; default, or "
                    + CudaBinding.VARIABLE + ")")
    String cudaBinding;

    @Option(names = "--variant", paramLabel = "OP:VARIANT",
            description = "run a kernel-lab variant of an op instead of production's choice (repeatable; `gan kernels list` names them)")
    List<String> variants = new ArrayList<>();

    /** One precision for every command; `gan bench` sweeps a list (fp32,bf16), the others refuse one ({@link #precision()}). */
    @Option(names = "--precision", split = ",", paramLabel = "fp32|bf16|bf16-emulated",
            description = "CPU: the GEMMs' and convolutions' arithmetic: fp32 (default), bf16 (bf16 inputs, fp32 sums, where the CPU "
                    + "has bf16 dot products; fp32 otherwise, said in one line) or bf16-emulated (bf16's numbers on any CPU, slower); "
                    + "weights, batch norm, loss, Adam and checkpoints stay fp32 (gan bench: a list, e.g. fp32,bf16)")
    List<String> precision;

    @Option(names = "--debug", description = "print stack traces of failures")
    boolean debug;

    /** The one thread count asked for, or all cores. */
    int threads() {
        if (threads != null && threads.size() > 1)
            throw new UserError("--threads takes one count here, got " + threads + " (only gan bench sweeps a list)");
        return threadCounts().getFirst();
    }

    /** The thread counts asked for (gan bench's sweep), each positive; all cores when none was given. */
    List<Integer> threadCounts() {
        if (threads == null) return List.of(Backends.defaultThreads());
        for (int t : threads) if (t <= 0) throw new UserError("--threads must be positive, got " + t);
        return List.copyOf(threads);
    }

    Backend backend(PrintWriter log) { return backend(log, threads(), precision()); }

    /** The one precision asked for, fp32 when none was. */
    Precision precision() {
        if (precision != null && precision.size() > 1)
            throw new UserError("--precision takes one value here, got " + String.join(",", precision) + " (only gan bench sweeps a list)");
        return precisions().getFirst();
    }

    /** The precisions asked for (gan bench's sweep); fp32 when none was given. */
    List<Precision> precisions() {
        if (precision == null || precision.isEmpty()) return List.of(Precision.FP32);
        List<Precision> all = new ArrayList<>();
        for (String p : precision) {
            try {
                all.add(Precision.parse(p));
            } catch (IllegalArgumentException e) {
                throw new UserError("--precision: " + e.getMessage());
            }
        }
        return all;
    }

    /** The backend chosen by --device (with the kernel-lab variants of --variant) on {@code threads} CPU threads in {@code precision}. */
    Backend backend(PrintWriter log, int threads, Precision precision) {
        if (workspaceMb < 0) throw new UserError("--workspace-mb must be >= 0, got " + workspaceMb);
        CudaBinding binding = cudaBinding != null ? CudaBinding.parse(cudaBinding, "--cuda-binding") : CudaBinding.fromEnvironment();
        Backend b = Backends.select(device, threads, precision, workspaceMb << 20, cudnnNondeterministic, binding, log::println);
        try {
            List<Variant> chosen = new ArrayList<>();
            for (String v : variants) {
                if (!v.contains(":")) throw new UserError("--variant " + v + ": give OP:VARIANT, e.g. batch_norm:baseline");
                chosen.add(KernelLab.find(v, KernelLab.deviceOf(b)).getFirst());
            }
            if (chosen.isEmpty()) return b;
            for (Variant v : chosen) log.println("kernel lab: " + v + " in place of " + KernelLab.production(v.op(), v.device()).id());
            return KernelLab.install(chosen, b);
        } catch (IllegalArgumentException e) {
            b.close();
            throw new UserError("--variant: " + e.getMessage());
        } catch (UserError e) {
            b.close();
            throw e;
        }
    }
}
