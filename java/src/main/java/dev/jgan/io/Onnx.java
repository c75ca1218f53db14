package dev.jgan.io;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Writes ONNX models without the onnx package: the protobuf encoding of onnx.proto3's messages
 * (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto), field by
 * field, for the few each model needs. Field numbers are onnx.proto3's.
 */
public final class Onnx {
    /** TensorProto data types. */
    public static final int FLOAT = 1, INT64 = 7;
    /** The IR version and default-domain opset the models declare. */
    public static final int IR_VERSION = 8, OPSET = 13;

    private Onnx() {}

    /** A ModelProto of {@code graph}, IR {@link #IR_VERSION}, opset {@link #OPSET}, produced by {@code producer}. */
    public static byte[] model(String producer, Msg graph) {
        return new Msg().varint(1, IR_VERSION).str(2, producer).msg(7, graph).msg(8, new Msg().str(1, "").varint(2, OPSET)).bytes();
    }

    /** A NodeProto: {@code op} from {@code inputs} to {@code output}, named after its output. */
    public static Msg node(String op, String[] inputs, String output, Msg... attributes) {
        Msg m = new Msg();
        for (String in : inputs) m.str(1, in);
        m.str(2, output).str(3, output + "_node").str(4, op);
        for (Msg a : attributes) m.msg(5, a);
        return m;
    }

    /** AttributeProto of type INTS (7). */
    public static Msg ints(String name, long... values) {
        Msg m = new Msg().str(1, name);
        for (long v : values) m.varint(8, v);
        return m.varint(20, 7);
    }

    /** AttributeProto of type INT (2). */
    public static Msg intAttr(String name, long value) {
        return new Msg().str(1, name).varint(3, value).varint(20, 2);
    }

    /** AttributeProto of type FLOAT (1). */
    public static Msg floatAttr(String name, float value) {
        return new Msg().str(1, name).fixed32(2, Float.floatToRawIntBits(value)).varint(20, 1);
    }

    /** TensorProto of floats in raw_data, little-endian. */
    public static Msg tensor(String name, float[] data, long... dims) {
        Msg m = new Msg();
        for (long d : dims) m.varint(1, d);
        ByteBuffer raw = ByteBuffer.allocate(4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : data) raw.putFloat(v);
        return m.varint(2, FLOAT).str(8, name).bytes(9, raw.array());
    }

    /** TensorProto of int64s in raw_data, little-endian, one dimension. */
    public static Msg longs(String name, long... data) {
        ByteBuffer raw = ByteBuffer.allocate(8 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : data) raw.putLong(v);
        return new Msg().varint(1, data.length).varint(2, INT64).str(8, name).bytes(9, raw.array());
    }

    /** ValueInfoProto of a tensor of {@code type}; a dimension given as 0 is free ("batch"). */
    public static Msg valueInfo(String name, int type, long... dims) {
        Msg shape = new Msg();
        for (long d : dims) shape.msg(1, d > 0 ? new Msg().varint(1, d) : new Msg().str(2, "batch"));
        Msg tensorType = new Msg().varint(1, type).msg(2, shape);
        return new Msg().str(1, name).msg(2, new Msg().msg(1, tensorType));
    }

    /** A protobuf message being written: fields in the order added. */
    public static final class Msg {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        public Msg varint(int field, long v) {
            tag(field, 0);
            raw(v);
            return this;
        }

        public Msg fixed32(int field, int v) {
            tag(field, 5);
            for (int i = 0; i < 4; i++) out.write((v >>> (8 * i)) & 0xFF);
            return this;
        }

        public Msg str(int field, String s) { return bytes(field, s.getBytes(StandardCharsets.UTF_8)); }

        public Msg msg(int field, Msg m) { return bytes(field, m.bytes()); }

        public Msg bytes(int field, byte[] b) {
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

        public byte[] bytes() { return out.toByteArray(); }
    }
}
