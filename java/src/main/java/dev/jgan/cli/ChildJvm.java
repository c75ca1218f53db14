package dev.jgan.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The command that runs {@code gan} in another JVM like this one: the same java, the same JVM
 * options and the same class path ({@code gan bench} runs each configuration of a sweep in one,
 * so that each has its own peak resident memory).
 *
 * <p>The JVM options are read from this process's command line (/proc/self/cmdline through
 * {@link ProcessHandle}, java.base: no java.management, which the bundle's runtime leaves out):
 * the arguments before the main class, less the class path, which {@code java.class.path}
 * gives. An argument file ({@code @file}) is not passed on, as it may name the main class;
 * the options the engine cannot run without (the Vector API module, native access) are then
 * added back where this JVM has them.
 */
final class ChildJvm {
    private ChildJvm() {}

    /** Launcher options whose value is the next argument. */
    private static final Set<String> WITH_VALUE = Set.of("--add-modules", "--add-opens", "--add-exports", "--add-reads",
            "--limit-modules", "--upgrade-module-path", "--patch-module", "--module-path", "-p", "--enable-native-access");
    private static final Set<String> CLASS_PATH = Set.of("-cp", "-classpath", "--class-path");
    private static final String VECTOR = "jdk.incubator.vector";

    /** {@code java OPTIONS -cp CLASSPATH dev.jgan.cli.Main ARGS}. */
    static List<String> command(List<String> args) {
        List<String> c = new ArrayList<>();
        c.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        c.addAll(withEngineNeeds(jvmOptions(ProcessHandle.current().info().arguments().map(List::of).orElse(List.of()))));
        c.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        c.addAll(args);
        return c;
    }

    /** The JVM options of a java command line's arguments (without the executable): those before the main class, -jar or -m. */
    static List<String> jvmOptions(List<String> javaArgs) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < javaArgs.size(); i++) {
            String a = javaArgs.get(i);
            if (a.equals("-jar") || a.equals("-m") || a.equals("--module") || !a.startsWith("-") && !a.startsWith("@")) break;
            if (CLASS_PATH.contains(a)) i++;
            else if (a.startsWith("--class-path=") || a.startsWith("@")) continue;
            else {
                out.add(a);
                if (WITH_VALUE.contains(a) && i + 1 < javaArgs.size()) out.add(javaArgs.get(++i));
            }
        }
        return out;
    }

    /** {@code options} plus the Vector API module and native access where this JVM has them and the options do not say so. */
    static List<String> withEngineNeeds(List<String> options) {
        List<String> out = new ArrayList<>(options);
        String all = String.join(" ", options);
        if (ModuleLayer.boot().findModule(VECTOR).isPresent() && !all.contains(VECTOR)) out.addAll(List.of("--add-modules", VECTOR));
        if (ChildJvm.class.getModule().isNativeAccessEnabled() && !all.contains("--enable-native-access")) out.add("--enable-native-access=ALL-UNNAMED");
        return out;
    }
}
