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
 * <p>One object per launch site, reused for every launch (no allocation per launch): {@link #site()}
 * makes one, and each launch rewrites its values in order, {@code args.start().pointer(x).i64(n)},
 * then {@link #build()}. The first launch fixes the layout (kinds, offsets, size) from the calls it
 * makes; every later launch must make the same calls, which is checked argument by argument (a
 * site that passed different kinds would be a bug in {@link Kernels}). The values live in one
 * direct (native) buffer that never moves, so a launcher can prepare per site, once, whatever
 * points into it (the CUDA launcher's kernelParams array). {@link #builder()} makes a one-off
 * argument list the same way (tests, self-tests).
 *
 * <p>{@link #signature()} names the kinds in order, as the emulation library does, so a mismatch
 * with the kernel's C++ parameters is an error there: p pointer, i 32-bit int, l 64-bit int,
 * f float, {size:align} a struct by value.
 *
 * <p>Not thread-safe: a site belongs to one {@link Kernels}, used by one thread at a time.
 */
public final class KernelArgs {
    private static final byte POINTER = 'p', I32 = 'i', I64 = 'l', F32 = 'f', STRUCT = '{';
    /** The values buffer's alignment: at least any argument's (a struct's is at most 16). */
    private static final int BUFFER_ALIGN = 16;

    /** The kernel of a launch site; null for a one-off list. */
    private final String kernel;
    private boolean fixed;
    private byte[] kinds = new byte[16];
    private int[] offsets = new int[16], structBytes = new int[16], aligns = new int[16];
    private int count, size, cursor;
    private String signature;
    /** Little-endian; a heap buffer while the first launch lays the arguments out, then direct. */
    private ByteBuffer values = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);

    private KernelArgs(String kernel) {
        this.kernel = kernel;
    }

    /** The reusable arguments of {@code kernel}'s launch site: laid out by its first launch, rewritten by every launch. */
    public static KernelArgs site(String kernel) { return new KernelArgs(java.util.Objects.requireNonNull(kernel, "kernel")); }

    /** A one-off argument list: append the arguments, then {@link #build()}. */
    public static KernelArgs builder() { return new KernelArgs(null); }

    /** Begins a launch's arguments: the next value written is argument 0. Returns this. */
    public KernelArgs start() {
        cursor = 0;
        if (!fixed) size = 0; // a first launch that failed half-way lays out again
        return this;
    }

    /** A device pointer (CUdeviceptr; a host address in the emulation); 0 is a null pointer. */
    public KernelArgs pointer(long address) {
        int at = slot(POINTER, 8, 8); // first: laying out may replace the buffer
        values.putLong(at, address);
        return this;
    }

    public KernelArgs i32(int v) {
        int at = slot(I32, 4, 4); // first: laying out may replace the buffer
        values.putInt(at, v);
        return this;
    }

    public KernelArgs i64(long v) {
        int at = slot(I64, 8, 8); // first: laying out may replace the buffer
        values.putLong(at, v);
        return this;
    }

    public KernelArgs f32(float v) {
        int at = slot(F32, 4, 4); // first: laying out may replace the buffer
        values.putFloat(at, v);
        return this;
    }

    /** A struct passed by value: its bytes laid out as the C compiler lays them out. */
    public KernelArgs struct(byte[] data, int align) {
        int at = struct(data.length, align);
        for (int i = 0; i < data.length; i++) values.put(at + i, data[i]);
        return this;
    }

    /**
     * A struct of {@code bytes} passed by value, zero-filled here: returns its offset, at which the
     * caller writes its fields with {@link #putInt} and {@link #putLong} (offset + field offset).
     */
    public int struct(int bytes, int align) {
        if (Integer.bitCount(align) != 1 || align > BUFFER_ALIGN)
            throw new IllegalArgumentException("struct alignment must be a power of two up to 16, got " + align);
        int at = slot(STRUCT, bytes, align);
        for (int i = 0; i < bytes; i++) values.put(at + i, (byte) 0);
        return at;
    }

    /** Writes an int at byte {@code at} of the packed arguments (a struct's field). */
    public KernelArgs putInt(int at, int v) {
        values.putInt(at, v);
        return this;
    }

    /** Writes a long at byte {@code at} of the packed arguments (a struct's field). */
    public KernelArgs putLong(int at, long v) {
        values.putLong(at, v);
        return this;
    }

    /**
     * Ends the launch's arguments: the first time, fixes the layout and moves the values into the
     * direct buffer; later, checks that every argument was written. Returns this.
     */
    public KernelArgs build() {
        if (fixed) {
            if (cursor != count)
                throw new IllegalStateException("kernel arguments " + signature + ": " + cursor + " of " + count + " written");
            return this;
        }
        count = cursor;
        StringBuilder sig = new StringBuilder();
        for (int i = 0; i < count; i++) {
            if (kinds[i] == STRUCT) sig.append('{').append(structBytes[i]).append(':').append(aligns[i]).append('}');
            else sig.append((char) kinds[i]);
        }
        signature = sig.toString();
        values = directCopy();
        kinds = Arrays.copyOf(kinds, count);
        offsets = Arrays.copyOf(offsets, count);
        structBytes = Arrays.copyOf(structBytes, count);
        aligns = Arrays.copyOf(aligns, count);
        fixed = true;
        return this;
    }

    /** Whether this is a launch site's reusable arguments (not a one-off list). */
    public boolean isSite() { return kernel != null; }

    /** The kernel of a launch site ({@link #site}); null for a one-off list. */
    public String kernel() { return kernel; }

    /** The packed bytes (a copy). */
    public byte[] bytes() {
        laidOut();
        byte[] out = new byte[size];
        for (int i = 0; i < size; i++) out[i] = values.get(i);
        return out;
    }

    /**
     * The direct buffer of the packed values, {@link #size()} bytes from position 0, at the same
     * native address for the life of this object: launchers point into it. Do not change its
     * position or limit.
     */
    public ByteBuffer values() {
        laidOut();
        return values;
    }

    /** Packed size in bytes. */
    public int size() { return size; }

    /** Number of arguments. */
    public int count() {
        laidOut();
        return count;
    }

    /** Byte offset of argument i. */
    public int offset(int i) {
        laidOut();
        if (i < 0 || i >= count) throw new IndexOutOfBoundsException("argument " + i + " of " + count);
        return offsets[i];
    }

    /** The value of argument i, a 64-bit integer (a launch rule of the kernel lab reads the sizes). */
    public long i64At(int i) {
        return values.getLong(offsetOf(i, I64));
    }

    /** The value of argument i, a 32-bit integer. */
    public int i32At(int i) {
        return values.getInt(offsetOf(i, I32));
    }

    private int offsetOf(int i, byte kind) {
        int at = offset(i);
        if (kinds[i] != kind)
            throw new IllegalArgumentException("argument " + i + " of " + signature + " is '" + (char) kinds[i] + "', not '" + (char) kind + "'");
        return at;
    }

    public String signature() {
        laidOut();
        return signature;
    }

    /** An independent one-off copy of the current values (for records of past launches). */
    public KernelArgs snapshot() {
        laidOut();
        KernelArgs c = new KernelArgs(null);
        c.kinds = kinds;
        c.offsets = offsets;
        c.structBytes = structBytes;
        c.aligns = aligns;
        c.count = count;
        c.size = size;
        c.cursor = count;
        c.signature = signature;
        c.values = directCopy();
        c.fixed = true;
        return c;
    }

    @Override public String toString() {
        if (!fixed) return "KernelArgs(not laid out yet)";
        return "KernelArgs(" + signature + ", " + size + " bytes, offsets " + Arrays.toString(offsets) + ")";
    }

    /** The first {@link #size} bytes of the values in a new direct buffer, aligned to {@value #BUFFER_ALIGN}. */
    private ByteBuffer directCopy() {
        ByteBuffer direct = ByteBuffer.allocateDirect(Math.max(1, size) + BUFFER_ALIGN).alignedSlice(BUFFER_ALIGN)
                .order(ByteOrder.LITTLE_ENDIAN);
        direct.put(0, values, 0, size);
        return direct;
    }

    private void laidOut() {
        if (!fixed) throw new IllegalStateException("kernel arguments not built yet (call build() after the last argument)");
    }

    /** The offset of the next argument, of {@code kind}: checked against the layout, or laid out on the first launch. */
    private int slot(byte kind, int bytes, int align) {
        if (fixed) {
            int i = cursor;
            if (i >= count || kinds[i] != kind || (kind == STRUCT && (structBytes[i] != bytes || aligns[i] != align)))
                throw new IllegalStateException("kernel arguments " + signature + ": argument " + i + " is not "
                        + (kind == STRUCT ? "{" + bytes + ":" + align + "}" : String.valueOf((char) kind)));
            cursor++;
            return offsets[i];
        }
        int at = (size + align - 1) / align * align;
        if (at + bytes > values.capacity()) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(values.capacity() * 2, at + bytes)).order(ByteOrder.LITTLE_ENDIAN);
            bigger.put(0, values, 0, size);
            values = bigger;
        }
        if (cursor == kinds.length) {
            kinds = Arrays.copyOf(kinds, cursor * 2);
            offsets = Arrays.copyOf(offsets, cursor * 2);
            structBytes = Arrays.copyOf(structBytes, cursor * 2);
            aligns = Arrays.copyOf(aligns, cursor * 2);
        }
        kinds[cursor] = kind;
        offsets[cursor] = at;
        structBytes[cursor] = bytes;
        aligns[cursor] = align;
        cursor++;
        size = at + bytes;
        return at;
    }
}
