package dev.jgan.gan;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.io.AtomicFiles;
import dev.jgan.io.Onnx;
import dev.jgan.io.Onnx.Msg;
import dev.jgan.io.Safetensors.TensorData;
import dev.jgan.nn.Layer;
import dev.jgan.tensor.Shape;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.jgan.io.Onnx.floatAttr;
import static dev.jgan.io.Onnx.intAttr;
import static dev.jgan.io.Onnx.ints;
import static dev.jgan.io.Onnx.longs;
import static dev.jgan.io.Onnx.node;

/**
 * A checkpoint's generator as an ONNX model ({@code gan export --format onnx}):
 * {@code generator.onnx}, opset {@value Onnx#OPSET}, input "z" (batch, zDim) float32 and, for a
 * conditional model, "labels" (batch) int64; output "images" (batch, C, H, W) in [-1, 1]. The
 * layers, in order, as ONNX operators: Gemm, Conv, ConvTranspose, BatchNormalization (inference:
 * the statistics gan sample computes with), Gather and Add for the class embedding, LeakyRelu,
 * Relu, Tanh, Sigmoid, Reshape, Flatten, MaxPool; dropout is the identity at inference.
 */
public final class OnnxExport {
    public static final String MODEL = "generator.onnx";

    private OnnxExport() {}

    /** Writes {@value #MODEL} into folder {@code out} (made if missing), atomically; returns what it wrote, in words. */
    public static String write(Backend b, Checkpoints.Loaded ck, Path out, boolean ema) {
        Preset p = ck.config().model();
        List<Layer> layers = p.generator().get();
        boolean fromEma = ema && ck.hasEma();
        Map<String, TensorData> tensors = TorchExport.generatorTensors(b, ck, fromEma);
        for (int i = 0; i < layers.size(); i++) {
            Map<String, Object> s = layers.get(i).spec();
            if (Boolean.TRUE.equals(s.get("spectral"))) {   // inference computes with w / sigma: the model holds that weight
                String w = "g." + i + ".weight";
                tensors.put(w, spectrallyNormalised(tensors.get(w), tensors.remove(w + "_u").data(), tensors.remove(w + "_v").data(),
                        "ConvTranspose2d".equals(s.get("type")) ? 1 : 0));
            }
        }
        boolean conditional = p.conditional();

        Msg graph = new Msg();
        List<Msg> constants = new ArrayList<>();
        String x = "z";
        Shape shape = Shape.of(1, p.zDim());
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            Map<String, Object> s = l.spec();
            String y = "g" + i, w = "g." + i + ".weight", bias = "g." + i + ".bias";
            boolean hasBias = tensors.containsKey(bias);
            switch ((String) s.get("type")) {
                case "Dense" -> graph.msg(1, node("Gemm", hasBias ? new String[] {x, w, bias} : new String[] {x, w}, y, intAttr("transB", 1)));
                case "Conv2d" -> graph.msg(1, node("Conv", hasBias ? new String[] {x, w, bias} : new String[] {x, w}, y, conv(s)));
                case "ConvTranspose2d" -> {
                    Msg[] a = conv(s);
                    int op = (Integer) s.get("outputPadding");
                    graph.msg(1, node("ConvTranspose", hasBias ? new String[] {x, w, bias} : new String[] {x, w}, y,
                            a[0], a[1], a[2], ints("output_padding", op, op)));
                }
                case "BatchNorm" -> graph.msg(1, node("BatchNormalization",
                        new String[] {x, w, bias, "g." + i + ".running_mean", "g." + i + ".running_var"}, y, floatAttr("epsilon", (Float) s.get("eps"))));
                case "ClassEmbedding" -> {
                    graph.msg(1, node("Gather", new String[] {w, "labels"}, y + "_e", intAttr("axis", 0)));
                    String e = y + "_e";
                    if (shape.rank() == 4) {
                        constants.add(longs(y + "_axes", 2, 3));
                        graph.msg(1, node("Unsqueeze", new String[] {e, y + "_axes"}, y + "_u"));
                        e = y + "_u";
                    }
                    graph.msg(1, node("Add", new String[] {x, e}, y));
                }
                case "Dropout" -> graph.msg(1, node("Identity", new String[] {x}, y));
                case "Reshape" -> {
                    List<?> item = (List<?>) s.get("item");
                    long[] dims = new long[item.size() + 1];
                    dims[0] = -1;
                    for (int k = 0; k < item.size(); k++) dims[k + 1] = ((Number) item.get(k)).longValue();
                    constants.add(longs(y + "_shape", dims));
                    graph.msg(1, node("Reshape", new String[] {x, y + "_shape"}, y));
                }
                case "Flatten" -> graph.msg(1, node("Flatten", new String[] {x}, y, intAttr("axis", 1)));
                case "MaxPool2d" -> graph.msg(1, node("MaxPool", new String[] {x}, y, ints("kernel_shape", 2, 2), ints("strides", 2, 2)));
                case "LeakyReLU" -> graph.msg(1, node("LeakyRelu", new String[] {x}, y, floatAttr("alpha", (Float) s.get("slope"))));
                case "ReLU" -> graph.msg(1, node("Relu", new String[] {x}, y));
                case "Tanh" -> graph.msg(1, node("Tanh", new String[] {x}, y));
                case "Sigmoid" -> graph.msg(1, node("Sigmoid", new String[] {x}, y));
                default -> throw new UserError("export: a " + s.get("type") + " layer in G, which the export does not write");
            }
            x = y;
            shape = l.outputShape(shape);
        }
        graph.msg(1, node("Identity", new String[] {x}, "images"));
        graph.str(2, "jgan_" + p.name().replace('-', '_') + "_generator");
        for (var e : tensors.entrySet()) {
            int[] d = e.getValue().shape();
            long[] dims = new long[d.length];
            for (int k = 0; k < d.length; k++) dims[k] = d[k];
            graph.msg(5, Onnx.tensor(e.getKey(), e.getValue().data(), dims));
        }
        for (Msg c : constants) graph.msg(5, c);
        graph.msg(11, Onnx.valueInfo("z", Onnx.FLOAT, 0, p.zDim()));
        if (conditional) graph.msg(11, Onnx.valueInfo("labels", Onnx.INT64, 0));
        int[] item = p.item().dims();
        long[] outDims = new long[item.length + 1];
        for (int k = 0; k < item.length; k++) outDims[k + 1] = item[k];
        graph.msg(12, Onnx.valueInfo("images", Onnx.FLOAT, outDims));
        byte[] model = Onnx.model("jgan", graph);
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new UserError("cannot write to " + out + ": " + e.getMessage());
        }
        AtomicFiles.write(out.resolve(MODEL), os -> os.write(model));
        return tensors.size() + " tensors of " + p.name() + "'s " + (fromEma ? "EMA " : "") + "generator at step " + ck.step()
                + " (" + layers.size() + " layers, opset " + Onnx.OPSET + ")";
    }

    /**
     * w / sigma with sigma = u . M v, M the weight as a matrix whose rows are its dimension
     * {@code dim} (as the inference forward of jgan's spectral norm and of PyTorch's in eval mode:
     * no power iteration), in double.
     */
    static TensorData spectrallyNormalised(TensorData weight, float[] u, float[] v, int dim) {
        int[] s = weight.shape();
        int rows = s[dim], outer = dim == 0 ? 1 : s[0];
        int inner = Math.toIntExact(weight.data().length / ((long) rows * outer));
        float[] w = weight.data();
        double sigma = 0;
        for (int r = 0; r < rows; r++) {
            double mv = 0;
            for (int o = 0; o < outer; o++)
                for (int j = 0; j < inner; j++) mv += (double) w[(o * rows + r) * inner + j] * v[o * inner + j];
            sigma += u[r] * mv;
        }
        float[] out = new float[w.length];
        for (int i = 0; i < w.length; i++) out[i] = (float) (w[i] / sigma);
        return new TensorData(s, out);
    }

    /** kernel_shape, strides and pads of a convolution's spec. */
    private static Msg[] conv(Map<String, Object> s) {
        int k = (Integer) s.get("kernel"), st = (Integer) s.get("stride"), pad = (Integer) s.get("pad");
        return new Msg[] {ints("kernel_shape", k, k), ints("strides", st, st), ints("pads", pad, pad, pad, pad)};
    }
}
