package io.sae4j.backend.cuda;

import io.sae4j.backend.Allocation;
import io.sae4j.backend.BackendException;
import io.sae4j.backend.Coactivation;
import org.bytedeco.javacpp.IntPointer;

/**
 * The CUDA backend's {@link Coactivation}: a device accumulator (cuda/src/coactivation.cu). Its
 * device memory (S of m1 x m2 doubles, and the sort of a batch's entries, sized by the batch rows)
 * is allocated at the first {@link CudaBackend#coactivate}, which knows the rows.
 */
final class CudaCoactivation implements Coactivation {
    final long m1, m2;
    private final CudaBackend backend;
    private NativeCuda.Coact handle;
    private Allocation allocation;
    private long maxRows;
    private boolean closed;

    CudaCoactivation(CudaBackend backend, long m1, long m2) {
        if (m1 < 1 || m2 < 1) throw new IllegalArgumentException("coactivation: invalid sizes " + m1 + " x " + m2);
        this.backend = backend;
        this.m1 = m1;
        this.m2 = m2;
    }

    /**
     * The native accumulator for adding {@code rows} rows; made on first use for batches of up to
     * {@code capacity} rows (the workspaces' size).
     */
    NativeCuda.Coact handle(long capacity, long rows) {
        requireOpen();
        if (handle == null) {
            try (IntPointer status = new IntPointer(1)) {
                NativeCuda.Coact h = NativeCuda.coactCreate(backend.live(), m1, m2, capacity, status);
                if (h == null || h.isNull()) {
                    if (status.get() == NativeCuda.ERR_ARG)
                        throw new IllegalArgumentException("coactivation: " + m1 + " x " + m2 + " latents, batches of " + capacity
                                + " rows: " + CudaBackend.lastError());
                    throw new BackendException("cuda: could not allocate the coactivation sums (S: " + m1 + " x " + m2
                            + " doubles, " + (m1 * m2 * 8 >> 20) + " MiB): " + CudaBackend.lastError());
                }
                handle = h;
                allocation = backend.allocations().register(() -> NativeCuda.coactDestroy(h));
                maxRows = capacity;
            }
        }
        if (rows > maxRows)
            throw new IllegalArgumentException("coactivate: " + rows + " rows, over the " + maxRows
                    + " rows a batch may have here (the first workspaces' size)");
        return handle;
    }

    /** The native accumulator of the rows added so far. */
    NativeCuda.Coact handle() {
        requireOpen();
        if (handle == null) throw new IllegalStateException("coactivation sums: no rows added yet");
        return handle;
    }

    /** Also refused after the backend closed, which frees the native accumulator with its other allocations. */
    private void requireOpen() {
        if (closed || (allocation != null && allocation.closed()))
            throw new IllegalStateException("coactivation sums used after close (of the sums or of their backend)");
        backend.live(); // throws once the backend is closed
    }

    CudaBackend backend() { return backend; }

    @Override public long m1() { return m1; }
    @Override public long m2() { return m2; }

    @Override
    public long tokens() {
        requireOpen();
        return handle == null ? 0 : NativeCuda.coactTokens(handle);
    }

    @Override
    public void close() {
        closed = true;
        if (allocation != null) allocation.close();
    }
}
