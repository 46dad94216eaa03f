package io.sae4j.backend;

/** An input held NaN or Inf; {@link #row()} and {@link #column()} locate the first one. */
public final class NonFiniteInputException extends IllegalArgumentException {
    private final long row;
    private final long column;

    public NonFiniteInputException(String what, long row, long column) {
        super(what + ": NaN or Inf at row " + row + ", column " + column);
        this.row = row;
        this.column = column;
    }

    /**
     * Throws for the first NaN or Inf among the first {@code rows} rows of x (rows, d), checked on
     * the host before the rows reach a backend; {@code what} names the input (file and rows).
     */
    public static void requireFinite(float[] x, int rows, int d, String what) {
        int n = Math.multiplyExact(rows, d), bad = 0;
        // exponent bits all ones <=> NaN or Inf: an integer test over the array that C2 vectorises
        for (int i = 0; i < n; i++) bad |= ((Float.floatToRawIntBits(x[i]) & 0x7f800000) + 0x00800000) >>> 31;
        if (bad == 0) return;
        for (int i = 0; i < n; i++)
            if (!Float.isFinite(x[i])) throw new NonFiniteInputException(what, i / d, i % d);
    }

    public long row() {
        return row;
    }

    public long column() {
        return column;
    }
}
