package io.sae4j.backend;

import org.bytedeco.javacpp.FloatPointer;

/** A float32 buffer owned by a {@link Backend}; see {@link Buf}. */
public final class FloatBuf extends Buf<FloatPointer> {
    private FloatBuf(Backend backend, FloatPointer pointer, long length, Allocation allocation, boolean owner) {
        super(backend, pointer, length, allocation, owner);
    }

    /** A buffer owning {@code allocation} (closing it frees the memory). For backends. */
    public static FloatBuf owning(Backend backend, FloatPointer pointer, long length, Allocation allocation) {
        return new FloatBuf(backend, pointer, length, allocation, true);
    }

    /** A view of memory that {@code allocation} owns (closing the view does nothing). For backends. */
    public static FloatBuf view(Backend backend, FloatPointer pointer, long length, Allocation allocation) {
        return new FloatBuf(backend, pointer, length, allocation, false);
    }

    /** A view of {@code [offset, offset + length)} of this buffer. */
    public FloatBuf slice(long offset, long length) {
        checkSlice(offset, length);
        FloatPointer p = rawPointer().getPointer(FloatPointer.class, offset);
        p.capacity(length).limit(length);
        return view(backend(), p, length, allocation());
    }
}
