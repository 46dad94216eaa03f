package io.sae4j.backend.cuda;

import io.sae4j.backend.Allocation;
import io.sae4j.backend.BackendException;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.NativeWorkspace;
import io.sae4j.backend.WorkspaceSpec;
import org.bytedeco.javacpp.IntPointer;

/** A batch workspace in device memory (cuda/src/batch.cu); its buffers are views of it. */
final class CudaWorkspace extends NativeWorkspace {
    private final NativeCuda.Batch handle;
    final FloatBuf xc, err, dpre, norms; // for the backend's GEMMs; err and dpre null unless training

    private record Created(NativeCuda.Batch handle, Allocation allocation, FloatBuf input, FloatBuf latents,
                           FloatBuf reconstruction) {}

    CudaWorkspace(CudaBackend backend, WorkspaceSpec spec) {
        this(backend, spec, create(backend, spec));
    }

    private CudaWorkspace(CudaBackend backend, WorkspaceSpec spec, Created c) {
        super(backend, spec, c.allocation(), c.input(), c.latents(), c.reconstruction());
        handle = c.handle();
        long rd = spec.rows() * spec.d(), rm = spec.rows() * spec.maxLatents();
        xc = view(backend, NativeCuda.batchXc(handle), rd, c.allocation());
        norms = view(backend, NativeCuda.batchNorms(handle), spec.maxLatents(), c.allocation());
        err = spec.training() ? view(backend, NativeCuda.batchErr(handle), rd, c.allocation()) : null;
        dpre = spec.training() ? view(backend, NativeCuda.batchDpre(handle), rm, c.allocation()) : null;
    }

    private static Created create(CudaBackend backend, WorkspaceSpec spec) {
        NativeCuda.Batch h;
        try (IntPointer status = new IntPointer(1)) {
            h = NativeCuda.batchCreate(backend.live(), spec.rows(), spec.d(), spec.maxLatents(), spec.storage().code(),
                    CudaBackend.MAX_SPARSE_DENSITY, spec.training() ? 1 : 0, status);
            if (h == null || h.isNull()) {
                if (status.get() == NativeCuda.ERR_ARG) throw new IllegalArgumentException("cuda: invalid workspace " + spec);
                throw new BackendException("cuda: could not allocate a workspace for " + spec + ": " + CudaBackend.lastError());
            }
        }
        NativeCuda.Batch handle = h;
        Allocation a = backend.allocations().register(() -> NativeCuda.batchDestroy(handle));
        long rd = spec.rows() * spec.d(), rm = spec.rows() * spec.maxLatents();
        return new Created(h, a, view(backend, NativeCuda.batchX(h), rd, a), view(backend, NativeCuda.batchF(h), rm, a),
                view(backend, NativeCuda.batchXhat(h), rd, a));
    }

    NativeCuda.Batch handle() {
        requireOpen();
        return handle;
    }

    @Override
    public boolean sparse() {
        return NativeCuda.batchSparse(handle()) == 1;
    }
}
