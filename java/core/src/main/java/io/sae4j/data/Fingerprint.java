package io.sae4j.data;

import io.sae4j.io.NpyReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Locale;
import java.util.zip.CRC32C;

/**
 * A content fingerprint of an activations file, for a training run's identity: the CRC-32C of
 * its shape and of {@value #SAMPLE_ROWS} rows spread evenly over the file (the first and the last
 * among them). Reading a fixed sample keeps it fast for multi-GB files; a file regenerated with
 * other data (another seed, other texts) at the same size and path changes it.
 */
public final class Fingerprint {
    /** Rows read: evenly spaced, including the first and the last. */
    public static final int SAMPLE_ROWS = 4096;

    private Fingerprint() {}

    /** "crc32c:XXXXXXXX over N sampled rows of (rows, d)". */
    public static String of(Path npy) throws IOException {
        try (NpyReader r = NpyReader.open(npy)) {
            long rows = r.rows();
            int d = r.cols();
            CRC32C crc = new CRC32C();
            ByteBuffer shape = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(rows).putLong(d);
            crc.update(shape.flip());
            int n = (int) Math.min(rows, SAMPLE_ROWS);
            float[] row = new float[d];
            ByteBuffer bytes = ByteBuffer.allocate(4 * d).order(ByteOrder.LITTLE_ENDIAN);
            for (int k = 0; k < n; k++) {
                long at = n == 1 ? 0 : Math.round((double) (rows - 1) * k / (n - 1));
                r.read(at, 1, row, 0);
                bytes.clear();
                bytes.asFloatBuffer().put(row);
                crc.update(bytes.array(), 0, 4 * d);
            }
            return String.format(Locale.ROOT, "crc32c:%08x over %d sampled rows of (%d, %d)", crc.getValue(), n, rows, d);
        }
    }
}
