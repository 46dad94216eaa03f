package io.sae4j.data;

import io.sae4j.io.NpyReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.zip.CRC32C;

/**
 * A content fingerprint of an activations file, for a training run's identity, read from one
 * sample of {@value #SAMPLE_ROWS} rows spread evenly over the file (the first and the last among
 * them): {@link #id} is the CRC-32C of the shape and those rows, so a file regenerated with other
 * data at the same size and path changes it; {@link #varies} says whether the rows differ at all.
 * Reading a fixed sample keeps it fast for multi-GB files.
 *
 * @param id     "crc32c:XXXXXXXX over N sampled rows of (rows, d)"
 * @param rows   how many rows were sampled
 * @param varies false when every sampled row is the same (nothing to learn, FVU undefined)
 */
public record Fingerprint(String id, int rows, boolean varies) {
    /** Rows read: evenly spaced, including the first and the last. */
    public static final int SAMPLE_ROWS = 4096;

    public static Fingerprint of(Path npy) throws IOException {
        try (NpyReader r = NpyReader.open(npy)) {
            long rows = r.rows();
            int d = r.cols();
            CRC32C crc = new CRC32C();
            ByteBuffer shape = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(rows).putLong(d);
            crc.update(shape.flip());
            int n = (int) Math.min(rows, SAMPLE_ROWS);
            float[] row = new float[d], first = null;
            boolean varies = false;
            ByteBuffer bytes = ByteBuffer.allocate(4 * d).order(ByteOrder.LITTLE_ENDIAN);
            for (int k = 0; k < n; k++) {
                long at = n == 1 ? 0 : Math.round((double) (rows - 1) * k / (n - 1));
                r.read(at, 1, row, 0);
                if (first == null) first = row.clone();
                else varies = varies || !Arrays.equals(row, first);
                bytes.clear();
                bytes.asFloatBuffer().put(row);
                crc.update(bytes.array(), 0, 4 * d);
            }
            String id = String.format(Locale.ROOT, "crc32c:%08x over %d sampled rows of (%d, %d)", crc.getValue(), n, rows, d);
            return new Fingerprint(id, n, varies);
        }
    }
}
