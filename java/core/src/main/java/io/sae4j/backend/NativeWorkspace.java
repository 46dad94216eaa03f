package io.sae4j.backend;

/**
 * What the backends' workspaces share: a native batch (host or device memory) owned by one
 * {@link Allocation}, its three buffers as views, and the shape of the last encode. For backends.
 */
public abstract class NativeWorkspace implements Workspace {
    private final Backend backend;
    private final WorkspaceSpec spec;
    private final Allocation allocation;
    private final FloatBuf input, latents, reconstruction;
    private final EncodedShape encoded = new EncodedShape();

    protected NativeWorkspace(Backend backend, WorkspaceSpec spec, Allocation allocation, FloatBuf input, FloatBuf latents,
                              FloatBuf reconstruction) {
        this.backend = backend;
        this.spec = spec;
        this.allocation = allocation;
        this.input = input;
        this.latents = latents;
        this.reconstruction = reconstruction;
    }

    public Backend backend() {
        return backend;
    }

    /** The (B, m) of the last encode, which decode and backward must match. */
    public EncodedShape encoded() {
        return encoded;
    }

    /** A view of n floats of native memory at p that allocation owns. */
    protected static FloatBuf view(Backend backend, org.bytedeco.javacpp.FloatPointer p, long n, Allocation allocation) {
        if (p == null || p.isNull()) throw new BackendException(backend.name() + ": a workspace buffer is missing");
        p.capacity(n).limit(n);
        return FloatBuf.view(backend, p, n, allocation);
    }

    /** Throws when the workspace was closed (before its native handle reaches native code). */
    protected void requireOpen() {
        if (allocation.closed()) throw new IllegalArgumentException("workspace was closed");
    }

    /** Checks that rows is in 1..spec rows. */
    public void requireRows(long rows, String what) {
        if (rows < 1 || rows > spec.rows())
            throw new IllegalArgumentException(what + ": rows must be in 1.." + spec.rows() + ", got " + rows);
    }

    @Override public WorkspaceSpec spec() { return spec; }
    @Override public FloatBuf input() { return input; }
    @Override public FloatBuf latents() { return latents; }
    @Override public FloatBuf reconstruction() { return reconstruction; }

    @Override
    public void close() {
        allocation.close();
    }
}
