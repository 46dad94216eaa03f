package io.sae4j.backend;

/**
 * A GEMM operand: a row-major (rows, cols) matrix in {@code buf} with leading dimension {@code ld}
 * (the stride between rows, at least cols), used transposed when {@code transposed}. Shapes are
 * those of the stored matrix; {@link #opRows()} and {@link #opCols()} give op(M)'s.
 */
public record Matrix(FloatBuf buf, long rows, long cols, long ld, boolean transposed) {
    public Matrix {
        if (buf == null) throw new IllegalArgumentException("matrix: buffer is null");
        if (rows < 1 || cols < 1 || ld < cols)
            throw new IllegalArgumentException("matrix: need rows, cols >= 1 and ld >= cols, got (" + rows + ", " + cols
                    + ") ld " + ld);
    }

    /** A dense (rows, cols) matrix. */
    public static Matrix of(FloatBuf buf, long rows, long cols) {
        return new Matrix(buf, rows, cols, cols, false);
    }

    /** This matrix used transposed. */
    public Matrix t() {
        return new Matrix(buf, rows, cols, ld, !transposed);
    }

    public long opRows() {
        return transposed ? cols : rows;
    }

    public long opCols() {
        return transposed ? rows : cols;
    }

    /** Elements the buffer must hold: (rows - 1) ld + cols. */
    public long extent() {
        return (rows - 1) * ld + cols;
    }
}
