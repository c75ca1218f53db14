package dev.jgan.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jgan.bench.ops.ConvShape;
import dev.jgan.bench.ops.GemmShape;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * Prints a JMH JSON result (written with {@code -rf json -rff FILE}) as a table, with GFLOP/s for
 * the GEMM and convolution benchmarks. The FLOP counts come from {@link GemmShape} and
 * {@link ConvShape}, the same enums the benchmarks take their sizes from.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar dev.jgan.bench.Flops jmh-ops.json}
 */
public final class Flops {
    private Flops() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: java -cp benchmarks/target/benchmarks.jar dev.jgan.bench.Flops JMH_RESULT.json");
            System.exit(2);
        }
        JsonNode results = new ObjectMapper().readTree(new File(args[0]));
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"benchmark", "params", "time", "+-", "unit", "GFLOP/s"});
        for (JsonNode r : results) {
            String benchmark = r.path("benchmark").asText();
            String[] parts = benchmark.split("\\.");
            String name = parts.length >= 2 ? parts[parts.length - 2] + "." + parts[parts.length - 1] : benchmark;
            StringBuilder params = new StringBuilder();
            for (Map.Entry<String, JsonNode> p : r.path("params").properties()) {
                if (!params.isEmpty()) params.append(' ');
                params.append(p.getKey()).append('=').append(p.getValue().asText());
            }
            JsonNode metric = r.path("primaryMetric");
            double score = metric.path("score").asDouble(), error = metric.path("scoreError").asDouble();
            String unit = metric.path("scoreUnit").asText();
            OptionalDouble flops = flops(name, r.path("params"));
            double seconds = score * secondsPer(unit);
            String gflops = flops.isPresent() && seconds > 0 ? String.format("%.1f", flops.getAsDouble() / seconds / 1e9) : "";
            rows.add(new String[] {name, params.toString(), String.format("%.3f", score),
                    Double.isNaN(error) ? "" : String.format("%.3f", error), unit, gflops});
        }
        int[] widths = new int[rows.getFirst().length];
        for (String[] row : rows)
            for (int i = 0; i < row.length; i++) widths[i] = Math.max(widths[i], row[i].length());
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                boolean number = i >= 2 && i != 4;   // right-align the numbers
                String cell = number ? " ".repeat(widths[i] - row[i].length()) + row[i]
                        : row[i] + " ".repeat(widths[i] - row[i].length());
                line.append(i == 0 ? "" : "  ").append(cell);
            }
            System.out.println(line.toString().stripTrailing());
        }
    }

    /** FLOPs of one call of a GEMM or convolution benchmark; empty for the others. */
    static OptionalDouble flops(String benchmark, JsonNode params) {
        String shape = params.path("shape").asText();
        if (benchmark.startsWith("GemmBenchmark.")) return OptionalDouble.of(GemmShape.valueOf(shape).flops());
        if (benchmark.startsWith("ConvBenchmark.")) return OptionalDouble.of(ConvShape.valueOf(shape).flops());
        return OptionalDouble.empty();
    }

    /** Seconds per op of one JMH time unit ("us/op"); NaN for throughput units. */
    static double secondsPer(String unit) {
        return switch (unit) {
            case "ns/op" -> 1e-9;
            case "us/op" -> 1e-6;
            case "ms/op" -> 1e-3;
            case "s/op" -> 1;
            default -> Double.NaN;
        };
    }
}
