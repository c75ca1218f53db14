package dev.jgan.selection;

import dev.jgan.UserError;
import dev.jgan.cuda.gpu.NvidiaLibraries;
import dev.jgan.cuda.gpu.NvidiaLibraries.Found;
import dev.jgan.cuda.gpu.NvidiaLibraries.Library;
import dev.jgan.cuda.gpu.NvidiaLibraries.Search;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * How the CUDA backend reaches NVIDIA's libraries: {@link #FFM} (java.lang.foreign downcalls into
 * the C APIs that CUDA 12 and 13, cuBLAS 12 and 13 and cuDNN 8.9 and 9.x share: works with every
 * soname) or {@link #JNI} (JCuda, JCublas 12.0 and JCudnn 11.7, whose JNI libraries link exactly
 * libcublas.so.12 and libcudnn.so.8), or {@link #AUTO}. All four ports of one backend use the same
 * binding: the JNI libraries work on JCuda's stream and handle objects, the FFM adapters on raw
 * handles, and mixing them would need one to forge the other's objects.
 */
public enum CudaBinding {
    /** {@link #PREFERRED} where its libraries are found, else the other. */
    AUTO,
    FFM,
    JNI;

    /**
     * What AUTO picks where both bindings work: FFM. Measured on the virtual GPU with
     * LaunchCostBenchmark (the host-side cost of one kernel launch, which is where the two bindings
     * differ; the libraries' own work is the same either way): 2.1 µs per launch through FFM, 3.5 µs
     * through JCuda's JNI (benchmarks/README.md); and FFM also reaches the libraries a 2026 machine
     * has (cuBLAS 13, cuDNN 9), which the JNI libraries cannot link.
     */
    static final CudaBinding PREFERRED = FFM;

    /** The environment variable that sets the binding when --cuda-binding is not given. */
    public static final String VARIABLE = "JGAN_CUDA_BINDING";

    /** "auto", "ffm" or "jni" (any case); anything else is one line naming the choices. */
    public static CudaBinding parse(String s, String what) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UserError(what + ": unknown CUDA binding '" + s + "'; use auto, ffm or jni");
        }
    }

    /** JGAN_CUDA_BINDING, or AUTO when it is not set. */
    public static CudaBinding fromEnvironment() {
        String v = System.getenv(VARIABLE);
        return v == null || v.isBlank() ? AUTO : parse(v, VARIABLE);
    }

    /** The library file each port loads, the binding that loads them, and why this binding. */
    public record Choice(CudaBinding binding, Found driver, Found cublas, Found cudnn, String why) {
        /** "ffm: driver libcuda.so.1 (/usr/lib/...), cublas libcublas.so.13 (...), cudnn libcudnn.so.9 (...)". */
        public String describe() {
            return binding.label() + " (" + why + "): driver " + where(driver) + ", cublas " + where(cublas) + ", cudnn " + where(cudnn);
        }

        private static String where(Found f) {
            return f.byLinker() ? f.soname() + " (dynamic linker)" : f.location();
        }
    }

    public String label() { return name().toLowerCase(Locale.ROOT); }

    /**
     * The libraries this binding (AUTO resolved) would load from {@code s}. The driver is the first
     * libcuda.so.1; FFM takes the first cuBLAS and cuDNN found (any soname), JNI the first
     * libcublas.so.12 and libcudnn.so.8. {@code driverMajor} (the CUDA major the driver supports,
     * 0 when unknown) rules out a cuBLAS of a newer CUDA than the driver: cuBLAS 13 does not run on a
     * CUDA 12 driver. A binding whose libraries are not all there is one line naming what is missing
     * and what to install.
     */
    public Choice choose(Search s, int driverMajor) {
        Found driver = s.first(Library.DRIVER).orElseThrow(() -> new UserError(
                "no NVIDIA driver (libcuda.so.1 not found; " + Library.DRIVER.install + ")"));
        return switch (this) {
            case FFM -> ffm(s, driver, driverMajor, "--cuda-binding ffm").orElseThrow();
            case JNI -> jni(s, driver, driverMajor, "--cuda-binding jni", true).orElseThrow();
            case AUTO -> {
                Optional<Choice> preferred = PREFERRED == FFM ? ffm(s, driver, driverMajor, "auto") : jni(s, driver, driverMajor, "auto", false);
                if (preferred.isPresent()) yield preferred.get();
                // the preferred binding lacks a library: the other one names what is missing, if it fails too
                yield PREFERRED == FFM ? jni(s, driver, driverMajor, "auto: ffm's libraries are not all there", true).orElseThrow()
                        : ffm(s, driver, driverMajor, "auto: jni needs libcublas.so.12 and libcudnn.so.8").orElseThrow();
            }
        };
    }

    private static Optional<Choice> ffm(Search s, Found driver, int driverMajor, String why) {
        Found cublas = usableCublas(s.all(Library.CUBLAS), driverMajor).orElseThrow(() -> missing(Library.CUBLAS, s, driverMajor));
        Found cudnn = s.first(Library.CUDNN).orElseThrow(() -> missing(Library.CUDNN, s, driverMajor));
        return Optional.of(new Choice(FFM, driver, cublas, cudnn, why));
    }

    /** JNI's libraries; empty (not a failure) when {@code required} is false and one is absent. */
    private static Optional<Choice> jni(Search s, Found driver, int driverMajor, String why, boolean required) {
        Optional<Found> cublas = s.first("libcublas.so.12"), cudnn = s.first("libcudnn.so.8");
        if (cublas.isPresent() && cudnn.isPresent()) return Optional.of(new Choice(JNI, driver, cublas.get(), cudnn.get(), why));
        if (!required) return Optional.empty();
        List<String> lacks = new ArrayList<>();
        if (cublas.isEmpty()) lacks.add("libcublas.so.12" + others(s, Library.CUBLAS));
        if (cudnn.isEmpty()) lacks.add("libcudnn.so.8" + others(s, Library.CUDNN));
        throw new UserError("the jni binding (JCublas 12.0, JCudnn 11.7) needs " + String.join(" and ", lacks)
                + "; use --cuda-binding ffm, which also loads cuBLAS 13 and cuDNN 9");
    }

    /** " (found only libcublas.so.13)" when the library is there in another soname. */
    private static String others(Search s, Library lib) {
        List<String> found = s.all(lib).stream().map(Found::soname).distinct().toList();
        return found.isEmpty() ? " (none found)" : " (found only " + String.join(", ", found) + ")";
    }

    /** The first cuBLAS whose CUDA major the driver supports. */
    private static Optional<Found> usableCublas(List<Found> all, int driverMajor) {
        return all.stream().filter(f -> driverMajor == 0 || f.major() <= driverMajor).findFirst();
    }

    private static UserError missing(Library lib, Search s, int driverMajor) {
        List<Found> all = s.all(lib);
        if (lib == Library.CUBLAS && !all.isEmpty())
            return new UserError("cuBLAS " + all.getFirst().soname() + " needs a CUDA " + all.getFirst().major() + " driver, this driver supports CUDA "
                    + driverMajor + " (update the NVIDIA driver, or install cuBLAS for CUDA " + driverMajor + ")");
        return new UserError((lib == Library.CUBLAS ? "cuBLAS" : "cuDNN") + " not found (" + lib.names() + ", looked in "
                + s.looked().size() + " places, `gan info` lists them; " + lib.install + ", or name its folder in "
                + NvidiaLibraries.FOLDERS_VARIABLE + ")");
    }
}
