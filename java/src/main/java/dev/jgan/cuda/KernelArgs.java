package dev.jgan.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A kernel's arguments packed as the device reads them: each at the next offset aligned to its
 * natural alignment (pointers and 64-bit integers 8, int and float 4, a struct its own alignment),
 * in declaration order, little-endian. Both launchers hand over these same bytes: the emulation
 * library unpacks them by the kernel's C++ signature, the CUDA launcher points cuLaunchKernel's
 * kernelParams at each argument's offset.
 *
 * <p>{@link #signature()} names the kinds in order, as the emulation library does, so a mismatch
 * with the kernel's C++ parameters is an error there: p pointer, i 32-bit int, l 64-bit int,
 * f float, {size:align} a struct by value.
 */
public final class KernelArgs {
    private final byte[] bytes;
    private final int[] offsets;
    private final String signature;

    private KernelArgs(byte[] bytes, int[] offsets, String signature) {
        this.bytes = bytes;
        this.offsets = offsets;
        this.signature = signature;
    }

    public static Builder builder() { return new Builder(); }

    /** The packed bytes (a copy). */
    public byte[] bytes() { return bytes.clone(); }

    /** Packed size in bytes. */
    public int size() { return bytes.length; }

    /** Number of arguments. */
    public int count() { return offsets.length; }

    /** Byte offset of argument i. */
    public int offset(int i) { return offsets[i]; }

    public String signature() { return signature; }

    /** Copies the packed bytes into dst at its position (little-endian, as packed). */
    public void copyTo(ByteBuffer dst) { dst.put(bytes); }

    @Override public String toString() {
        return "KernelArgs(" + signature + ", " + bytes.length + " bytes, offsets " + Arrays.toString(offsets) + ")";
    }

    /** Appends arguments in the kernel's parameter order. */
    public static final class Builder {
        private ByteBuffer buf = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
        private int[] offsets = new int[16];
        private int count;
        private final StringBuilder signature = new StringBuilder();

        private Builder() {}

        /** A device pointer (CUdeviceptr; a host address in the emulation); 0 is a null pointer. */
        public Builder pointer(long address) {
            at(8, 8, "p").putLong(address);
            return this;
        }

        public Builder i32(int v) {
            at(4, 4, "i").putInt(v);
            return this;
        }

        public Builder i64(long v) {
            at(8, 8, "l").putLong(v);
            return this;
        }

        public Builder f32(float v) {
            at(4, 4, "f").putFloat(v);
            return this;
        }

        /** A struct passed by value: its bytes laid out as the C compiler lays them out. */
        public Builder struct(byte[] data, int align) {
            if (Integer.bitCount(align) != 1 || align > 16)
                throw new IllegalArgumentException("struct alignment must be a power of two up to 16, got " + align);
            at(data.length, align, "{" + data.length + ":" + align + "}").put(data);
            return this;
        }

        public KernelArgs build() {
            byte[] out = Arrays.copyOf(buf.array(), buf.position());
            return new KernelArgs(out, Arrays.copyOf(offsets, count), signature.toString());
        }

        private ByteBuffer at(int size, int align, String kind) {
            int offset = (buf.position() + align - 1) / align * align;
            if (offset + size > buf.capacity()) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, offset + size)).order(ByteOrder.LITTLE_ENDIAN);
                bigger.put(buf.array(), 0, buf.position());
                buf = bigger;
            }
            buf.position(offset);
            if (count == offsets.length) offsets = Arrays.copyOf(offsets, count * 2);
            offsets[count++] = offset;
            signature.append(kind);
            return buf;
        }
    }
}
