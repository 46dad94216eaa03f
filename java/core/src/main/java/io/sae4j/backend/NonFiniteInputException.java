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

    public long row() {
        return row;
    }

    public long column() {
        return column;
    }
}
