package io.sae4j.backend;

import org.bytedeco.javacpp.Pointer;

/**
 * A typed range of backend memory: off-heap host memory for the CPU backend, device memory for
 * CUDA. The contents are reached only through the owning {@link Backend}'s copy methods; the
 * pointer is for backend implementations, which check that a buffer is theirs and still open.
 * Slices share their parent's {@link Allocation}; closing a slice or a view does nothing.
 */
public abstract sealed class Buf<P extends Pointer> implements AutoCloseable permits FloatBuf, IntBuf {
    private final Backend backend;
    private final P pointer;
    private final long length;
    private final Allocation allocation;
    private final boolean owner;

    Buf(Backend backend, P pointer, long length, Allocation allocation, boolean owner) {
        this.backend = backend;
        this.pointer = pointer;
        this.length = length;
        this.allocation = allocation;
        this.owner = owner;
    }

    /** Number of elements. */
    public final long length() {
        return length;
    }

    public final Backend backend() {
        return backend;
    }

    final Allocation allocation() {
        return allocation;
    }

    /** Throws unless this buffer holds at least {@code needed} elements. */
    public final void require(long needed, String what) {
        if (length < needed)
            throw new IllegalArgumentException(what + ": buffer holds " + length + " elements, the operation needs "
                    + needed);
    }

    /**
     * The native pointer, after checking that the buffer belongs to {@code expected}, is open and
     * holds at least {@code needed} elements; {@code what} names it in errors. For backends.
     */
    public final P pointer(Backend expected, long needed, String what) {
        if (backend != expected)
            throw new IllegalArgumentException(what + ": buffer belongs to the " + backend.name() + " backend, not to this "
                    + expected.name() + " backend");
        if (allocation.closed()) throw new IllegalArgumentException(what + ": buffer was closed");
        require(needed, what);
        return pointer;
    }

    final P rawPointer() {
        return pointer;
    }

    final void checkSlice(long offset, long len) {
        if (offset < 0 || len < 0 || offset > length - len)
            throw new IllegalArgumentException("slice [" + offset + ", " + (offset + len) + ") of a buffer of " + length
                    + " elements");
    }

    /** Frees the memory when this buffer owns its allocation (not a slice or a view). */
    @Override
    public final void close() {
        if (owner) allocation.close();
    }
}
