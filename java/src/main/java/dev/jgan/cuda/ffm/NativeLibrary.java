package dev.jgan.cuda.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Optional;

/**
 * One NVIDIA library opened through java.lang.foreign, and the one way its functions are called.
 *
 * <p>How a function is bound: its downcall handle is made from the C signature alone
 * ({@link #downcall}, no address), so it can be a {@code static final} field of the binding class
 * (a constant the JIT inlines through), and the function's address, found in whichever library
 * was opened (libcublas.so.12 or .13, a soname or an absolute path), is its first argument. The
 * Linker shares the stub of equal signatures, so a handle per function costs nothing extra.
 *
 * <p>Device pointers (CUdeviceptr, and cuBLAS's and cuDNN's {@code void*} device operands) are
 * passed as {@code JAVA_LONG}: CUdeviceptr is an unsigned long long, and on the LP64 platforms jgan
 * runs on (x86-64 and AArch64 Linux) a pointer argument travels in the same 64-bit integer register
 * as a long, so jgan's {@code long} addresses need no MemorySegment per call.
 *
 * <p>Libraries are opened in the global arena: like the JNI bindings' System.load, they stay
 * loaded for the JVM's life (unloading libcuda while the driver's threads run is not safe).
 */
final class NativeLibrary {
    static final Linker LINKER = Linker.nativeLinker();

    private final String name;
    private final String install;
    private final SymbolLookup lookup;

    private NativeLibrary(String name, String install, SymbolLookup lookup) {
        this.name = name;
        this.install = install;
        this.lookup = lookup;
    }

    /**
     * Opens {@code location} (a soname the dynamic linker searches for, or an absolute path); fails
     * with one line naming it and {@code install}, what to install when it is missing.
     */
    static NativeLibrary open(String location, String install) {
        try {
            SymbolLookup lookup = location.contains("/")
                    ? SymbolLookup.libraryLookup(Path.of(location), Arena.global())
                    : SymbolLookup.libraryLookup(location, Arena.global());
            return new NativeLibrary(location, install, lookup);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("ffm: " + location + " does not load (" + e.getMessage() + "); " + install, e);
        }
    }

    /** The library as it was named when opened (soname or path). */
    String name() { return name; }

    /** The address of {@code symbol}; one line naming the library and the symbol when it has none. */
    MemorySegment function(String symbol) {
        return lookup.find(symbol).orElseThrow(() -> new IllegalStateException(
                "ffm: " + name + " has no symbol " + symbol + " (not the library jgan needs; " + install + ")"));
    }

    /** The address of {@code symbol}, when the library exports it (functions jgan can do without). */
    Optional<MemorySegment> optionalFunction(String symbol) {
        return lookup.find(symbol);
    }

    /** A handle on any function of signature {@code d}: the function's address is its first argument. */
    static MethodHandle downcall(FunctionDescriptor d, Linker.Option... options) {
        return LINKER.downcallHandle(d, options);
    }

    /**
     * What a downcall's invokeExact may throw besides runtime exceptions and errors (it declares
     * Throwable): nothing, for the handles of this package, so anything else is a bug.
     */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException("ffm: unexpected checked exception from a downcall", t);
    }

    @Override public String toString() { return name; }

    /** {@code h}(f, a0) for an int-returning function of one pointer (the common handle/out-parameter shape). */
    static int call(MethodHandle h, MemorySegment f, MemorySegment a0) {
        try {
            return (int) h.invokeExact(f, a0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code h}(f, a0, a1) for an int-returning function of two pointers. */
    static int call(MethodHandle h, MemorySegment f, MemorySegment a0, MemorySegment a1) {
        try {
            return (int) h.invokeExact(f, a0, a1);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
