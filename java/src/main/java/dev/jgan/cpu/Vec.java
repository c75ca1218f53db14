package dev.jgan.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Vector API plumbing shared by the CPU kernels: the species, loads and stores by float index,
 * and the widening load that reductions use to accumulate in double.
 *
 * <p>Every kernel loop has the same form: a vector body up to {@code loopBound}, then a scalar
 * tail. Indices are float indices (longs); byte offsets are made here and nowhere else.
 */
final class Vec {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int FL = F.length();
    static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** Half a preferred vector of floats: exactly the floats that widen into one D vector. */
    static final VectorSpecies<Float> FH = VectorSpecies.of(float.class, VectorShape.forBitSize(D.vectorBitSize() / 2));
    static final int HL = FH.length();
    static final ByteOrder ORDER = ByteOrder.nativeOrder();
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;

    private Vec() {}

    static FloatVector load(MemorySegment s, long i) {
        return FloatVector.fromMemorySegment(F, s, i << 2, ORDER);
    }

    static void store(FloatVector v, MemorySegment s, long i) {
        v.intoMemorySegment(s, i << 2, ORDER);
    }

    /** HL floats from index i. */
    static FloatVector loadHalf(MemorySegment s, long i) {
        return FloatVector.fromMemorySegment(FH, s, i << 2, ORDER);
    }

    /** HL floats from index i, widened to double. */
    static DoubleVector loadWide(MemorySegment s, long i) {
        return widen(loadHalf(s, i));
    }

    static DoubleVector widen(FloatVector half) {
        return (DoubleVector) half.convertShape(VectorOperators.F2D, D, 0);
    }

    /** Rounds a D vector to HL floats. */
    static FloatVector narrow(DoubleVector v) {
        return (FloatVector) v.convertShape(VectorOperators.D2F, FH, 0);
    }

    static float get(MemorySegment s, long i) {
        return s.getAtIndex(FLOAT, i);
    }

    static void set(MemorySegment s, long i, float v) {
        s.setAtIndex(FLOAT, i, v);
    }

    /** Sum of s[off, off + len) accumulated in double. */
    static double sum(MemorySegment s, long off, long len) {
        DoubleVector acc = DoubleVector.zero(D);
        long i = 0;
        for (long bound = FH.loopBound(len); i < bound; i += HL) acc = acc.add(loadWide(s, off + i));
        double sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < len; i++) sum += get(s, off + i);
        return sum;
    }

    /** Sum of (s[i] - mean)^2 over [off, off + len), in double: the second pass of a two-pass variance. */
    static double sumSquaredDeviations(MemorySegment s, long off, long len, double mean) {
        DoubleVector acc = DoubleVector.zero(D);
        long i = 0;
        for (long bound = FH.loopBound(len); i < bound; i += HL) {
            DoubleVector d = loadWide(s, off + i).sub(mean);
            acc = d.fma(d, acc);
        }
        double sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < len; i++) {
            double d = get(s, off + i) - mean;
            sum += d * d;
        }
        return sum;
    }
}
