package io.sae4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * File plumbing shared by the formats: positional reads that convert to float in bounded chunks
 * (so a batch never needs the whole file in memory), chunked encoding writes, and the
 * write-to-{@code name.tmp}-then-rename publication of finished files.
 */
final class ChannelIo {
    /** Bytes converted per chunk. */
    static final int CHUNK_BYTES = 1 << 20;

    private ChannelIo() {}

    /** Fills {@code buf} from {@code ch} starting at byte {@code pos}; a short file is an error. */
    static void readFully(FileChannel ch, ByteBuffer buf, long pos, Path file) throws IOException {
        long p = pos;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, p);
            if (r < 0)
                throw new FormatException(file, "unexpected end of file at byte " + p
                        + " (the file is " + ch.size() + " bytes; was it truncated?)");
            p += r;
        }
    }

    /** Reads {@code n} elements stored as {@code codec} at byte {@code pos} into {@code dst[off..]}. */
    static void readFloats(FileChannel ch, Path file, long pos, FloatCodec codec, float[] dst,
            int off, int n) throws IOException {
        ByteBuffer buf = chunk((long) n * codec.size, codec);
        for (int done = 0; done < n; ) {
            int k = Math.min(n - done, buf.capacity() / codec.size);
            buf.clear().limit(k * codec.size);
            readFully(ch, buf, pos + (long) done * codec.size, file);
            buf.flip();
            codec.decode(buf, dst, off + done, k);
            done += k;
        }
    }

    /** Writes {@code src[off, off + n)} to {@code ch} as {@code codec}. */
    static void writeFloats(WritableByteChannel ch, FloatCodec codec, float[] src, int off, int n)
            throws IOException {
        ByteBuffer buf = chunk((long) n * codec.size, codec);
        for (int done = 0; done < n; ) {
            int k = Math.min(n - done, buf.capacity() / codec.size);
            buf.clear().limit(k * codec.size);
            codec.encode(src, off + done, k, buf);
            writeFully(ch, buf);
            done += k;
        }
    }

    static void writeFully(WritableByteChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining())
            ch.write(buf);
    }

    /** Writes all of {@code buf} at byte {@code pos} of {@code ch}. */
    static void writeFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        for (long p = pos; buf.hasRemaining(); )
            p += ch.write(buf, p);
    }

    /** A little-endian heap buffer of at most {@link #CHUNK_BYTES}, whole elements only. */
    private static ByteBuffer chunk(long bytesNeeded, FloatCodec codec) {
        int cap = (int) Math.min(bytesNeeded, CHUNK_BYTES - CHUNK_BYTES % codec.size);
        return ByteBuffer.allocate(cap).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Where a file is written before it is moved into place: {@code name.tmp} beside it. */
    static Path tmpSibling(Path target) {
        return target.resolveSibling(target.getFileName() + ".tmp");
    }

    /** Writes a whole file at the path it is given. */
    @FunctionalInterface
    interface FileBody {
        void write(Path file) throws IOException;
    }

    /**
     * Writes {@code target} through its temporary sibling: {@code body} writes the temporary file,
     * which then replaces target. On any failure the temporary file is removed, and a file-system
     * error names target (with its reason), never the .tmp.
     */
    static void writeAtomically(Path target, FileBody body) throws IOException {
        Path tmp = tmpSibling(target);
        try {
            body.write(tmp);
            publish(tmp, target);
        } catch (FileSystemException e) {
            discard(tmp, e);
            throw naming(target, tmp, e);
        } catch (IOException | RuntimeException e) {
            discard(tmp, e);
            throw e;
        }
    }

    /** Moves a finished temporary file over {@code target}, atomically where supported. */
    static void publish(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * The failure {@code e} of writing {@code tmp} (the temporary file of {@code target}) as a
     * failure of {@code target}, with the same reason: users asked for target, not its .tmp.
     */
    static FileSystemException naming(Path target, Path tmp, FileSystemException e) {
        String about = e.getFile();
        if (about == null || !(about.equals(tmp.toString()) || about.equals(target.toString()))) return e;
        FileSystemException out = new FileSystemException(target.toString(), null, FileErrors.reason(e));
        out.initCause(e);
        return out;
    }

    /** Deletes a temporary file after a failure, adding any problem to {@code failure}. */
    static void discard(Path tmp, Throwable failure) {
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }
}
