package dev.jgan.bench.lab;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The order of a bench run's measurements: per (call, shape), the variants one after the other,
 * that round repeated {@code rounds} times: A B A B with {@code --vs}. Interleaving spreads a
 * drift of the machine (another process, the clock, the heat) over both variants instead of
 * charging it to whichever ran second.
 */
public final class Plan {
    private Plan() {}

    /**
     * One measurement: the variant in {@code slot} (its place in the run's list; baseline
     * --vs baseline has the same variant in two slots) at a call and shape, in round {@code round} (0-based).
     */
    public record Step(String call, String shape, int slot, String variant, int round) {}

    /** Every step, in the order they run. */
    public static List<Step> interleaved(List<String> calls, List<String> shapes, List<String> variants, int rounds) {
        if (rounds < 1) throw new IllegalArgumentException("--rounds must be at least 1, got " + rounds);
        List<Step> out = new ArrayList<>();
        for (String call : calls)
            for (String shape : shapes)
                for (int r = 0; r < rounds; r++)
                    for (int v = 0; v < variants.size(); v++) out.add(new Step(call, shape, v, variants.get(v), r));
        return out;
    }

    /**
     * The variants a run measures, in slot order: those {@code named} ({@code op} or
     * {@code op:variant}), then {@code vs}, which every other slot is compared with. With {@code vs},
     * a named variant equal to it is dropped unless it is the only one (baseline --vs baseline
     * measures the baseline against itself: the noise floor).
     */
    public static List<String> slots(List<String> named, String vs) {
        if (vs == null) return List.copyOf(new java.util.LinkedHashSet<>(named));
        List<String> out = new ArrayList<>();
        for (String n : new java.util.LinkedHashSet<>(named)) if (!n.equals(vs)) out.add(n);
        if (out.isEmpty()) out.add(vs);
        out.add(vs);
        return out;
    }

    /** The median of {@code samples} (the mean of the middle two for an even count). */
    public static double median(List<Double> samples) {
        if (samples.isEmpty()) throw new IllegalArgumentException("no samples");
        double[] s = samples.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    /**
     * How many times faster {@code variant} is than {@code vs}: vs's median time over the
     * variant's (above 1: the variant is faster).
     */
    public static double speedup(double variantTime, double vsTime) {
        return vsTime / variantTime;
    }
}
