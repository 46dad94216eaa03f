package io.sae4j.data;

import java.io.IOException;

/**
 * A deterministic stream of activation rows (tokens x d) for training: the same source built with
 * the same arguments yields the same batches, so a resumed run can {@link #skip} to where it stopped.
 */
public interface ActivationSource extends AutoCloseable {
    /** Row width d. */
    int dIn();

    /** Fills dst[0 .. rows * d) with the next rows. */
    void next(float[] dst, int rows) throws IOException;

    /** Advances past {@code batches} calls of {@code next(_, rows)} without returning them. */
    void skip(long batches, int rows) throws IOException;

    /** A description for logs and errors (e.g. the file name). */
    String describe();

    @Override
    default void close() throws IOException {}
}
