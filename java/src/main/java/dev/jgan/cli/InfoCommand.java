package dev.jgan.cli;

import dev.jgan.cpu.CpuBackend;
import dev.jgan.cuda.gpu.CudaProbe;
import dev.jgan.gan.Machine;
import dev.jgan.selection.Backends;
import dev.jgan.selection.CudaBinding;
import jdk.incubator.vector.FloatVector;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "info", mixinStandardHelpOptions = true, description = "Show the Java runtime, CPU features, BLAS and CUDA status.")
final class InfoCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @picocli.CommandLine.Option(names = "--cuda-binding", paramLabel = "auto|ffm|jni",
            description = "show what this CUDA binding would load (default: " + CudaBinding.VARIABLE + ", else auto)")
    String cudaBinding;

    @Override public Integer call() {
        PrintWriter o = spec.commandLine().getOut();
        o.println("java:      " + Runtime.version() + " (" + System.getProperty("java.vm.vendor") + "), "
                + System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        o.println("cpu:       " + Machine.cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " cores, features: " + cpuFeatures());
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent())
            o.println("vector:    " + FloatVector.SPECIES_PREFERRED.vectorBitSize() + "-bit ("
                    + FloatVector.SPECIES_PREFERRED.length() + " floats per vector)");
        else o.println("vector:    jdk.incubator.vector not in this runtime (only the CPU kernels use it)");
        CudaBinding binding = cudaBinding != null ? CudaBinding.parse(cudaBinding, "--cuda-binding") : CudaBinding.fromEnvironment();
        for (String line : Backends.report(binding)) o.println(line);
        return 0;
    }

    private static String cpuFeatures() {
        for (String line : cpuinfo()) {
            if (!line.startsWith("flags")) continue;
            List<String> have = new ArrayList<>();
            List<String> flags = List.of(line.substring(line.indexOf(':') + 1).trim().split("\\s+"));
            for (String f : List.of("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "amx_tile"))
                if (flags.contains(f)) have.add(f);
            return String.join(" ", have);
        }
        return "unknown";
    }

    private static List<String> cpuinfo() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo"));
        } catch (IOException e) {
            return List.of();
        }
    }
}
