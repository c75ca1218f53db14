package dev.jgan.lab;

import dev.jgan.backend.Backend;

import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * One variant of a lab op on one device: what it tries, where its source is, the traffic and
 * arithmetic it implies per element, its status, and how it is put in place: {@code install}
 * turns the device's production backend into one whose op runs this variant (a
 * {@link ForwardingBackend} that overrides the op's calls on the CPU, a {@link CudaRoute} of the
 * op's kernels to the lab's image on CUDA; the identity for the baseline).
 *
 * @param bytesPerElement the bytes the variant moves per element of the op's main tensor, passes
 *                        over x included (batch norm's two-pass statistics read x twice)
 * @param flopsPerElement floating-point operations per element (a fused multiply-add counts two)
 * @param kernels         the CUDA kernels of the variant (its ptxas figures are listed); empty on the CPU
 */
public record Variant(LabOp op, String name, Device device, Status status, String source, String tries,
                      double bytesPerElement, double flopsPerElement, List<String> kernels, UnaryOperator<Backend> install) {

    /** Where a variant runs. */
    public enum Device {
        CPU, CUDA;

        public String id() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    /** What became of a variant (STYLE.md 11): the original, a try, one that replaced the original, one that lost (and why, in {@code tries}). */
    public enum Status {
        BASELINE, EXPERIMENT, PROMOTED, REJECTED;

        public String id() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    public Variant {
        Objects.requireNonNull(op, "op");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(install, "install");
        kernels = List.copyOf(kernels);
        if (!name.matches("[a-z0-9][a-z0-9-]*"))
            throw new IllegalArgumentException("variant name '" + name + "': lower-case letters, digits and '-'");
    }

    /** {@code op:name}, as the command line takes it. */
    public String id() { return op.id() + ":" + name; }

    /**
     * {@code backend} (a backend as {@code Backends} opens it) with this variant in place of its
     * op, every other op running production's choice ({@link KernelLab}).
     */
    public Backend on(Backend backend) { return KernelLab.install(List.of(this), backend); }

    @Override public String toString() { return id() + " (" + device.id() + ")"; }
}
