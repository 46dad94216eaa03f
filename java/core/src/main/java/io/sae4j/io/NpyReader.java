package io.sae4j.io;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads rows of a 1-D or 2-D {@code .npy} array (float32 or float16, see {@link Npy}) in batches
 * without loading the file: each call does positional reads on a {@link FileChannel} and converts
 * float16 to float32 on the way. A 1-D array of n elements is n rows of one column. The header is
 * validated on {@link #open}, including that the file is long enough for its shape. Reads are
 * safe from several threads at once.
 */
public final class NpyReader implements AutoCloseable {
    private final Path file;
    private final FileChannel ch;
    private final Npy.Header header;

    private NpyReader(Path file, FileChannel ch, Npy.Header header) {
        this.file = file;
        this.ch = ch;
        this.header = header;
    }

    /** Opens and validates a file; throws {@link FormatException} naming it if it is invalid. */
    public static NpyReader open(Path file) throws IOException {
        // a directory opens for reading on Linux and fails later with a bare "Is a directory"
        if (java.nio.file.Files.isDirectory(file)) throw new FormatException(file, "is a directory, not a .npy file");
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            return new NpyReader(file, ch, Npy.readHeader(ch, file));
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    public Path file() {
        return file;
    }

    public long rows() {
        return header.rows();
    }

    /** Columns per row (1 for a 1-D array). */
    public int cols() {
        return header.cols();
    }

    /** The array's shape as stored: one or two dimensions. */
    public long[] shape() {
        return header.shape().clone();
    }

    /** The numpy dtype string: {@code "<f4"} or {@code "<f2"}. */
    public String dtype() {
        return header.dtype().descr();
    }

    /** The header's format version, e.g. {@code "1.0"}. */
    public String version() {
        return header.major() + "." + header.minor();
    }

    /**
     * Reads rows {@code [firstRow, firstRow + nRows)} into {@code dst} from {@code dstOffset},
     * row-major, and returns the number of floats written ({@code nRows * cols()}).
     *
     * @throws IllegalArgumentException if the rows are not all in the file or {@code dst} is too
     *     small
     */
    public int read(long firstRow, int nRows, float[] dst, int dstOffset) throws IOException {
        int n = checkRows(firstRow, nRows);
        if (dstOffset < 0 || dstOffset > dst.length - n)
            throw new IllegalArgumentException(file + ": " + nRows + " rows need " + n
                    + " floats from offset " + dstOffset + ", destination holds " + dst.length);
        ChannelIo.readFloats(ch, file, offset(firstRow), header.dtype().codec, dst, dstOffset, n);
        return n;
    }

    /** Like {@link #read(long, int, float[], int)}, into {@code dst} from its position (advanced). */
    public void read(long firstRow, int nRows, FloatBuffer dst) throws IOException {
        int n = checkRows(firstRow, nRows);
        if (dst.remaining() < n)
            throw new IllegalArgumentException(file + ": " + nRows + " rows need " + n
                    + " floats, destination has " + dst.remaining() + " remaining");
        if (dst.hasArray()) {
            read(firstRow, nRows, dst.array(), dst.arrayOffset() + dst.position());
            dst.position(dst.position() + n);
            return;
        }
        int rowsPerChunk = Math.max(1, ChannelIo.CHUNK_BYTES / 4 / Math.max(1, cols()));
        float[] tmp = new float[Math.min(nRows, rowsPerChunk) * cols()];
        for (int done = 0; done < nRows; ) {
            int k = Math.min(nRows - done, rowsPerChunk);
            int m = read(firstRow + done, k, tmp, 0);
            dst.put(tmp, 0, m);
            done += k;
        }
    }

    /** The whole array, row-major. */
    public float[] readAll() throws IOException {
        long n = rows() * cols();
        if (n > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException(file + ": " + n + " elements do not fit in one"
                    + " float[]; read it in batches of rows");
        float[] all = new float[(int) n];
        if (n > 0)
            read(0, (int) rows(), all, 0); // rows() <= n here, so it fits in an int
        return all;
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }

    /** Checks the row range and returns its float count. */
    private int checkRows(long firstRow, int nRows) {
        if (firstRow < 0 || nRows < 0 || firstRow > rows() - nRows)
            throw new IllegalArgumentException(file + ": rows [" + firstRow + ", "
                    + (firstRow + nRows) + ") are out of range; the file has " + rows() + " rows");
        long n = (long) nRows * cols();
        if (n > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException(file + ": " + nRows + " rows of " + cols()
                    + " floats are too many for one read");
        return (int) n;
    }

    private long offset(long row) {
        return header.dataOffset() + row * cols() * header.dtype().itemSize();
    }
}
