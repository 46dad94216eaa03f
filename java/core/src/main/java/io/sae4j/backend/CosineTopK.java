package io.sae4j.backend;

/**
 * The k largest entries of every row and every column of a cosine matrix between vector sets a
 * (n1) and b (n2), kept on the backend by {@link Backend#cosineTopK}: row i's list is
 * {@code rowIdx[i*kRow .. i*kRow+kRow)} with the cosines in {@code rowVal}, ordered by the ranking
 * key (the cosine, or |cosine|) descending, ties to the smaller index; columns likewise. A side
 * with k 0 has no buffers. {@link #toHost()} reads them back.
 */
public final class CosineTopK implements AutoCloseable {
    private final long n1, n2;
    private final int kRow, kCol;
    private final FloatBuf rowVal, colVal;
    private final IntBuf rowIdx, colIdx;

    /** Lists of kRow per row (0 <= kRow <= n2) and kCol per column (0 <= kCol <= n1), not both 0. */
    public CosineTopK(Backend backend, long n1, long n2, int kRow, int kCol) {
        if (n1 < 1 || n2 < 1) throw new IllegalArgumentException("cosine top-k: need n1, n2 >= 1, got " + n1 + ", " + n2);
        if (kRow < 0 || kRow > n2 || kCol < 0 || kCol > n1 || kRow + kCol == 0)
            throw new IllegalArgumentException("cosine top-k: kRow must be in 0.." + n2 + " and kCol in 0.." + n1
                    + ", not both 0; got " + kRow + ", " + kCol);
        this.n1 = n1;
        this.n2 = n2;
        this.kRow = kRow;
        this.kCol = kCol;
        rowVal = kRow > 0 ? backend.allocate(Math.multiplyExact(n1, kRow)) : null;
        rowIdx = kRow > 0 ? backend.allocateInts(n1 * kRow) : null;
        colVal = kCol > 0 ? backend.allocate(Math.multiplyExact(n2, kCol)) : null;
        colIdx = kCol > 0 ? backend.allocateInts(n2 * kCol) : null;
    }

    public long n1() { return n1; }
    public long n2() { return n2; }
    public int kRow() { return kRow; }
    public int kCol() { return kCol; }
    public FloatBuf rowVal() { return rowVal; }
    public IntBuf rowIdx() { return rowIdx; }
    public FloatBuf colVal() { return colVal; }
    public IntBuf colIdx() { return colIdx; }

    /** The lists on the host; a side with k 0 has empty arrays. */
    public Lists toHost() {
        Backend be = (rowVal != null ? rowVal : colVal).backend();
        return new Lists(kRow, kRow > 0 ? be.download(rowVal) : new float[0], kRow > 0 ? be.download(rowIdx) : new int[0],
                kCol, kCol > 0 ? be.download(colVal) : new float[0], kCol > 0 ? be.download(colIdx) : new int[0]);
    }

    /** Host copy of the lists: row i's r-th entry is {@code rowIdx[i * kRow + r]} with cosine {@code rowVal[...]}. */
    public record Lists(int kRow, float[] rowVal, int[] rowIdx, int kCol, float[] colVal, int[] colIdx) {}

    @Override
    public void close() {
        for (Buf<?> b : new Buf<?>[] {rowVal, rowIdx, colVal, colIdx})
            if (b != null) b.close();
    }
}
