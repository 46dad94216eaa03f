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

    /** Checks an encode of the first rows rows with params and act; forgets the previous encode. */
    public void beginEncode(SaeTensors params, Activation act, long rows) {
        Checks.saeCall(backend, params, act, spec, rows, "encode");
        encoded.clear();
    }

    /** Records that the latents now hold an encode of (rows, params' m). */
    public void endEncode(SaeTensors params, long rows) {
        encoded.set(rows, params.m());
    }

    /** Checks a decode: the sizes fit, and the latents were encoded for exactly (rows, m). */
    public void requireDecode(SaeTensors params, long rows) {
        Checks.saeShape(params, spec, rows, "decode");
        encoded.require(rows, params.m(), "decode");
    }

    /** Records that the encoded batch has been decoded. */
    public void endDecode() {
        encoded.setDecoded();
    }

    /** Checks a backward pass: after a decode, on a training workspace, with grads of params' shape. */
    public void requireBackward(SaeTensors params, Activation act, float lambda, SaeTensors grads, long rows) {
        Checks.saeCall(backend, params, act, spec, rows, "backward");
        Checks.sameShape(params, grads, "backward grads");
        Checks.lambda(lambda);
        if (act.kind() != Activation.Kind.RELU && act.kind() != Activation.Kind.TOPK)
            throw new UnsupportedOperationException("backward: sae4j trains relu and topk SAEs, not "
                    + act.kind().name().toLowerCase(java.util.Locale.ROOT));
        if (act.kind() == Activation.Kind.TOPK && lambda != 0)
            throw new IllegalArgumentException("backward: topk has no L1 penalty, lambda must be 0, got " + lambda);
        if (!spec.training()) throw new IllegalArgumentException("backward: the workspace was not made for training");
        encoded.requireDecoded(rows, params.m(), "backward");
    }

    /**
     * The sizes of an AuxK call on this workspace, before anything changes: at most params' m dead
     * latents, and aux's scratch large enough for them. Returns the scratch floats the call uses.
     */
    public long auxKScratchUsed(SaeTensors params, AuxK aux, long rows) {
        long n = aux.deadCount(), m = params.m();
        if (n > m) throw new IllegalArgumentException("auxKBackward: " + n + " dead latents of an SAE of " + m);
        long need = backend.auxKScratchFloats(new WorkspaceSpec(rows, params.d(), Math.max(1, n), spec.storage(), true), aux.kAux());
        if (aux.scratch().length() < need)
            throw new IllegalArgumentException("auxKBackward: scratch of " + aux.scratch().length() + " floats, needs " + need);
        return need;
    }

    /**
     * Checks an AuxK call: as a backward's (it follows one); afterwards the
     * latents hold the dead latents' pre-activations, so nothing counts as encoded.
     */
    public void beginAuxK(SaeTensors params, SaeTensors grads, long rows) {
        Checks.saeShape(params, spec, rows, "auxKBackward");
        Checks.sameShape(params, grads, "auxKBackward grads");
        if (!spec.training()) throw new IllegalArgumentException("auxKBackward: the workspace was not made for training");
        encoded.requireDecoded(rows, params.m(), "auxKBackward");
        encoded.clear();
    }

    /**
     * Checks a coactivate call over a and b: both hold sparse latents, and rows fits both. Returns
     * the rows both can hold (a batch's largest).
     */
    public static long requireCoactivation(NativeWorkspace a, NativeWorkspace b, long rows) {
        for (NativeWorkspace w : new NativeWorkspace[] {a, b})
            if (w.spec.storage() != LatentStorage.SPARSE)
                throw new IllegalArgumentException("coactivate: workspaces must hold sparse latents (LatentStorage.SPARSE), got "
                        + w.spec.storage());
        long capacity = Math.min(a.spec.rows(), b.spec.rows());
        if (rows < 1 || rows > capacity)
            throw new IllegalArgumentException("coactivate: rows must be in 1.." + capacity + ", got " + rows);
        return capacity;
    }

    /** The error of a coactivate whose native call refused the workspaces' last encodes. */
    public static IllegalArgumentException notEncodedForCoactivation(long rows, long m1, long m2) {
        return new IllegalArgumentException("coactivate: the workspaces do not hold encodes of " + rows + " rows through "
                + m1 + " and " + m2 + " latents");
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
