package io.sae4j.backend;

/**
 * One SAE's tensors as views of a flat buffer laid out as
 * {@code [W_encT (m, d) | b_enc (m) | W_dec (m, d) | b_dec (d)]}: its parameters, or their
 * gradients, or an optimiser moment. One layout for all of them lets one optimiser call update
 * everything, and the kernels take the flat buffer with (d, m).
 */
public record SaeTensors(long d, long m, FloatBuf all, FloatBuf wEncT, FloatBuf bEnc, FloatBuf wDec, FloatBuf bDec) {
    /** Floats of the flat layout: 2 m d + m + d. */
    public static long count(long d, long m) {
        if (d < 1 || m < 1) throw new IllegalArgumentException("SAE tensors need d, m >= 1, got " + d + ", " + m);
        return Math.addExact(Math.multiplyExact(2 * m, d), m + d);
    }

    /** Views of the first {@link #count} floats of {@code flat}. */
    public static SaeTensors view(FloatBuf flat, long d, long m) {
        long n = count(d, m);
        flat.require(n, "SAE tensors (d " + d + ", m " + m + ")");
        return new SaeTensors(d, m, flat.slice(0, n), flat.slice(0, m * d), flat.slice(m * d, m),
                flat.slice(m * d + m, m * d), flat.slice(2 * m * d + m, d));
    }

    /** A new zeroed flat buffer on {@code backend}; the caller closes {@link #all()}. */
    public static SaeTensors allocate(Backend backend, long d, long m) {
        FloatBuf flat = backend.allocate(count(d, m));
        backend.fill(flat, 0f);
        return view(flat, d, m);
    }
}
