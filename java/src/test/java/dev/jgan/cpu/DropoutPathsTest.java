package dev.jgan.cpu;

import dev.jgan.testing.TestData;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.jgan.testing.Approx.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Dropout's two mask paths draw the same bits: the vector Philox (used where long vectors have 4+
 * lanes, with the scalar one for the tail) and the scalar one alone (the fallback on SSE/AVX1
 * machines, which this machine would otherwise never run). Sizes around whole vector chunks.
 * Skipped, with the reason, where the vector path is off: forward would then be the scalar path
 * compared with itself.
 */
class DropoutPathsTest {
    @Test
    void vectorAndScalarPathsAgreeBitForBit() {
        assumeTrue(Dropout.VECTOR_PHILOX, "the vector Philox is off here (long vectors of " + Dropout.CHUNK / 4
                + " lanes, it needs 4+): only the scalar path runs, nothing to compare it with");
        int c = Dropout.CHUNK;
        for (int n : new int[] {1, 3, 4, c - 1, c, c + 1, c + 4, 3 * c + 5, 1000 * c + 7}) {
            for (float p : new float[] {0f, 0.3f, 0.5f, 0.999f}) {
                MemorySegment x = segment(TestData.uniform(n, n, -2f, 2f));
                MemorySegment m1 = Arena.ofAuto().allocate(4L * n, 64), y1 = Arena.ofAuto().allocate(4L * n, 64);
                MemorySegment m2 = Arena.ofAuto().allocate(4L * n, 64), y2 = Arena.ofAuto().allocate(4L * n, 64);
                long seed = 0x0123456789abcdefL, offset = (1L << 32) - 2; // the block counter crosses 2^32 inside
                Dropout.forward(x, m1, y1, n, p, seed, offset);
                Dropout.forwardScalar(x, m2, y2, 0, n, p, seed, offset);
                String what = "n=" + n + " p=" + p;
                assertSameBits("mask " + what, floats(m2, n), floats(m1, n));
                assertSameBits("y " + what, floats(y2, n), floats(y1, n));
            }
        }
        assertEquals(0, Dropout.CHUNK % 4, "chunks end on block boundaries");
    }

    static MemorySegment segment(float[] a) {
        MemorySegment s = Arena.ofAuto().allocate(4L * a.length, 64);
        MemorySegment.copy(a, 0, s, ValueLayout.JAVA_FLOAT, 0, a.length);
        return s;
    }

    static float[] floats(MemorySegment s, int n) {
        float[] a = new float[n];
        MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, 0, a, 0, n);
        return a;
    }
}
