package dev.jgan.nn;

import dev.jgan.backend.Backend;
import dev.jgan.gan.Preset;
import dev.jgan.gan.Presets;
import dev.jgan.nn.Activation.LeakyReLU;
import dev.jgan.nn.Activation.ReLU;
import dev.jgan.nn.Activation.Sigmoid;
import dev.jgan.nn.Activation.Tanh;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestClasses;
import dev.jgan.testing.TestData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static dev.jgan.testing.Approx.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sequential's shared gradient buffers (see {@link Sequential#build}): a built network holds two
 * buffers of its largest dx, every layer's dx is a view of one of them and consecutive ones are in
 * different buffers; and a network computes bit for bit what the same network computes with a dx
 * of its own per layer (the build before sharing), through a whole GAN step's backward passes.
 */
class SharedGradientsTest {
    /** dcgan-64's memory is checked at batch 8 (building is all it does). */
    private static final int MEMORY_BATCH = 8;
    /** The bit-for-bit runs: more than 1 so batch norm has a batch to normalise over. */
    private static final int STEP_BATCH = 2;

    static Stream<Arguments> backends() {
        return TestBackends.all().map(Arguments::of);
    }

    /**
     * The CPU backend only: the sharing is nn's, the same over every backend; what a backend could
     * add (a kernel that reads its dx before writing it, or past its view) the layer zoo checks on
     * every backend, at a small fraction of the emulated GPU's time for dcgan-64.
     */
    static Stream<Arguments> presetsOnCpu() {
        return Presets.all().keySet().stream().map(p -> Arguments.of(TestBackends.cpu(), p));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void dcgan64HoldsTwoBuffersOfItsLargestDx(Backend b) {
        Preset p = Presets.get("dcgan-64");
        // G's largest dx is BatchNorm(64)'s and its ConvTranspose2d's input, (N, 64, 32, 32); D's the
        // input of the LeakyReLU after the first convolution and of the second convolution: the same size
        long largest = (long) MEMORY_BATCH * 64 * 32 * 32;
        for (Sequential s : List.of(generator(b, p, MEMORY_BATCH, true), discriminator(b, p, MEMORY_BATCH, true))) {
            assertEquals(List.of(largest, largest), s.gradientBuffers().stream().map(Tensor::size).toList(), s.prefix());
            long ownDx = 0;
            int previous = -1;
            for (int i = s.layers().size() - 1; i >= 0; i--) {
                Layer l = s.layers().get(i);
                if (!l.writesDx()) {
                    assertNull(l.dx, s.prefix() + "." + i + " " + l + " passes dy through and holds no dx");
                    continue;
                }
                ownDx += l.inShape().size();
                assertEquals(l.inShape(), l.dx.shape());
                int buffer = bufferOf(s, l.dx);
                assertTrue(buffer >= 0, s.prefix() + "." + i + " " + l + ": its dx is not in a shared buffer");
                assertNotEquals(previous, buffer, s.prefix() + "." + i + " " + l + ": dx in the buffer that holds its dy");
                previous = buffer;
            }
            // what sharing saves: a dx per layer was well over twice the largest (dcgan-64: about 4 times)
            assertTrue(ownDx > 3 * largest, s.prefix() + ": own dx " + ownDx + " floats against 2 x " + largest);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void aLayerBuiltAloneHasItsOwnDx(Backend b) {
        Dense d = new Dense(3, 5);
        d.build(b, Shape.of(4, 3), Init.DCGAN_NORMAL, new RngStream(1, 0));
        assertEquals(Shape.of(4, 3), d.dx.shape());
        Sequential s = new Sequential("r", List.of(new Reshape(3), new Flatten())).build(b, Shape.of(4, 3), Init.DCGAN_NORMAL,
                new RngStream(1, 0));
        assertEquals(List.of(), s.gradientBuffers(), "no layer writes a dx: no buffers");
    }

    /**
     * G and D through the backward passes of {@link dev.jgan.gan.GanTrainer}'s step (D on real with
     * WRITE, on fake with ACCUMULATE, then with SKIP down to its input gradient, which G's backward
     * reads; D's later passes meet the earlier ones' gradients in the buffers): every gradient and
     * D's input gradient have the bits of the build without sharing.
     */
    @ParameterizedTest(name = "{1} on {0}")
    @MethodSource("presetsOnCpu")
    void aGanStepsBackwardPassesGiveTheBitsOfOwnBuffers(Backend b, String name) {
        Preset p = Presets.get(name);
        Sequential g = generator(b, p, STEP_BATCH, true), d = discriminator(b, p, STEP_BATCH, true);
        Sequential gOwn = generator(b, p, STEP_BATCH, false), dOwn = discriminator(b, p, STEP_BATCH, false);
        Tensor z = b.fromHost(TestData.normal(1, g.inShape().intSize(), 0, 1), g.inShape());
        Tensor real = b.fromHost(TestData.uniform(2, d.inShape().intSize(), -1f, 1f), d.inShape());
        Tensor dLogits = b.fromHost(TestData.uniform(3, d.outShape().intSize(), -0.5f, 0.5f), d.outShape());
        RngStream noise = new RngStream(4, 0), noiseOwn = new RngStream(4, 0);   // dropout draws the same masks in both
        g.setNoise(noise);
        d.setNoise(noise);
        gOwn.setNoise(noiseOwn);
        dOwn.setNoise(noiseOwn);
        float[] dFake = ganBackward(g, d, z, real, dLogits), dFakeOwn = ganBackward(gOwn, dOwn, z, real, dLogits);
        assertSameBits(name + ": D's input gradient", dFakeOwn, dFake);
        assertSameGradients(name, gOwn, g);
        assertSameGradients(name, dOwn, d);
    }

    /**
     * Every kind of layer, with pass-through ones in a row (dropout 0 then a reshape) and dropout's
     * backward after an inference forward (it then copies dy): the same bits as with own buffers.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void everyLayerKindGivesTheBitsOfOwnBuffers(Backend b) {
        Shape in = Shape.of(3, 20);
        Sequential shared = zoo(b, in, true), own = zoo(b, in, false);
        shared.setNoise(new RngStream(7, 0));
        own.setNoise(new RngStream(7, 0));
        Tensor x = b.fromHost(TestData.normal(5, in.intSize(), 0, 1), in);
        Tensor dy = b.fromHost(TestData.uniform(6, shared.outShape().intSize(), -1f, 1f), shared.outShape());
        for (boolean training : new boolean[] {true, false}) {
            shared.forward(x, training);
            own.forward(x, training);
            String what = training ? "after a training forward" : "after an inference forward";
            assertSameBits("dx " + what, own.backward(dy, GradMode.WRITE, true).toHost(),
                    shared.backward(dy, GradMode.WRITE, true).toHost());
            assertSameGradients(what, own, shared);
        }
    }

    private static Sequential zoo(Backend b, Shape in, boolean shareDx) {
        List<Layer> layers = List.of(new Dense(20, 32), new Dropout(0.3f), new LeakyReLU(0.2f), new Dropout(0f),
                new Reshape(2, 4, 4), new ConvTranspose2d(2, 4, 4, 2, 1, 0, false), new Tanh(),         // (N, 4, 8, 8)
                new Conv2d(4, 3, 3, 2, 1, true), new BatchNorm(3, 0.1f, 1e-5f), new ReLU(),            // (N, 3, 4, 4)
                new MaxPool2d(), new Flatten(), new Dense(12, 2), new Sigmoid());
        return new Sequential("zoo", layers).build(b, in, Init.GLOROT_UNIFORM, new RngStream(8, 0), shareDx);
    }

    /** D's input gradient of the step's last D backward, copied before G's backward. */
    private static float[] ganBackward(Sequential g, Sequential d, Tensor z, Tensor real, Tensor dLogits) {
        Tensor fake = g.forward(z, true);
        d.forward(real, true);
        d.backward(dLogits, GradMode.WRITE, false);
        d.forward(fake, true);
        d.backward(dLogits, GradMode.ACCUMULATE, false);
        d.forward(fake, true);
        Tensor dFake = d.backward(dLogits, GradMode.SKIP, true);
        float[] host = dFake.toHost();
        g.backward(dFake, GradMode.WRITE, false);
        return host;
    }

    private static void assertSameGradients(String what, Sequential expected, Sequential actual) {
        for (int i = 0; i < expected.parameters().size(); i++) {
            Parameter e = expected.parameters().get(i), a = actual.parameters().get(i);
            assertSameBits(what + ": " + a.name() + " grad", e.grad().toHost(), a.grad().toHost());
        }
    }

    private static int bufferOf(Sequential s, Tensor dx) {
        for (int k = 0; k < s.gradientBuffers().size(); k++) if (s.gradientBuffers().get(k).sameStorage(dx)) return k;
        return -1;
    }

    private static Sequential generator(Backend b, Preset p, int batch, boolean shareDx) {
        return TestClasses.give(b, new Sequential("g", p.generator().get()).build(b, Shape.of(batch, p.zDim()), p.init(), new RngStream(9, 0), shareDx));
    }

    private static Sequential discriminator(Backend b, Preset p, int batch, boolean shareDx) {
        return TestClasses.give(b, new Sequential("d", p.discriminator().get()).build(b, p.item().batched(batch), p.init(), new RngStream(10, 0), shareDx));
    }
}
