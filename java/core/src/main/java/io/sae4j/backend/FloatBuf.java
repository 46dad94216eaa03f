package io.sae4j.backend;

/**
 * A float32 buffer owned by a {@link Backend} (off-heap host memory for the CPU backend, device
 * memory for CUDA). Slices share their parent's memory; closing the parent frees it, closing a
 * slice does nothing. Contents are reached only through the backend's copy methods.
 */
public interface FloatBuf extends AutoCloseable {
    /** Number of floats. */
    long length();

    /** A view of {@code [offset, offset + length)} of this buffer. */
    FloatBuf slice(long offset, long length);

    @Override
    void close();

    /** Throws unless this buffer holds at least {@code needed} floats. */
    default FloatBuf require(long needed, String what) {
        if (length() < needed)
            throw new IllegalArgumentException(what + ": buffer holds " + length()
                    + " floats, the operation needs " + needed);
        return this;
    }
}
