package dev.jgan.cli;

import dev.jgan.cuda.gpu.VirtualGpu;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * {@code ./gan bundle}: the tarball is built from the packaged jar (Maven execution {@code bundle},
 * phase integration-test, so after package), is at most {@value #LIMIT_MIB} MiB, and, unpacked, runs
 * on the virtual GPU from an environment with no JDK in it: {@code env -i} (the child's environment
 * is cleared), PATH a folder holding only a link to bash (the launcher uses bash builtins only),
 * and a JAVA_HOME that points at a decoy whose java fails loudly, so a launcher that reached for
 * any Java but the bundle's own could not pass.
 *
 * <p>Budget: the gzip tarball takes about 15 s on two cores (xz would take 35 s, and the gzip one
 * is the larger, so it is the one the size limit is checked on), the check about half a minute.
 */
class BundleIT {
    /** The issue's limit: the tarball must travel beside the source tree within 64 MiB. */
    static final long LIMIT_MIB = 48;

    /** What the bundle runs on the virtual GPU: the self-check a user runs first, as CI can afford it. */
    static final List<String> DEVICE_RUN = List.of("check", "--quick", "--device", "cuda");

    private static final Path ROOT = Path.of(System.getProperty("jgan.root", "..")).toAbsolutePath().normalize();

    @BeforeAll
    static void needsTheBuild() {
        if (!Files.isRegularFile(ROOT.resolve("java/target/jgan-engine.jar")))
            throw new IllegalStateException("no java/target/jgan-engine.jar: this test runs after package");
        if (VirtualGpu.directory().isEmpty()) {
            if ("true".equals(System.getenv("CI"))) throw new IllegalStateException("the virtual GPU was not built; CI=true requires it");
            abort("the virtual GPU (native/vgpu) was not built here");
        }
    }

    record Run(int code, String out, String err) {
        String both() { return out + err; }
    }

    @Test
    void theBundleIsSmallAndRunsOnTheVirtualGpuWithoutAJdk(@TempDir Path tmp) throws Exception {
        Path jar = ROOT.resolve("java/target/jgan-engine.jar");
        FileTime built = Files.getLastModifiedTime(jar);
        Path tarball = tmp.resolve("jgan-bundle.tar.gz");

        Run bundle = run(new ProcessBuilder(ROOT.resolve("gan").toString(), "bundle", "--output", tarball.toString()), 300);
        assertEquals(0, bundle.code(), bundle.both());
        assertEquals(built, Files.getLastModifiedTime(jar), "bundling packs the built jar, it does not rebuild it");
        long bytes = Files.size(tarball);
        assertTrue(bytes <= LIMIT_MIB << 20, "the tarball is " + bytes + " bytes, over " + LIMIT_MIB + " MiB");
        assertTrue(bundle.out().contains("bundle: " + tarball), "it names what it wrote: " + bundle.out());

        Path unpacked = Files.createDirectories(tmp.resolve("unpacked"));
        Run tar = run(new ProcessBuilder("tar", "-xzf", tarball.toString(), "-C", unpacked.toString()), 60);
        assertEquals(0, tar.code(), tar.both());
        Path gan = unpacked.resolve("jgan/gan");
        assertTrue(Files.isExecutable(gan), "jgan/gan at the bundle's top");
        try (Stream<Path> lib = Files.list(unpacked.resolve("jgan/lib"))) {
            List<String> jars = lib.map(p -> p.getFileName().toString()).toList();
            for (String cpuSide : List.of("javacpp", "dnnl", "openblas", "opencl"))
                assertFalse(jars.stream().anyMatch(j -> j.startsWith(cpuSide)), cpuSide + " left out: " + jars);
            assertTrue(jars.contains("jgan-engine.jar"), jars.toString());
        }

        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path bash = Files.createSymbolicLink(bin.resolve("bash"), Path.of(which("bash")));
        try {
            runsWithoutAJdk(unpacked, bin, tmp);
        } finally {
            Files.delete(bash); // JUnit's clean-up warns about a link that leads out of the temp folder
        }
    }

    private static void runsWithoutAJdk(Path unpacked, Path bin, Path tmp) throws Exception {
        Path gan = unpacked.resolve("jgan/gan");
        Path home = Files.createDirectories(tmp.resolve("home"));
        Path decoy = Files.createDirectories(tmp.resolve("decoy-jdk/bin"));
        Files.writeString(decoy.resolve("java"), "#!/bin/sh\necho 'JAVA_HOME java was run' >&2\nexit 97\n");
        decoy.resolve("java").toFile().setExecutable(true);
        Map<String, String> env = Map.of("HOME", home.toString(), "PATH", bin.toString(), "JAVA_HOME", decoy.getParent().toString(),
                "JGAN_VIRTUAL_GPU", "1", "JGAN_VGPU_STRICT", "1");

        Run info = bundled(gan, env, List.of("info"));
        assertEquals(0, info.code(), info.both());
        assertTrue(info.out().contains("cuda:      ready"), info.out());
        assertTrue(info.out().contains("jgan virtual GPU"), info.out());
        assertTrue(info.out().contains("oneDNN:    not in this bundle"), info.out());

        Run device = bundled(gan, env, DEVICE_RUN);
        assertEquals(0, device.code(), device.both());
        assertFalse(device.err().contains("\tat "), "no stack trace: " + device.err());
        List<String> rows = device.out().lines().toList();
        for (String section : List.of("ops", "step", "resume"))
            assertTrue(rows.stream().anyMatch(l -> l.startsWith(section + " ") && l.contains(" PASS ")), "a passing " + section + " row: " + device.out());
        assertTrue(rows.getLast().endsWith("all passed"), device.out());

        Run cpu = bundled(gan, env, List.of("bench", "--device", "cpu", "--preset", "mlp-gan"));
        assertEquals(2, cpu.code(), cpu.both());
        assertEquals("gan: --device cpu: the CPU backend is not in this bundle (CPU natives left out; use --device cuda, or the full jar)",
                cpu.err().strip(), "one line");

        Run auto = bundled(gan, env, List.of("bench", "--device", "auto", "--preset", "mlp-gan"));
        assertEquals(2, auto.code(), auto.both());
        assertEquals(1, auto.err().strip().lines().count(), "one line: " + auto.err());
        assertTrue(auto.err().startsWith("gan: device auto: no backend here (") && auto.err().contains("the CPU backend is not in this bundle"), auto.err());

        // the runtime has every JDK module jdeps finds the engine jar using, except the Vector API,
        // which only the CPU kernels use (left out with them, bundle/build.sh says why)
        Set<String> needed = jdkModules(unpacked.resolve("jgan/lib/jgan-engine.jar"));
        needed.remove("jdk.incubator.vector");
        Run modules = bundled(unpacked.resolve("jgan/runtime/bin/java"), env, List.of("--list-modules"));
        Set<String> present = new TreeSet<>();
        for (String line : modules.out().split("\n")) if (!line.isBlank()) present.add(line.split("@")[0].strip());
        assertTrue(present.containsAll(needed), "runtime " + present + " lacks some of " + needed);
    }

    /** The JDK modules jdeps finds {@code jar} depending on (in process: no JVM start per call). */
    private static Set<String> jdkModules(Path jar) {
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow(() -> new IllegalStateException("no jdeps in this JDK"));
        StringWriter out = new StringWriter();
        int code = jdeps.run(new PrintWriter(out), new PrintWriter(out), "--multi-release", "25", "--ignore-missing-deps", "-summary", jar.toString());
        assertEquals(0, code, out.toString());
        Set<String> modules = new TreeSet<>();
        Matcher m = Pattern.compile("-> ((?:java|jdk)\\.[a-z.]+)").matcher(out.toString());
        while (m.find()) modules.add(m.group(1));
        assertTrue(modules.contains("java.base"), "jdeps found something: " + out);
        return modules;
    }

    /** Runs a program of the bundle with exactly {@code env} (nothing inherited: env -i). */
    private static Run bundled(Path program, Map<String, String> env, List<String> args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(program.toString()));
        command.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().clear();
        pb.environment().putAll(env);
        pb.directory(Path.of(env.get("HOME")).toFile());
        return run(pb, 120);
    }

    private static String which(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(dir, tool);
            if (Files.isExecutable(p)) return p.toString();
        }
        throw new IllegalStateException(tool + " not on PATH");
    }

    private static Run run(ProcessBuilder pb, int seconds) throws IOException, InterruptedException {
        Path out = Files.createTempFile("bundle-it", ".out"), err = Files.createTempFile("bundle-it", ".err");
        try {
            Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError(pb.command() + " ran past " + seconds + " s: " + Files.readString(err));
            }
            return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
