package dev.jgan.backend;

import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;
import dev.jgan.testing.TestBackends;
import dev.jgan.testing.TestData;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OpProfileTest {
    @Test
    void timesEachOpAndShapeWithoutChangingResults() {
        Backend cpu = TestBackends.cpu();
        OpProfile prof = new OpProfile();
        Backend timed = prof.wrap(cpu);
        Shape s = Shape.of(3, 5);
        float[] x = TestData.uniform(1, 15, -1f, 1f);
        Tensor a = timed.fromHost(x, s), y = timed.allocate(s);
        prof.recording(false);
        timed.tanh(a, y); // not recorded
        prof.recording(true);
        timed.leakyRelu(a, y, 0.2f);
        timed.leakyRelu(a, y, 0.2f);
        float[] viaProfile = y.toHost();
        Tensor z = cpu.allocate(s);
        cpu.leakyRelu(cpu.fromHost(x, s), z, 0.2f);
        assertArrayEquals(z.toHost(), viaProfile, "the wrapper only times; results are the backend's");

        String table = prof.table(2);
        assertTrue(table.contains("   1.0  leakyRelu (3,5) (3,5)"), "two calls over two steps read as 1 per step:\n" + table);
        assertTrue(!table.contains("tanh"), "calls while not recording are left out:\n" + table);
        assertTrue(table.contains("copyFromHost (3,5)"), "fromHost (a default method) is timed through the calls it makes:\n" + table);
    }
}
