package dev.jgan.backend;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The arithmetic of a backend's GEMMs and convolutions. Everything else (bias, activations,
 * batch-norm statistics, the loss, Adam, the master weights and every tensor a caller sees) is
 * float32 in all of them, and checkpoints are the same float32 files.
 *
 * <ul>
 *   <li>{@link #FP32}: float32 operands and accumulation.</li>
 *   <li>{@link #BF16}: the operands of every GEMM and convolution rounded to bfloat16 (1 sign,
 *       8 exponent, 7+1 mantissa bits; round to nearest even), products and sums in float32,
 *       through oneDNN's bf16 kernels where the CPU has bf16 dot products (AVX-512 BF16, AMX).
 *       A bf16 x bf16 product is exact in float32 (8 x 8 significant bits fit in 24), so the
 *       only new error is the operands' rounding, at most 2^-9 relative each.</li>
 *   <li>{@link #BF16_EMULATED}: the same numbers on any CPU: the operands are rounded to bf16
 *       (and kept as float32 values) and the float32 kernels multiply them. Slower than fp32,
 *       for studying bf16's effect on training where no bf16 hardware is.</li>
 * </ul>
 */
public enum Precision {
    FP32("fp32"), BF16("bf16"), BF16_EMULATED("bf16-emulated");

    private final String id;

    Precision(String id) { this.id = id; }

    /** The name on the command line: fp32, bf16, bf16-emulated. */
    public String id() { return id; }

    /** Whether GEMM and convolution operands are rounded to bf16. */
    public boolean roundsToBf16() { return this != FP32; }

    /** The precision named {@code id}; IllegalArgumentException listing the names otherwise. */
    public static Precision parse(String id) {
        for (Precision p : values()) if (p.id.equals(id)) return p;
        throw new IllegalArgumentException("unknown precision '" + id + "'; use "
                + Arrays.stream(values()).map(Precision::id).collect(Collectors.joining(", ")));
    }

    @Override public String toString() { return id; }
}
