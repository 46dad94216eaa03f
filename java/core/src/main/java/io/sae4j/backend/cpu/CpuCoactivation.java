package io.sae4j.backend.cpu;

import io.sae4j.backend.Allocation;
import io.sae4j.backend.Coactivation;
import org.bytedeco.javacpp.IntPointer;

/** The CPU backend's {@link Coactivation}: a native accumulator (native/src/coactivation.cpp). */
final class CpuCoactivation implements Coactivation {
    final long m1, m2;
    private final NativeCpu.Coact handle;
    private final Allocation allocation;

    CpuCoactivation(CpuBackend backend, long m1, long m2) {
        this.m1 = m1;
        this.m2 = m2;
        NativeCpu.Coact h;
        try (IntPointer status = new IntPointer(1)) {
            h = NativeCpu.coactCreate(m1, m2, status);
            if (h == null || h.isNull()) {
                if (status.get() == NativeCpu.ERR_NOMEM)
                    throw new OutOfMemoryError("coactivation sums: could not allocate S (" + m1 + " x " + m2 + " doubles, "
                            + (m1 * m2 * 8 >> 20) + " MiB)");
                throw new IllegalArgumentException("coactivation: invalid sizes " + m1 + " x " + m2);
            }
        }
        handle = h;
        allocation = backend.allocations().register(() -> NativeCpu.coactDestroy(handle));
    }

    NativeCpu.Coact handle() {
        if (allocation.closed()) throw new IllegalStateException("coactivation sums used after close");
        return handle;
    }

    @Override public long m1() { return m1; }
    @Override public long m2() { return m2; }

    @Override
    public long tokens() {
        return NativeCpu.coactTokens(handle());
    }

    @Override
    public void close() {
        allocation.close();
    }
}
