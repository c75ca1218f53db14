package dev.jgan.eval;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes small ONNX models for the tests, by hand: the protobuf encoding of ModelProto (ONNX's
 * onnx.proto3, IR version 8, opset 13) for one network, Conv -> Relu -> MaxPool 2x2 -> Flatten ->
 * Gemm, with the weights given, so the tests need neither a download nor the onnx package.
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
                .msg(1, node("Conv", new String[] {"images", "conv_w", "conv_b"}, "conv", new Msg[] {
                        ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1), ints("strides", 1, 1)}))
                .msg(1, node("Relu", new String[] {"conv"}, "relu", new Msg[0]))
                .msg(1, node("MaxPool", new String[] {"relu"}, "pool", new Msg[] {ints("kernel_shape", 2, 2), ints("strides", 2, 2)}))
                .msg(1, node("Flatten", new String[] {"pool"}, "flat", new Msg[] {intAttr("axis", 1)}))
                .msg(1, node("Gemm", new String[] {"flat", "gemm_w", "gemm_b"}, "features", new Msg[] {intAttr("transB", 1)}))
                .str(2, "tiny")
                .msg(5, tensor("conv_w", convW, k, c, 3, 3))
                .msg(5, tensor("conv_b", convB, k))
                .msg(5, tensor("gemm_w", gemmW, f, flat))
                .msg(5, tensor("gemm_b", gemmB, f))
                .msg(11, valueInfo("images", batch, c, s, s))
                .msg(12, valueInfo("features", batch, f));
        Msg model = new Msg().varint(1, 8).str(2, "jgan-test").msg(7, graph).msg(8, new Msg().str(1, "").varint(2, 13));
        Files.write(file, model.bytes());
    }

    private static Msg node(String op, String[] inputs, String output, Msg[] attributes) {
        Msg m = new Msg();
        for (String in : inputs) m.str(1, in);
        m.str(2, output).str(3, output + "_node").str(4, op);
        for (Msg a : attributes) m.msg(5, a);
        return m;
    }

    /** AttributeProto of type INTS (7). */
    private static Msg ints(String name, long... values) {
        Msg m = new Msg().str(1, name);
        for (long v : values) m.varint(8, v);
        return m.varint(20, 7);
    }

    /** AttributeProto of type INT (2). */
    private static Msg intAttr(String name, long value) {
        return new Msg().str(1, name).varint(3, value).varint(20, 2);
    }

    /** TensorProto of floats (data type 1) in raw_data, little-endian. */
    private static Msg tensor(String name, float[] data, long... dims) {
        Msg m = new Msg();
        for (long d : dims) m.varint(1, d);
        ByteBuffer raw = ByteBuffer.allocate(4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : data) raw.putFloat(v);
        return m.varint(2, 1).str(8, name).bytes(9, raw.array());
    }

    /** ValueInfoProto of a float tensor; dimension 0 free ("batch") when given as 0. */
    private static Msg valueInfo(String name, long... dims) {
        Msg shape = new Msg();
        for (long d : dims) shape.msg(1, d > 0 ? new Msg().varint(1, d) : new Msg().str(2, "batch"));
        Msg tensorType = new Msg().varint(1, 1).msg(2, shape);
        return new Msg().str(1, name).msg(2, new Msg().msg(1, tensorType));
    }

    /** A protobuf message being written: fields in the order added. */
    private static final class Msg {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Msg varint(int field, long v) {
            tag(field, 0);
            raw(v);
            return this;
        }

        Msg str(int field, String s) { return bytes(field, s.getBytes(StandardCharsets.UTF_8)); }

        Msg msg(int field, Msg m) { return bytes(field, m.bytes()); }

        Msg bytes(int field, byte[] b) {
            tag(field, 2);
            raw(b.length);
            out.writeBytes(b);
            return this;
        }

        private void tag(int field, int wire) { raw(((long) field << 3) | wire); }

        private void raw(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }

        byte[] bytes() { return out.toByteArray(); }
    }
}
