package io.sae4j.backend;

/** Adam's moment estimates of a parameter buffer: m1 (first) and m2 (second), each of its length. */
public record AdamState(FloatBuf m1, FloatBuf m2) implements AutoCloseable {
    public AdamState {
        if (m1 == null || m2 == null) throw new IllegalArgumentException("adam: moment buffers are null");
        if (m1.length() != m2.length())
            throw new IllegalArgumentException("adam: moments of " + m1.length() + " and " + m2.length() + " floats");
    }

    /** Zeroed moments for n parameters on {@code backend}. */
    public static AdamState zeros(Backend backend, long n) {
        FloatBuf a = backend.allocate(n), b = backend.allocate(n);
        backend.fill(a, 0f);
        backend.fill(b, 0f);
        return new AdamState(a, b);
    }

    @Override
    public void close() {
        m1.close();
        m2.close();
    }
}
