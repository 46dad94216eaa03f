package io.sae4j.backend.cpu;

import io.sae4j.backend.Allocation;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.NativeWorkspace;
import io.sae4j.backend.WorkspaceSpec;
import org.bytedeco.javacpp.IntPointer;

/** A native batch workspace (native/src/batch.cpp); its buffers are views of native-owned memory. */
final class CpuWorkspace extends NativeWorkspace {
    private final NativeCpu.Batch handle;

    private record Created(NativeCpu.Batch handle, Allocation allocation, FloatBuf input, FloatBuf latents,
                           FloatBuf reconstruction) {}

    CpuWorkspace(CpuBackend backend, WorkspaceSpec spec) {
        this(backend, spec, create(backend, spec));
    }

    private CpuWorkspace(CpuBackend backend, WorkspaceSpec spec, Created c) {
        super(backend, spec, c.allocation(), c.input(), c.latents(), c.reconstruction());
        handle = c.handle();
    }

    private static Created create(CpuBackend backend, WorkspaceSpec spec) {
        NativeCpu.Batch h;
        try (IntPointer status = new IntPointer(1)) {
            h = NativeCpu.batchCreate(backend.context(), spec.rows(), spec.d(), spec.maxLatents(), spec.storage().code(),
                    CpuBackend.MAX_SPARSE_DENSITY, spec.training() ? 1 : 0, status);
            if (h == null || h.isNull()) {
                if (status.get() == NativeCpu.ERR_NOMEM)
                    throw new OutOfMemoryError("cpu backend: could not allocate a workspace for " + spec);
                throw new IllegalArgumentException("cpu backend: invalid workspace " + spec);
            }
        }
        NativeCpu.Batch handle = h;
        Allocation a = backend.allocations().register(() -> NativeCpu.batchDestroy(handle));
        long rd = spec.rows() * spec.d(), rm = spec.rows() * spec.maxLatents();
        return new Created(h, a, view(backend, NativeCpu.batchX(h), rd, a), view(backend, NativeCpu.batchF(h), rm, a),
                view(backend, NativeCpu.batchXhat(h), rd, a));
    }

    NativeCpu.Batch handle() {
        requireOpen();
        return handle;
    }

    @Override
    public boolean sparse() {
        return NativeCpu.batchSparse(handle()) == 1;
    }
}
