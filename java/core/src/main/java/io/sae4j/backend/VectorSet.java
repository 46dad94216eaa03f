package io.sae4j.backend;

/**
 * {@code count} vectors of length {@code dim} in {@code data}: as rows of a (count, dim) matrix
 * (decoder directions), or as columns of a (dim, count) matrix (features' activations over
 * tokens) when {@code columns}.
 */
public record VectorSet(FloatBuf data, long count, long dim, boolean columns) {
    public VectorSet {
        if (data == null) throw new IllegalArgumentException("vector set: buffer is null");
        if (count < 1 || dim < 1)
            throw new IllegalArgumentException("vector set: need count, dim >= 1, got " + count + ", " + dim);
        data.require(count * dim, "vector set (" + count + " x " + dim + ")");
    }

    public static VectorSet rows(FloatBuf data, long count, long dim) {
        return new VectorSet(data, count, dim, false);
    }

    public static VectorSet columns(FloatBuf data, long count, long dim) {
        return new VectorSet(data, count, dim, true);
    }
}
