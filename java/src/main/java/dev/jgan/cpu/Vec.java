package dev.jgan.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Vector API conventions shared by the CPU kernels.
 *
 * <p>Every kernel loop has the same form: a vector body up to {@code loopBound}, then a scalar
 * tail. Indices are float indices (longs) and {@code i << 2} is the byte offset.
 *
 * <p>Each op is one method that holds all of its loops and calls the Vector API directly: no
 * method of ours takes or returns a vector, and vector code does not call other vector code of
 * ours. The JDK's vector methods are force-inlined, ours are not; a vector that crosses a call
 * C2 did not inline is boxed on the heap, and C2 was seen (JDK 25) to fall back to the
 * allocating Java implementation of loads and stores in a small vector helper that it did
 * inline into another kernel's loop. Either way the op allocates on every call and runs many
 * times slower, so CpuBackendTest checks that warm ops allocate nothing.
 *
 * <p>Public for the kernel lab's CPU variants (dev.jgan.lab.cpu), which follow the same conventions.
 */
public final class Vec {
    public static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    public static final int FL = F.length();
    public static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** Half a preferred vector of floats: exactly the floats that widen (F2D) into one D vector. */
    public static final VectorSpecies<Float> FH = VectorSpecies.of(float.class, VectorShape.forBitSize(D.vectorBitSize() / 2));
    public static final int HL = FH.length();
    public static final ByteOrder ORDER = ByteOrder.nativeOrder();
    public static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;

    private Vec() {}

    public static float get(MemorySegment s, long i) {
        return s.getAtIndex(FLOAT, i);
    }

    public static void set(MemorySegment s, long i, float v) {
        s.setAtIndex(FLOAT, i, v);
    }
}
