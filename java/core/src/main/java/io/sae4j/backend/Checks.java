package io.sae4j.backend;

/**
 * Argument checks shared by the backends, done in Java before any native call so that a wrong size
 * is an {@link IllegalArgumentException} naming the argument, never a crash. For backends.
 */
public final class Checks {
    private Checks() {}

    public static void range(long offset, long n, long length, String what) {
        if (offset < 0 || n < 0 || offset > length - n)
            throw new IllegalArgumentException(what + ": range [" + offset + ", " + (offset + n)
                    + ") outside a buffer of " + length + " elements");
    }

    public static void arrayRange(int offset, int n, int length, String what) {
        if (offset < 0 || n < 0 || offset > length - n)
            throw new IllegalArgumentException(what + ": range [" + offset + ", " + (offset + n)
                    + ") outside an array of " + length);
    }

    /** The (M, N, K) of a GEMM after checking that the operands' shapes agree. */
    public static long[] gemm(Matrix a, Matrix b, Matrix c) {
        if (c.transposed()) throw new IllegalArgumentException("gemm: the output c cannot be transposed");
        long M = a.opRows(), K = a.opCols(), N = b.opCols();
        if (b.opRows() != K)
            throw new IllegalArgumentException("gemm: op(a) is (" + M + ", " + K + ") but op(b) is (" + b.opRows() + ", " + N + ")");
        if (c.rows() != M || c.cols() != N)
            throw new IllegalArgumentException("gemm: c is (" + c.rows() + ", " + c.cols() + "), op(a) op(b) is (" + M + ", " + N + ")");
        return new long[] {M, N, K};
    }

    /** Checks an SAE kernel call: the backend runs act, and the sizes fit (see {@link #saeShape}). */
    public static void saeCall(Backend be, SaeTensors params, Activation act, WorkspaceSpec ws, long rows, String what) {
        if (act == null) throw new IllegalArgumentException(what + ": activation is null");
        if (!be.supports(act.kind()))
            throw new UnsupportedOperationException(what + ": the " + be.name() + " backend does not run the "
                    + act.kind().name().toLowerCase(java.util.Locale.ROOT) + " activation yet");
        saeShape(params, ws, rows, what);
    }

    /** Checks that params' width is the workspace's, its m fits it, and rows is in 1..ws rows. */
    public static void saeShape(SaeTensors params, WorkspaceSpec ws, long rows, String what) {
        if (params == null) throw new IllegalArgumentException(what + ": params are null");
        if (params.d() != ws.d())
            throw new IllegalArgumentException(what + ": SAE d_in " + params.d() + " != workspace width " + ws.d());
        if (params.m() > ws.maxLatents())
            throw new IllegalArgumentException(what + ": workspace sized for " + ws.maxLatents() + " latents, SAE has "
                    + params.m());
        if (rows < 1 || rows > ws.rows())
            throw new IllegalArgumentException(what + ": rows must be in 1.." + ws.rows() + ", got " + rows);
    }

    public static void sameShape(SaeTensors a, SaeTensors b, String what) {
        if (a.d() != b.d() || a.m() != b.m())
            throw new IllegalArgumentException(what + ": (d " + b.d() + ", m " + b.m() + ") does not match the SAE's (d "
                    + a.d() + ", m " + a.m() + ")");
    }

    public static void lambda(float lambda) {
        if (!(lambda >= 0) || Float.isInfinite(lambda))
            throw new IllegalArgumentException("backward: lambda must be finite and >= 0, got " + lambda);
    }

    public static void cosine(VectorSet a, VectorSet b) {
        if (a.dim() != b.dim())
            throw new IllegalArgumentException("cosine: vectors of length " + a.dim() + " and " + b.dim());
        if (a.count() > Integer.MAX_VALUE || b.count() > Integer.MAX_VALUE)
            throw new IllegalArgumentException("cosine: at most 2^31 - 1 vectors a side (indices are int32)");
    }

    /** An encoder activation the backend runs, else one line naming both. */
    public static void encoderActivation(Backend be, Activation act) {
        if (!be.supports(act.kind()))
            throw new UnsupportedOperationException("the " + be.name() + " backend runs no "
                    + act.kind().name().toLowerCase(java.util.Locale.ROOT) + " encoder");
    }

    public static void cosineTopK(VectorSet a, VectorSet b, CosineTopK out) {
        cosine(a, b);
        if (out.n1() != a.count() || out.n2() != b.count())
            throw new IllegalArgumentException("cosineTopK: lists for " + out.n1() + " x " + out.n2() + ", vectors "
                    + a.count() + " x " + b.count());
    }
}
