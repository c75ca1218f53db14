package dev.jgan.cuda.gpu;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Finds the NVIDIA libraries the CUDA backend needs: the driver (libcuda.so.1), cuBLAS
 * (libcublas.so.13 or .12) and cuDNN (libcudnn.so.9 or .8), wherever a 2026 GPU machine keeps
 * them. The folders, in this order (the first hit wins; within a folder the newer soname):
 * <ol>
 *   <li>{@code JGAN_CUDA_LIBS}: folders the user names (colon-separated), so they can always win;</li>
 *   <li>{@code LD_LIBRARY_PATH}, as the dynamic linker would;</li>
 *   <li>NVIDIA's pip wheels: {@code site-packages/nvidia/*}{@code /lib} of the Pythons found in the
 *       usual places (an active virtualenv or conda, ~/.venv and ./.venv, pyenv, ~/.local, conda installs,
 *       /usr/local/lib and /usr/lib pythons);</li>
 *   <li>the standard CUDA install folders (/usr/local/cuda, /usr/local/cuda-X.Y newest first,
 *       /usr/lib/x86_64-linux-gnu, /usr/lib64, WSL's /usr/lib/wsl/lib);</li>
 *   <li>the dynamic linker's own search (ldconfig's cache): a soname it finds there is loaded by name.</li>
 * </ol>
 * Everything looked at is kept ({@link Search#looked()}), so `gan info` can list each candidate and
 * what it held. Versions are read through the libraries' C APIs (FFM), without loading JCuda.
 */
public final class NvidiaLibraries {
    private NvidiaLibraries() {}

    /** The three libraries, each with its sonames newest first and what to install when none is found. */
    public enum Library {
        DRIVER("driver", List.of("libcuda.so.1"), "install the NVIDIA driver"),
        CUBLAS("cublas", List.of("libcublas.so.13", "libcublas.so.12"),
                "install cuBLAS of CUDA 13 or 12, e.g. pip install nvidia-cublas-cu12 or apt-get install libcublas-12-8"),
        CUDNN("cudnn", List.of("libcudnn.so.9", "libcudnn.so.8"),
                "install cuDNN 9 or 8.9, e.g. pip install nvidia-cudnn-cu12 or apt-get install libcudnn9-cuda-12");

        /** The port's name in `gan info`. */
        public final String label;
        /** Sonames, preferred first. */
        public final List<String> sonames;
        /** What to do when none is found. */
        public final String install;

        Library(String label, List<String> sonames, String install) {
            this.label = label;
            this.sonames = sonames;
            this.install = install;
        }

        /** "libcublas.so.13 or libcublas.so.12". */
        public String names() { return String.join(" or ", sonames); }
    }

    /** A folder looked in and where it came from ("JGAN_CUDA_LIBS", "pip wheel", ...). */
    public record Folder(Path path, String origin) {}

    /**
     * A library file found: its soname, and what to hand to dlopen (an absolute path, or the soname
     * itself when the dynamic linker found it on its own) and where it came from.
     */
    public record Found(Library library, String soname, String location, String origin) {
        /** Whether the dynamic linker found it by name (not a file of a folder). */
        public boolean byLinker() { return location.equals(soname); }

        /** The soname's major (12 for libcublas.so.12). */
        public int major() { return Integer.parseInt(soname.substring(soname.lastIndexOf('.') + 1)); }
    }

    /** What one search looked at and found, in search order. */
    public record Search(List<Folder> looked, List<Found> found) {
        /** Every file found of {@code library}, in the order of preference. */
        public List<Found> all(Library library) {
            return found.stream().filter(f -> f.library() == library).toList();
        }

        /** The first file found of {@code library}. */
        public Optional<Found> first(Library library) {
            return found.stream().filter(f -> f.library() == library).findFirst();
        }

        /** The first file found with this soname. */
        public Optional<Found> first(String soname) {
            return found.stream().filter(f -> f.soname().equals(soname)).findFirst();
        }
    }

    /** The environment variable naming the user's folders. */
    public static final String FOLDERS_VARIABLE = "JGAN_CUDA_LIBS";

    /** Where the dynamic linker's own search is listed among the folders. */
    static final String LINKER = "the dynamic linker's default path";

    /** This machine's folders (see the class comment). */
    public static Search search() {
        return search(folders(System::getenv, Path.of(System.getProperty("user.home", "/root")), Path.of("").toAbsolutePath()),
                true);
    }

    /**
     * Looks in {@code folders} in order (a folder that is not there is still listed), then, when
     * {@code linker}, asks the dynamic linker for each soname not yet found.
     */
    public static Search search(List<Folder> folders, boolean linker) {
        List<Found> found = new ArrayList<>();
        for (Folder f : folders) {
            if (!Files.isDirectory(f.path())) continue;
            for (Library lib : Library.values())
                for (String soname : lib.sonames) {
                    Path file = f.path().resolve(soname);
                    if (Files.exists(file)) found.add(new Found(lib, soname, file.toAbsolutePath().toString(), f.origin()));
                }
        }
        List<Folder> looked = new ArrayList<>(folders);
        if (linker) {
            looked.add(new Folder(Path.of("/"), LINKER));
            for (Library lib : Library.values())
                for (String soname : lib.sonames)
                    if (found.stream().noneMatch(x -> x.soname().equals(soname)) && CudaProbe.libraryPresent(soname))
                        found.add(new Found(lib, soname, soname, LINKER));
        }
        // within each library: the folders' order first, then the newer soname
        return new Search(List.copyOf(looked), List.copyOf(found));
    }

    /** Only the given files (the virtual GPU's stand-ins): one "folder" per file's parent. */
    public static Search of(String origin, List<Path> files) {
        List<Found> found = new ArrayList<>();
        List<Folder> looked = new ArrayList<>();
        for (Path file : files) {
            String soname = file.getFileName().toString();
            for (Library lib : Library.values())
                if (lib.sonames.contains(soname)) found.add(new Found(lib, soname, file.toAbsolutePath().toString(), origin));
            Folder f = new Folder(file.toAbsolutePath().getParent(), origin);
            if (!looked.contains(f)) looked.add(f);
        }
        return new Search(List.copyOf(looked), List.copyOf(found));
    }

    /** The folders of the class comment, for an environment {@code env}, a home folder and a working folder. */
    static List<Folder> folders(Function<String, String> env, Path home, Path cwd) {
        Map<Path, Folder> out = new LinkedHashMap<>();
        addPath(out, env.apply(FOLDERS_VARIABLE), FOLDERS_VARIABLE);
        addPath(out, env.apply("LD_LIBRARY_PATH"), "LD_LIBRARY_PATH");
        for (Path site : sitePackages(env, home, cwd)) {
            List<Path> wheels = children(site.resolve("nvidia"));
            // a Python without NVIDIA's wheels is still listed: its nvidia/ folder, "not there"
            if (wheels.isEmpty()) add(out, site.resolve("nvidia"), "pip wheels");
            for (Path lib : wheels) add(out, lib.resolve("lib"), "pip wheel");
        }
        add(out, Path.of("/usr/local/cuda/lib64"), "CUDA install");
        add(out, Path.of("/usr/local/cuda/targets/x86_64-linux/lib"), "CUDA install");
        List<Path> versioned = new ArrayList<>(children(Path.of("/usr/local")).stream()
                .filter(p -> p.getFileName().toString().matches("cuda-\\d+(\\.\\d+)*")).toList());
        versioned.sort(Comparator.comparing((Path p) -> version(p.getFileName().toString().substring(5))).reversed());
        for (Path p : versioned) add(out, p.resolve("lib64"), "CUDA install");
        for (String system : List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/wsl/lib"))
            add(out, Path.of(system), "system");
        return List.copyOf(out.values());
    }

    /** site-packages (and Debian's dist-packages) folders of the Pythons in the usual places. */
    private static List<Path> sitePackages(Function<String, String> env, Path home, Path cwd) {
        List<Path> prefixes = new ArrayList<>();
        for (String var : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
            String v = env.apply(var);
            if (v != null && !v.isBlank()) prefixes.add(Path.of(v));
        }
        prefixes.add(cwd.resolve(".venv"));
        prefixes.add(home.resolve(".venv"));
        prefixes.addAll(children(home.resolve(".pyenv/versions")));
        prefixes.add(home.resolve(".local"));
        for (String conda : List.of("miniconda3", "anaconda3", "miniforge3", "mambaforge"))
            prefixes.add(home.resolve(conda));
        prefixes.add(Path.of("/opt/conda"));
        prefixes.add(Path.of("/usr/local"));
        prefixes.add(Path.of("/usr"));
        List<Path> out = new ArrayList<>();
        for (Path prefix : prefixes) {
            for (Path lib : children(prefix.resolve("lib"))) {
                String name = lib.getFileName().toString();
                if (!name.startsWith("python3")) continue;
                for (String kind : List.of("site-packages", "dist-packages")) {
                    Path site = lib.resolve(kind);
                    if (Files.isDirectory(site) && !out.contains(site)) out.add(site);
                }
            }
        }
        return out;
    }

    private static void addPath(Map<Path, Folder> out, String value, String origin) {
        if (value == null) return;
        for (String part : value.split(":")) if (!part.isBlank()) add(out, Path.of(part), origin);
    }

    private static void add(Map<Path, Folder> out, Path folder, String origin) {
        out.putIfAbsent(folder.toAbsolutePath().normalize(), new Folder(folder.toAbsolutePath().normalize(), origin));
    }

    /** The sub-folders of {@code dir}, sorted by name; none when it is not a folder. */
    private static List<Path> children(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, Files::isDirectory)) {
            for (Path p : s) out.add(p);
        } catch (IOException | SecurityException e) {
            return List.of();
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    /** "12.4" as a comparable number (12 * 1000 + 4); unparsable parts count 0. */
    private static long version(String s) {
        long v = 0;
        String[] parts = s.split("\\.");
        for (int i = 0; i < 3; i++) {
            long part = 0;
            if (i < parts.length) {
                try {
                    part = Long.parseLong(parts[i]);
                } catch (NumberFormatException e) {
                    part = 0;
                }
            }
            v = v * 1000 + part;
        }
        return v;
    }

    /**
     * The version a library file reports through its C API, e.g. "CUDA 12.4" (the driver's
     * cuDriverGetVersion), "12.8.4" (cublasGetProperty) or "9.8.0" (cudnnGetVersion: 8.x encodes
     * major * 1000 + minor * 100 + patch, 9.x major * 10000 + minor * 100 + patch); or why it could
     * not be read (the file does not load, a symbol is missing). The library is loaded and unloaded
     * again.
     */
    public static String version(Found f) {
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup lib = SymbolLookup.libraryLookup(f.location(), arena);
            Linker linker = Linker.nativeLinker();
            return switch (f.library()) {
                case DRIVER -> {
                    MemorySegment v = arena.allocate(JAVA_INT);
                    int rc = (int) linker.downcallHandle(lib.findOrThrow("cuDriverGetVersion"), FunctionDescriptor.of(JAVA_INT, ADDRESS))
                            .invokeExact(v);
                    yield rc == 0 ? "CUDA " + driverVersion(v.get(JAVA_INT, 0)) : "cuDriverGetVersion failed (" + rc + ")";
                }
                case CUBLAS -> {
                    var property = linker.downcallHandle(lib.findOrThrow("cublasGetProperty"), FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
                    int[] parts = new int[3];
                    for (int i = 0; i < 3; i++) { // MAJOR_VERSION 0, MINOR_VERSION 1, PATCH_LEVEL 2
                        MemorySegment v = arena.allocate(JAVA_INT);
                        int rc = (int) property.invokeExact(i, v);
                        if (rc != 0) yield "cublasGetProperty failed (" + rc + ")";
                        parts[i] = v.get(JAVA_INT, 0);
                    }
                    yield parts[0] + "." + parts[1] + "." + parts[2];
                }
                case CUDNN -> cudnnVersion((long) linker.downcallHandle(lib.findOrThrow("cudnnGetVersion"), FunctionDescriptor.of(JAVA_LONG))
                        .invokeExact());
            };
        } catch (IllegalArgumentException e) {
            return "does not load (" + e.getMessage() + ")";
        } catch (java.util.NoSuchElementException e) {
            return "not a usable " + f.soname() + " (" + e.getMessage() + ")";
        } catch (Throwable t) {
            return "version unknown (" + t + ")";
        }
    }

    /** cuDriverGetVersion's value (1000 major + 10 minor) as "12.4". */
    public static String driverVersion(int v) {
        return v / 1000 + "." + v % 1000 / 10;
    }

    /** cudnnGetVersion's value as "major.minor.patch": 8.x is major*1000+minor*100+patch, 9.x major*10000+minor*100+patch. */
    public static String cudnnVersion(long v) {
        return v >= 10000 ? v / 10000 + "." + v / 100 % 100 + "." + v % 100 : v / 1000 + "." + v / 100 % 10 + "." + v % 100;
    }

    /** Per library, the files found (empty lists included), in preference order. */
    public static Map<Library, List<Found>> byLibrary(Search s) {
        Map<Library, List<Found>> out = new EnumMap<>(Library.class);
        for (Library lib : Library.values()) out.put(lib, s.all(lib));
        return out;
    }
}
