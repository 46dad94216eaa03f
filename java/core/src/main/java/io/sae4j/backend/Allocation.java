package io.sae4j.backend;

/**
 * One block of backend memory (host or device) and the views on it: buffers, their slices and a
 * workspace's buffers share their allocation, so closing it invalidates every view at once and a
 * closed buffer is refused by name instead of reaching native code. For backend implementations.
 */
public final class Allocation implements AutoCloseable {
    private final Runnable release;
    private volatile boolean closed;

    /** @param release frees the memory; called once, by the first {@link #close()} */
    public Allocation(Runnable release) {
        this.release = release;
    }

    public boolean closed() {
        return closed;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        release.run();
    }
}
