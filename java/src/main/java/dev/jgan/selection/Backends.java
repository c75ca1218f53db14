package dev.jgan.selection;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.backend.Precision;
import dev.jgan.cpu.CpuBackend;
import dev.jgan.cuda.CudaBackend;
import dev.jgan.lab.KernelLab;
import dev.jgan.cuda.KernelImages;
import dev.jgan.cuda.gpu.CudaProbe;
import dev.jgan.cuda.gpu.GpuDevice;
import dev.jgan.cuda.gpu.VirtualGpu;
import dev.jgan.cuda.ffm.FfmDevice;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Chooses the backend for {@code --device}: {@code cpu}, {@code cuda}, or {@code auto} (CUDA when
 * it is usable, else the CPU, saying in one line why CUDA was not chosen). The one package that
 * knows both backends: everything above it sees only {@link Backend}.
 *
 * <p>With {@code JGAN_VIRTUAL_GPU=1} the virtual GPU (native/vgpu: host stand-ins for the NVIDIA
 * libraries) is loaded before anything touches JCuda, and {@code --device cuda} runs the real GPU
 * adapters on it. {@code --device auto} never picks it: it computes on the host, slowly.
 */
public final class Backends {
    private Backends() {}

    /** {@link #select(String, int, long, Consumer, CudaProbe.Environment)} on this machine with the default cuDNN workspace limit. */
    public static Backend select(String device, int threads, Consumer<String> log) {
        return select(device, threads, CudaBackend.DEFAULT_WORKSPACE_LIMIT, false, CudaBinding.fromEnvironment(), log, CudaProbe.SYSTEM);
    }

    /** {@link #select(String, int, long, boolean, CudaBinding, Consumer, CudaProbe.Environment)} with deterministic cuDNN algorithms only. */
    public static Backend select(String device, int threads, long workspaceLimit, Consumer<String> log, CudaProbe.Environment env) {
        return select(device, threads, workspaceLimit, false, CudaBinding.fromEnvironment(), log, env);
    }

    /**
     * @param device                  "auto", "cpu" or "cuda"
     * @param threads                 CPU threads (OpenBLAS and our kernels)
     * @param workspaceLimit          the most bytes of cuDNN workspace one convolution may use
     * @param nondeterministicAllowed CUDA: whether cuDNN's non-deterministic algorithms may be chosen
     * @param binding                 CUDA: how the ports reach NVIDIA's libraries (FFM or JNI, or auto)
     * @param log                     receives the one-line reason when auto falls back to the CPU
     * @param env                     what the CUDA probe looks at (tests replace this machine)
     */
    public static Backend select(String device, int threads, long workspaceLimit, boolean nondeterministicAllowed,
                                 CudaBinding binding, Consumer<String> log, CudaProbe.Environment env) {
        return select(device, threads, Precision.FP32, workspaceLimit, nondeterministicAllowed, binding, log, env);
    }

    /**
     * @param precision the CPU backend's GEMM and convolution arithmetic (the CUDA backend's is fp32:
     *                  {@code --device cuda} refuses another, auto says so in one line and uses fp32);
     *                  bf16 on a CPU without bf16 dot products is one line and fp32
     */
    public static Backend select(String device, int threads, Precision precision, long workspaceLimit,
                                 boolean nondeterministicAllowed, CudaBinding binding, Consumer<String> log, CudaProbe.Environment env) {
        // the kernel lab's production choice per op (KernelLab.PRODUCTION_*): the backend itself while every op runs its baseline
        return KernelLab.withProduction(open(device, threads, precision, workspaceLimit, nondeterministicAllowed, binding, log, env));
    }

    private static Backend open(String device, int threads, Precision precision, long workspaceLimit, boolean nondeterministicAllowed,
                                CudaBinding binding, Consumer<String> log, CudaProbe.Environment env) {
        if (threads <= 0) throw new UserError("--threads must be positive, got " + threads);
        boolean virtual = installVirtualGpuIfRequested();
        return switch (device) {
            case "cpu" -> cpu(threads, precision, log);
            case "cuda" -> {
                if (precision != Precision.FP32)
                    throw new UserError("--precision " + precision.id() + " is for the CPU backend; the CUDA backend computes in fp32 (use --device cpu)");
                CudaProbe.Status s = CudaProbe.probe(env);
                if (!s.usable()) throw new UserError("--device cuda is not usable here: " + s.reason() + "; use --device cpu");
                yield openCuda(workspaceLimit, nondeterministicAllowed, binding);
            }
            case "auto" -> {
                if (virtual) yield autoCpu(threads, precision, "the virtual GPU of JGAN_VIRTUAL_GPU is used only with --device cuda", log);
                CudaProbe.Status s = CudaProbe.probe(env);
                // auto is everyone's default: the first thing missing is enough (no driver, usually), the
                // rest is `gan info`'s; --device cuda names them all
                String why = s.usable() ? s.reason()
                        : s.missing().getFirst() + (s.missing().size() > 1 ? "; `gan info` lists what else is missing" : "");
                if (s.usable()) {
                    try {
                        Backend cuda = openCuda(workspaceLimit, nondeterministicAllowed, binding);
                        if (precision != Precision.FP32)
                            log.accept("--precision " + precision.id() + " is for the CPU backend: device auto chose CUDA, which computes in fp32");
                        yield cuda;
                    } catch (UserError e) { // the probe passed but the GPU does not open: still the CPU, with the reason
                        why = e.getMessage().replaceFirst("^--device cuda: ", "").replaceFirst("; use --device cpu$", "");
                    }
                }
                yield autoCpu(threads, precision, "CUDA: " + why, log);
            }
            default -> throw new UserError("unknown device '" + device + "'; use auto, cpu or cuda");
        };
    }

    /** auto's fallback, with the reason CUDA was not chosen; one line where the build has no CPU backend (the bundle). */
    private static Backend autoCpu(int threads, Precision precision, String why, Consumer<String> log) {
        if (!CpuBackend.available()) throw new UserError("device auto: no backend here (" + why + "; the CPU backend is " + CpuBackend.ABSENT + ")");
        log.accept("device auto: using the CPU (" + why + ")");
        return cpu(threads, precision, log);
    }

    /** The CPU backend at {@code precision}; bf16 where the CPU has no bf16 arithmetic is fp32, said in one line. */
    private static Backend cpu(int threads, Precision precision, Consumer<String> log) {
        if (precision == Precision.BF16 && CpuBackend.available() && !CpuBackend.hasBf16Arithmetic()) {
            log.accept("--precision bf16: this CPU has no bf16 dot products for oneDNN (AVX-512 BF16 or AMX); computing in fp32"
                    + " (--precision bf16-emulated gives bf16's numbers on any CPU, slower)");
            precision = Precision.FP32;
        }
        return new CpuBackend(threads, precision);
    }

    /** Loads the virtual GPU when JGAN_VIRTUAL_GPU asks for it; whether it is loaded. A failure is one line. */
    private static boolean installVirtualGpuIfRequested() {
        if (!VirtualGpu.requested()) return false;
        try {
            VirtualGpu.install();
            return true;
        } catch (RuntimeException | LinkageError e) {
            throw new UserError("JGAN_VIRTUAL_GPU: " + e.getMessage(), e);
        }
    }

    /**
     * GPU 0 through {@code binding}'s adapters and the libraries it chooses; a failure to open it (a
     * library that is missing or does not load, a driver too old) is one line.
     */
    private static Backend openCuda(long workspaceLimit, boolean nondeterministicAllowed, CudaBinding binding) {
        try {
            CudaBinding.Choice c = binding.choose(CudaProbe.libraries(), CudaProbe.driverMajor());
            return switch (c.binding()) {
                case FFM -> FfmDevice.open(0, workspaceLimit, nondeterministicAllowed,
                        new FfmDevice.Libraries(c.driver().location(), c.cublas().location(), c.cudnn().location()));
                case JNI -> {
                    preloadForJni(c);
                    yield GpuDevice.open(0, workspaceLimit, nondeterministicAllowed);
                }
                case AUTO -> throw new IllegalStateException("choose() resolves auto");
            };
        } catch (RuntimeException | LinkageError e) {
            throw new UserError("--device cuda: cannot open GPU 0: " + e.getMessage() + "; use --device cpu", e);
        }
    }

    /**
     * JCuda's, JCublas's and JCudnn's JNI libraries name libcuda.so.1, libcublas.so.12 and
     * libcudnn.so.8 as NEEDED, which the dynamic linker resolves by soname: a library found in a
     * folder it does not search (a pip wheel, JGAN_CUDA_LIBS) is loaded first by its path, so that
     * the soname is already there when the JNI library loads. Must run before any JCuda class
     * initialises; the virtual GPU's stand-ins are loaded already and are skipped.
     */
    private static void preloadForJni(CudaBinding.Choice c) {
        if (VirtualGpu.installed()) return;
        for (var f : List.of(c.driver(), c.cublas(), c.cudnn()))
            if (!f.byLinker()) System.load(f.location());
    }

    /** {@link #select(String, int, Consumer)} with the machine's own CUDA probe and the given workspace limit. */
    public static Backend select(String device, int threads, long workspaceLimit, Consumer<String> log) {
        return select(device, threads, workspaceLimit, false, CudaBinding.fromEnvironment(), log, CudaProbe.SYSTEM);
    }

    /** {@link #select(String, int, Precision, long, boolean, CudaBinding, Consumer, CudaProbe.Environment)} with the machine's own CUDA probe. */
    public static Backend select(String device, int threads, Precision precision, long workspaceLimit, boolean nondeterministicAllowed,
                                 CudaBinding binding, Consumer<String> log) {
        return select(device, threads, precision, workspaceLimit, nondeterministicAllowed, binding, log, CudaProbe.SYSTEM);
    }

    /** {@link #select(String, int, long, boolean, CudaBinding, Consumer, CudaProbe.Environment)} with the machine's own CUDA probe. */
    public static Backend select(String device, int threads, long workspaceLimit, boolean nondeterministicAllowed, CudaBinding binding,
                                 Consumer<String> log) {
        return select(device, threads, workspaceLimit, nondeterministicAllowed, binding, log, CudaProbe.SYSTEM);
    }

    /** What {@code gan info} says about the backends: GEMM libraries, CUDA status and libraries, kernels, oneDNN. */
    public static List<String> report() {
        return report(CudaBinding.fromEnvironment());
    }

    /** {@link #report()}, its binding line for {@code binding}. */
    public static List<String> report(CudaBinding binding) {
        List<String> lines = new ArrayList<>();
        boolean virtual = installVirtualGpuIfRequested();
        lines.add("gemm:      " + (CpuBackend.available() ? CpuBackend.oneDnnVersion() + " (default); " + CpuBackend.openBlasConfig() + " with -Djgan.cpu.gemm=openblas" : CpuBackend.ABSENT));
        CudaProbe.Status s = CudaProbe.probe();
        lines.add("cuda:      " + (s.usable() ? s.reason() : "not usable: " + s.reason())
                + (virtual ? "; the virtual GPU of JGAN_VIRTUAL_GPU (host stand-ins, --device cuda only)" : ""));
        lines.addAll(CudaProbe.details());
        lines.add("binding:   " + bindingLine(binding));
        lines.add("kernels:   " + KernelImages.summary());
        lines.add("oneDNN:    " + CpuBackend.oneDnnVersion());
        if (CpuBackend.available())
            lines.add("bf16:      " + (CpuBackend.hasBf16Arithmetic() ? "oneDNN has bf16 convolutions on this CPU (--precision bf16)"
                    : "oneDNN has no bf16 kernels on this CPU (needs AVX-512 BF16 or AMX): --precision bf16 computes in fp32, bf16-emulated rounds"));
        return lines;
    }

    /** What {@code binding} would load here, or why it cannot (one line). */
    static String bindingLine(CudaBinding binding) {
        try {
            return binding.choose(CudaProbe.libraries(), CudaProbe.driverMajor()).describe();
        } catch (UserError e) {
            return binding.label() + ": " + e.getMessage();
        }
    }

    /** All cores of this machine: the default for --threads. */
    public static int defaultThreads() { return Runtime.getRuntime().availableProcessors(); }
}
