package dev.jgan.cuda;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reads kernels/*.cu and kernels/common.cuh, the source of truth for which kernels reduce over a
 * block: a kernel synchronises when its body calls __syncthreads() or a device function that does,
 * followed through any depth of helpers (common.cuh's jgan_block_sum, a file's own
 * jgan_bn_train_channel, ...). Comments are stripped first, so a mention in prose does not count.
 */
final class KernelSources {
    /** kernels/ beside java/, where the tests run; -Djgan.kernels.dir overrides it. */
    static Path dir() {
        return Path.of(System.getProperty("jgan.kernels.dir", "../kernels")).toAbsolutePath().normalize();
    }

    // a function definition's head: __global__ or __device__ qualifiers, then the name before '('
    private static final Pattern HEAD = Pattern.compile("\\b(__global__|__device__)\\b[^;{}()]*?\\b(\\w+)\\s*\\(");
    private static final Pattern COMMENTS = Pattern.compile("//[^\\n]*|/\\*.*?\\*/", Pattern.DOTALL);

    private KernelSources() {}

    /** The __global__ kernels of kernels/ that synchronise a block. */
    static Set<String> synchronisingKernels() {
        StringBuilder all = new StringBuilder();
        try (Stream<Path> files = Files.list(dir())) {
            for (Path f : files.filter(p -> p.toString().endsWith(".cu") || p.toString().endsWith(".cuh")).sorted().toList())
                all.append(Files.readString(f)).append('\n');
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the kernel sources in " + dir(), e);
        }
        return synchronisingKernels(all.toString());
    }

    /** As {@link #synchronisingKernels()}, of the given source text. */
    static Set<String> synchronisingKernels(String source) {
        Map<String, String> bodies = new LinkedHashMap<>();
        Set<String> kernels = new TreeSet<>();
        String src = COMMENTS.matcher(source).replaceAll(" ");
        Matcher m = HEAD.matcher(src);
        int from = 0;
        while (m.find(from)) {
            int close = matching(src, m.end() - 1, '(', ')');
            int brace = src.indexOf('{', close), semicolon = src.indexOf(';', close);
            if (brace < 0 || (semicolon >= 0 && semicolon < brace)) { from = close; continue; }   // a declaration
            int end = matching(src, brace, '{', '}');
            bodies.merge(m.group(2), src.substring(brace, end + 1), (a, b) -> a + b);   // overloads: either may sync
            if (m.group(1).equals("__global__")) kernels.add(m.group(2));
            from = end + 1;
        }
        Set<String> syncing = new TreeSet<>();
        for (boolean grew = true; grew; ) {
            grew = false;
            for (var e : bodies.entrySet()) {
                if (syncing.contains(e.getKey())) continue;
                boolean calls = e.getValue().contains("__syncthreads");
                for (String s : syncing) calls |= Pattern.compile("\\b" + s + "\\s*[<(]").matcher(e.getValue()).find();
                if (calls) grew = syncing.add(e.getKey());
            }
        }
        syncing.retainAll(kernels);
        return syncing;
    }

    /** Index of the bracket closing the one at {@code open}. */
    private static int matching(String s, int open, char o, char c) {
        int depth = 0;
        for (int i = open; i < s.length(); i++) {
            if (s.charAt(i) == o) depth++;
            else if (s.charAt(i) == c && --depth == 0) return i;
        }
        throw new IllegalStateException("unbalanced '" + o + "' in the kernel sources at offset " + open);
    }
}
