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

    /** The native accumulator, made for batches of up to {@code rows} rows on first use. */
    NativeCuda.Coact handle(long rows) {
        if (closed) throw new IllegalStateException("coactivation sums used after close");
        if (handle == null) {
            try (IntPointer status = new IntPointer(1)) {
                NativeCuda.Coact h = NativeCuda.coactCreate(backend.live(), m1, m2, rows, status);
                if (h == null || h.isNull()) {
                    if (status.get() == NativeCuda.ERR_ARG)
                        throw new IllegalArgumentException("coactivation: " + m1 + " x " + m2 + " latents, batches of " + rows
                                + " rows: " + CudaBackend.lastError());
                    throw new BackendException("cuda: could not allocate the coactivation sums (S: " + m1 + " x " + m2
                            + " doubles, " + (m1 * m2 * 8 >> 20) + " MiB): " + CudaBackend.lastError());
                }
                handle = h;
                allocation = backend.allocations().register(() -> NativeCuda.coactDestroy(h));
                maxRows = rows;
            }
        }
        if (rows > maxRows)
            throw new IllegalArgumentException("coactivate: " + rows + " rows, over the " + maxRows + " of the first batch");
        return handle;
    }

    CudaBackend backend() { return backend; }

    @Override public long m1() { return m1; }
    @Override public long m2() { return m2; }

    @Override
    public long tokens() {
        if (closed) throw new IllegalStateException("coactivation sums used after close");
        return handle == null ? 0 : NativeCuda.coactTokens(handle);
    }

    @Override
    public void close() {
        closed = true;
        if (allocation != null) allocation.close();
    }
}
