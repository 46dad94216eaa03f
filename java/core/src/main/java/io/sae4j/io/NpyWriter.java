package io.sae4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Writes {@code .npy} files (version 1.0 headers laid out exactly as numpy writes them, see
 * {@link Npy}) of float32 or float16, converting with round-to-nearest-even.
 *
 * <p>Streaming use: {@link #open}, {@link #append} batches of rows, {@link #close}. The data goes
 * to {@code name.tmp} beside the target; the header reserves room for a 21-digit row count (as
 * numpy's does), so close() rewrites it in place with the final shape, then renames the file
 * into place (atomically where the file system allows). Nothing appears at the target path
 * until close(); {@link #abort} (or an append that failed) discards the temporary file instead.
 */
public final class NpyWriter implements AutoCloseable {
    private final Path target;
    private final Path tmp;
    private final FileChannel ch;
    private final Npy.Dtype dtype;
    private final int cols;
    private final boolean vector;
    private long rows;
    private boolean finished;
    private boolean failed;

    private NpyWriter(Path target, int cols, Npy.Dtype dtype, boolean vector) throws IOException {
        if (cols < 0)
            throw new IllegalArgumentException(target + ": negative column count " + cols);
        this.target = target;
        this.tmp = ChannelIo.tmpSibling(target);
        this.dtype = dtype;
        this.cols = cols;
        this.vector = vector;
        try {
            this.ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING);
        } catch (FileSystemException e) {
            throw ChannelIo.naming(target, tmp, e); // the user asked for target, not its .tmp
        }
        try {
            ChannelIo.writeFully(ch, ByteBuffer.wrap(header()));
        } catch (IOException | RuntimeException e) {
            abort();
            throw e;
        }
    }

    /** Starts a 2-D file of {@code cols} columns; rows are added by {@link #append}. */
    public static NpyWriter open(Path file, int cols, Npy.Dtype dtype) throws IOException {
        return new NpyWriter(file, cols, dtype, false);
    }

    /** Writes a {@code rows x cols} array from {@code data} (row-major, exactly that long). */
    public static void write(Path file, float[] data, long rows, int cols, boolean float16)
            throws IOException {
        if (rows < 0 || (long) data.length != rows * cols)
            throw new IllegalArgumentException(file + ": shape (" + rows + ", " + cols
                    + ") needs " + rows * cols + " floats, got " + data.length);
        writeAll(new NpyWriter(file, cols, dtype(float16), false), data, rows);
    }

    /** Writes a 1-D array. */
    public static void writeVector(Path file, float[] data, boolean float16) throws IOException {
        writeAll(new NpyWriter(file, 1, dtype(float16), true), data, data.length);
    }

    private static void writeAll(NpyWriter w, float[] data, long rows) throws IOException {
        try {
            w.append(data, 0, Math.toIntExact(rows));
        } catch (IOException | RuntimeException e) {
            w.abort();
            throw e;
        }
        w.close();
    }

    /** Appends {@code nRows} rows from {@code src[offset, offset + nRows * cols)}. */
    public void append(float[] src, int offset, int nRows) throws IOException {
        if (finished)
            throw new IllegalStateException(target + ": writer is already closed");
        long n = (long) nRows * cols;
        if (nRows < 0 || offset < 0 || offset > src.length - n)
            throw new IllegalArgumentException(target + ": " + nRows + " rows of " + cols
                    + " need " + n + " floats from offset " + offset + ", source holds "
                    + src.length);
        try {
            ChannelIo.writeFloats(ch, dtype.codec, src, offset, (int) n);
        } catch (IOException | RuntimeException e) {
            failed = true;
            throw e;
        }
        rows += nRows;
    }

    /** Rows appended so far. */
    public long rows() {
        return rows;
    }

    /**
     * Writes the final shape into the header and moves the file into place. If an append failed,
     * discards the file instead. Does nothing the second time.
     */
    @Override
    public void close() throws IOException {
        if (finished)
            return;
        if (failed) {
            abort();
            return;
        }
        finished = true;
        try {
            ChannelIo.writeFully(ch, ByteBuffer.wrap(header()), 0); // same length as open's
            ch.force(true);
            ch.close();
            ChannelIo.publish(tmp, target);
        } catch (FileSystemException e) {
            closeQuietly(e);
            ChannelIo.discard(tmp, e);
            throw ChannelIo.naming(target, tmp, e);
        } catch (IOException | RuntimeException e) {
            closeQuietly(e);
            ChannelIo.discard(tmp, e);
            throw e;
        }
    }

    /** The file written until {@link #close} publishes it as {@code target}: {@code target.tmp}. */
    public static Path temporaryFile(Path target) {
        return ChannelIo.tmpSibling(target);
    }

    /** Discards what was written; the target path is left untouched. */
    public void abort() {
        if (finished)
            return;
        finished = true;
        try { // best effort: a failure to clean up has nobody to be reported to
            ch.close();
            Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
            // the .tmp file may stay behind; the target is untouched either way
        }
    }

    private byte[] header() {
        return Npy.encodeHeader(dtype, vector ? new long[] {rows} : new long[] {rows, cols});
    }

    private void closeQuietly(Throwable failure) {
        try {
            ch.close();
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }

    private static Npy.Dtype dtype(boolean float16) {
        return float16 ? Npy.Dtype.F16 : Npy.Dtype.F32;
    }
}
