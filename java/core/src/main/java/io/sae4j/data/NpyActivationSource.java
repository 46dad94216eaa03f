package io.sae4j.data;

import io.sae4j.io.NpyReader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Training batches from a 2-D .npy file (tokens, d), streamed a chunk at a time so the file need
 * not fit in memory. Each epoch visits the chunks in a shuffled order and each chunk's rows in a
 * shuffled order, both drawn from (seed, epoch, chunk): the stream is a pure function of the
 * number of rows consumed, so {@link #skip} only moves a counter. Rows are checked for NaN/Inf as
 * chunks load, and the error names the file, row and column.
 */
public final class NpyActivationSource implements ActivationSource {
    public static final int DEFAULT_CHUNK_ROWS = 1 << 16;

    private final NpyReader reader;
    private final long rows;
    private final int d, chunkRows;
    private final long seed;
    private final float[] chunk;
    private int[] order = new int[0];
    private long loadedEpoch = -1, loadedChunk = -1;
    private int[] chunkOrder;
    private long[] slotStart; // first row (within the epoch) served from each slot of chunkOrder
    private long consumed;

    public NpyActivationSource(Path file, long seed) throws IOException {
        this(file, seed, DEFAULT_CHUNK_ROWS);
    }

    public NpyActivationSource(Path file, long seed, int chunkRows) throws IOException {
        this(file, seed, chunkRows, Long.MAX_VALUE);
    }

    /** Serves only the file's first {@code rowLimit} rows (the rest can be held out for evaluation). */
    public NpyActivationSource(Path file, long seed, int chunkRows, long rowLimit) throws IOException {
        if (rowLimit < 1) throw new IllegalArgumentException("row limit must be >= 1, got " + rowLimit);
        reader = NpyReader.open(file);
        rows = Math.min(reader.rows(), rowLimit);
        d = reader.cols();
        if (rows < 1 || d < 1) {
            reader.close();
            throw new IOException(file + ": holds no activations (" + (rows < 1 ? "no rows" : "rows of width 0")
                    + ", shape " + rows + " x " + d + ")");
        }
        this.chunkRows = (int) Math.min(Math.max(1, chunkRows), rows);
        if ((long) this.chunkRows * d > Integer.MAX_VALUE - 8) {
            reader.close();
            throw new IllegalArgumentException(file + ": chunk of " + this.chunkRows + " rows x " + d + " is too large");
        }
        this.seed = seed;
        chunk = new float[this.chunkRows * d];
    }

    @Override
    public int dIn() {
        return d;
    }

    public long rows() {
        return rows;
    }

    @Override
    public String describe() {
        return reader.file().toString();
    }

    private long chunks() {
        return (rows + chunkRows - 1) / chunkRows;
    }

    @Override
    public void next(float[] dst, int n) throws IOException {
        if (dst.length < (long) n * d) throw new IllegalArgumentException("dst holds fewer than " + n + " rows of " + d);
        for (int r = 0; r < n; r++) {
            long epoch = consumed / rows, within = consumed % rows;
            int slot = slotOf(epoch, within);
            load(epoch, slot);
            System.arraycopy(chunk, order[(int) (within - slotStart[slot])] * d, dst, r * d, d);
            consumed++;
        }
    }

    /** The slot of epoch {@code epoch}'s chunk order that serves row {@code within} of the epoch. */
    private int slotOf(long epoch, long within) {
        if (epoch != loadedEpoch) {
            chunkOrder = permutation((int) chunks(), new SplittableRandom(mix(seed, epoch, -1)));
            slotStart = new long[chunkOrder.length + 1];
            for (int s = 0; s < chunkOrder.length; s++)
                slotStart[s + 1] = slotStart[s] + Math.min(chunkRows, rows - (long) chunkOrder[s] * chunkRows);
            loadedEpoch = epoch;
            loadedChunk = -1;
        }
        int slot = java.util.Arrays.binarySearch(slotStart, within);
        return slot >= 0 ? slot : -slot - 2;
    }

    /** Makes the chunk at position {@code slot} of the current epoch's chunk order current. */
    private void load(long epoch, int slot) throws IOException {
        int c = chunkOrder[slot];
        if (c == loadedChunk) return;
        long first = (long) c * chunkRows;
        int n = (int) Math.min(chunkRows, rows - first);
        reader.read(first, n, chunk, 0);
        for (int i = 0; i < n * d; i++)
            if (!Float.isFinite(chunk[i]))
                throw new IllegalArgumentException(describe() + ": NaN or Inf at row " + (first + i / d) + ", column "
                        + (i % d));
        order = permutation(n, new SplittableRandom(mix(seed, epoch, c)));
        loadedChunk = c;
    }

    private static long mix(long seed, long epoch, long chunk) {
        return seed * 0x9E3779B97F4A7C15L + epoch * 0xBF58476D1CE4E5B9L + chunk * 0x94D049BB133111EBL;
    }

    private static int[] permutation(int n, SplittableRandom r) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1), t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    @Override
    public void skip(long batches, int n) {
        if (batches < 0 || n < 0) throw new IllegalArgumentException("skip: counts must be >= 0, got " + batches + ", " + n);
        consumed += batches * n;
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }
}
