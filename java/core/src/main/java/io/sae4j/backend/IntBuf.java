package io.sae4j.backend;

import org.bytedeco.javacpp.IntPointer;

/** An int32 buffer owned by a {@link Backend}, for counts and indices; see {@link Buf}. */
public final class IntBuf extends Buf<IntPointer> {
    private IntBuf(Backend backend, IntPointer pointer, long length, Allocation allocation, boolean owner) {
        super(backend, pointer, length, allocation, owner);
    }

    /** A buffer owning {@code allocation} (closing it frees the memory). For backends. */
    public static IntBuf owning(Backend backend, IntPointer pointer, long length, Allocation allocation) {
        return new IntBuf(backend, pointer, length, allocation, true);
    }

    /** A view of memory that {@code allocation} owns. For backends. */
    public static IntBuf view(Backend backend, IntPointer pointer, long length, Allocation allocation) {
        return new IntBuf(backend, pointer, length, allocation, false);
    }

    /** A view of {@code [offset, offset + length)} of this buffer. */
    public IntBuf slice(long offset, long length) {
        checkSlice(offset, length);
        IntPointer p = rawPointer().getPointer(IntPointer.class, offset);
        p.capacity(length).limit(length);
        return view(backend(), p, length, allocation());
    }
}
