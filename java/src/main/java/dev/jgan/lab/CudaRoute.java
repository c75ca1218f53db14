package dev.jgan.lab;

import dev.jgan.backend.Backend;
import dev.jgan.cuda.CudaBackend;
import dev.jgan.cuda.Dim3;
import dev.jgan.cuda.KernelArgs;
import dev.jgan.cuda.KernelLauncher;
import dev.jgan.cuda.Kernels;

import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * How a CUDA variant is put in place: some of the production kernels' launches (those that
 * {@code Kernels} makes, by kernel name) go to the kernel lab's image instead, each through a
 * {@link Rule} that picks the lab kernel and its launch settings. A lab kernel takes the
 * production kernel's parameters, in the same order, so {@code Kernels}' argument packing serves
 * both; the rule reads the sizes it needs from the packed arguments ({@link KernelArgs#i64At}).
 * Everything else (memory, cuBLAS, cuDNN, the other kernels) is the production backend's.
 */
public final class CudaRoute {
    private CudaRoute() {}

    /** The launch to make instead of a production one, or null to keep the production launch (a shape the variant does not serve). */
    @FunctionalInterface
    public interface Rule {
        Kernels.Launch replace(Kernels.Launch production);
    }

    /** An install for {@link Variant}: the production kernels named in {@code rules} routed to the lab's image. */
    public static UnaryOperator<Backend> of(Map<String, Rule> rules) {
        Map<String, Rule> copy = Map.copyOf(rules);
        return production -> {
            if (!(production instanceof CudaBackend cuda))
                throw new IllegalArgumentException("a CUDA variant needs the CUDA backend, not " + production.name());
            return cuda.withLauncher(launcher -> new Routing(launcher, launcher.lab(), copy));
        };
    }

    /** Production launches by default, the lab's where a rule says so; both on the same device and stream. */
    static final class Routing implements KernelLauncher {
        private final KernelLauncher production, lab;
        private final Map<String, Rule> rules;

        Routing(KernelLauncher production, KernelLauncher lab, Map<String, Rule> rules) {
            this.production = production;
            this.lab = lab;
            this.rules = rules;
        }

        @Override public String describe() {
            return production.describe() + "; kernel lab: " + lab.describe();
        }

        @Override public int multiprocessors() { return production.multiprocessors(); }

        @Override public void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {
            Rule rule = rules.get(kernel);
            Kernels.Launch instead = rule == null ? null : rule.replace(new Kernels.Launch(kernel, grid, block, sharedBytes, args));
            if (instead == null) production.launch(kernel, grid, block, sharedBytes, args);
            else lab.launch(instead.kernel(), instead.grid(), instead.block(), instead.sharedBytes(), instead.args());
        }

        @Override public void synchronize() {
            lab.synchronize();
            production.synchronize();
        }

        @Override public void close() {
            lab.close();
        }
    }
}
