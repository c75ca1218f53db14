package dev.jgan.eval;

import dev.jgan.io.Onnx;
import dev.jgan.io.Onnx.Msg;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.jgan.io.Onnx.intAttr;
import static dev.jgan.io.Onnx.ints;
import static dev.jgan.io.Onnx.node;
import static dev.jgan.io.Onnx.tensor;
import static dev.jgan.io.Onnx.valueInfo;

/**
 * Writes small ONNX models for the tests ({@link Onnx}'s protobuf encoding, IR version 8, opset
 * 13): one network, Conv -> Relu -> MaxPool 2x2 -> Flatten -> Gemm, with the weights given, so the
 * tests need neither a download nor the onnx package.
 */
public final class TinyOnnx {
    private TinyOnnx() {}

    /**
     * Conv (K, C, 3, 3) with bias, pad 1, stride 1; Relu; MaxPool 2x2 stride 2; Flatten; Gemm to F
     * features (weight (F, K (S/2)^2), transB, bias). Input "images" (batch, C, S, S), batch free
     * when {@code batch} is 0; output "features" (batch, F).
     */
    public static void write(Path file, int batch, int c, int s, float[] convW, float[] convB, int k, float[] gemmW, float[] gemmB, int f)
            throws IOException {
        int flat = k * (s / 2) * (s / 2);
        Msg graph = new Msg()
                .msg(1, node("Conv", new String[] {"images", "conv_w", "conv_b"}, "conv",
                        ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1), ints("strides", 1, 1)))
                .msg(1, node("Relu", new String[] {"conv"}, "relu"))
                .msg(1, node("MaxPool", new String[] {"relu"}, "pool", ints("kernel_shape", 2, 2), ints("strides", 2, 2)))
                .msg(1, node("Flatten", new String[] {"pool"}, "flat", intAttr("axis", 1)))
                .msg(1, node("Gemm", new String[] {"flat", "gemm_w", "gemm_b"}, "features", intAttr("transB", 1)))
                .str(2, "tiny")
                .msg(5, tensor("conv_w", convW, k, c, 3, 3))
                .msg(5, tensor("conv_b", convB, k))
                .msg(5, tensor("gemm_w", gemmW, f, flat))
                .msg(5, tensor("gemm_b", gemmB, f))
                .msg(11, valueInfo("images", Onnx.FLOAT, batch, c, s, s))
                .msg(12, valueInfo("features", Onnx.FLOAT, batch, f));
        Files.write(file, Onnx.model("jgan-test", graph));
    }
}
