package io.sae4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sae4j.io.FormatException;
import io.sae4j.io.NpyWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shuffled streaming of a .npy file: every epoch is a permutation of the rows, epochs and seeds
 * differ, the same seed repeats, skip is equivalent to reading, and bad files give clear errors.
 */
class NpyActivationSourceTest {
    private static final int ROWS = 1000, D = 7, CHUNK = 96; // 1000 = 10 * 96 + 40: a short last chunk

    @TempDir
    Path tmp;

    /** Rows tagged by their index in column 0; the other columns random. */
    private static float[] taggedRows(int rows, int d, long seed) {
        Random r = new Random(seed);
        float[] x = new float[rows * d];
        for (int i = 0; i < rows; i++) {
            x[i * d] = i;
            for (int k = 1; k < d; k++) x[i * d + k] = (float) r.nextGaussian();
        }
        return x;
    }

    private Path write(String name, float[] x, int rows, int d) throws IOException {
        Path f = tmp.resolve(name);
        NpyWriter.write(f, x, rows, d, false);
        return f;
    }

    /** Reads {@code total} rows in batches of {@code batch} (the last batch may be shorter). */
    private static float[] stream(NpyActivationSource s, int total, int batch) throws IOException {
        float[] out = new float[total * s.dIn()], buf = new float[batch * s.dIn()];
        for (int done = 0; done < total; ) {
            int n = Math.min(batch, total - done);
            s.next(buf, n);
            System.arraycopy(buf, 0, out, done * s.dIn(), n * s.dIn());
            done += n;
        }
        return out;
    }

    private static int[] tags(float[] rows, int d) {
        int[] t = new int[rows.length / d];
        for (int i = 0; i < t.length; i++) t[i] = (int) rows[i * d];
        return t;
    }

    @Test
    void everyEpochVisitsEveryRowOnce() throws IOException {
        float[] x = taggedRows(ROWS, D, 1);
        Path f = write("acts.npy", x, ROWS, D);
        for (int batch : new int[] {1, 37, 96, 250, 333, 1000, 1499}) {
            int epochs = 3;
            try (NpyActivationSource s = new NpyActivationSource(f, 7, CHUNK)) {
                assertEquals(D, s.dIn(), "width from the file");
                assertEquals(ROWS, s.rows(), "rows from the file");
                float[] all = stream(s, epochs * ROWS, batch);
                for (int e = 0; e < epochs; e++) {
                    boolean[] seen = new boolean[ROWS];
                    for (int i = 0; i < ROWS; i++) {
                        int pos = e * ROWS + i, tag = (int) all[pos * D];
                        assertTrue(tag >= 0 && tag < ROWS, "batch " + batch + ": tag " + tag + " out of range");
                        assertFalse(seen[tag], "batch " + batch + ", epoch " + e + ": row " + tag + " served twice");
                        seen[tag] = true;
                        for (int k = 0; k < D; k++)
                            assertEquals(x[tag * D + k], all[pos * D + k], 0f,
                                    "batch " + batch + ": row " + tag + " column " + k + " intact");
                    }
                    // ROWS distinct tags in [0, ROWS): every row exactly once
                }
            }
        }
    }

    @Test
    void orderIsShuffledPerEpochAndSeedAndRepeatable() throws IOException {
        Path f = write("acts.npy", taggedRows(ROWS, D, 2), ROWS, D);
        int[] a, b, c;
        try (NpyActivationSource s = new NpyActivationSource(f, 11, CHUNK)) {
            a = tags(stream(s, 2 * ROWS, 64), D);
        }
        try (NpyActivationSource s = new NpyActivationSource(f, 11, CHUNK)) {
            b = tags(stream(s, 2 * ROWS, 173), D); // another batch size: the stream depends only on rows consumed
        }
        try (NpyActivationSource s = new NpyActivationSource(f, 12, CHUNK)) {
            c = tags(stream(s, 2 * ROWS, 64), D);
        }
        assertArrayEquals(a, b, "same seed, same stream (whatever the batch size)");
        int[] e0 = Arrays.copyOfRange(a, 0, ROWS), e1 = Arrays.copyOfRange(a, ROWS, 2 * ROWS);
        assertFalse(Arrays.equals(e0, e1), "epoch 1 should be in another order than epoch 0");
        int[] ident = new int[ROWS];
        for (int i = 0; i < ROWS; i++) ident[i] = i;
        assertFalse(Arrays.equals(e0, ident), "epoch 0 should be shuffled, not file order");
        assertFalse(Arrays.equals(a, c), "seed 12 should give another order than seed 11");
        // not merely different somewhere: most positions differ between epochs and between seeds
        int sameEpoch = 0, sameSeed = 0;
        for (int i = 0; i < ROWS; i++) {
            if (e0[i] == e1[i]) sameEpoch++;
            if (a[i] == c[i]) sameSeed++;
        }
        assertTrue(sameEpoch < ROWS / 10, "epochs 0 and 1 agree at " + sameEpoch + " of " + ROWS + " positions");
        assertTrue(sameSeed < ROWS / 10, "seeds 11 and 12 agree at " + sameSeed + " of " + ROWS + " positions");
    }

    @Test
    void firstRowsComeFromAcrossTheFile() throws IOException {
        // with a chunk of 96 rows the first chunk served is one random chunk, but over many seeds the
        // first row served should land in many different chunks
        Path f = write("acts.npy", taggedRows(ROWS, D, 3), ROWS, D);
        boolean[] chunkSeen = new boolean[(ROWS + CHUNK - 1) / CHUNK];
        float[] row = new float[D];
        for (long seed = 0; seed < 40; seed++)
            try (NpyActivationSource s = new NpyActivationSource(f, seed, CHUNK)) {
                s.next(row, 1);
                chunkSeen[(int) row[0] / CHUNK] = true;
            }
        int seen = 0;
        for (boolean b : chunkSeen) if (b) seen++;
        assertTrue(seen >= 6, "first rows over 40 seeds fell in only " + seen + " of " + chunkSeen.length + " chunks");
    }

    @Test
    void skipEqualsReading() throws IOException {
        Path f = write("acts.npy", taggedRows(ROWS, D, 4), ROWS, D);
        int batch = 77;
        float[] expected = new float[batch * D], got = new float[batch * D], scratch = new float[batch * D];
        for (long k : new long[] {0, 1, 5, 12, 13, 14, 40}) { // 13 * 77 = 1001: crosses the first epoch boundary
            try (NpyActivationSource read = new NpyActivationSource(f, 5, CHUNK);
                 NpyActivationSource skip = new NpyActivationSource(f, 5, CHUNK)) {
                for (long i = 0; i < k; i++) read.next(scratch, batch);
                read.next(expected, batch);
                skip.skip(k, batch);
                skip.next(got, batch);
                assertArrayEquals(expected, got, "skip(" + k + ", " + batch + ") then next == " + k + " reads then next");
            }
        }
        // skip in the middle of a stream, after some reads
        try (NpyActivationSource read = new NpyActivationSource(f, 5, CHUNK);
             NpyActivationSource skip = new NpyActivationSource(f, 5, CHUNK)) {
            read.next(scratch, 3);
            skip.next(scratch, 3);
            for (int i = 0; i < 20; i++) read.next(scratch, batch);
            skip.skip(20, batch);
            read.next(expected, batch);
            skip.next(got, batch);
            assertArrayEquals(expected, got, "skip after reads");
        }
    }

    @Test
    void defaultChunkAndChunkLargerThanFile() throws IOException {
        int rows = 150, d = 5;
        Path f = write("small.npy", taggedRows(rows, d, 6), rows, d);
        for (int chunk : new int[] {NpyActivationSource.DEFAULT_CHUNK_ROWS, 1, 149, 150, 151}) {
            try (NpyActivationSource s = new NpyActivationSource(f, 9, chunk)) {
                int[] t = tags(stream(s, rows, 41), d);
                Arrays.sort(t);
                for (int i = 0; i < rows; i++) assertEquals(i, t[i], "chunk " + chunk + ": epoch is a permutation");
            }
        }
        try (NpyActivationSource a = new NpyActivationSource(f, 9);
             NpyActivationSource b = new NpyActivationSource(f, 9, NpyActivationSource.DEFAULT_CHUNK_ROWS)) {
            assertArrayEquals(stream(a, 2 * rows, 50), stream(b, 2 * rows, 50), "default chunk size");
        }
    }

    @Test
    void float16FileIsRead() throws IOException {
        int rows = 150, d = 5;
        float[] x = taggedRows(rows, d, 7);
        Path f = tmp.resolve("half.npy");
        NpyWriter.write(f, x, rows, d, true);
        try (NpyActivationSource s = new NpyActivationSource(f, 1, 32)) {
            float[] all = stream(s, rows, 64);
            for (int i = 0; i < rows; i++) {
                int tag = (int) all[i * d]; // integers below 2048 are exact in float16
                for (int k = 1; k < d; k++)
                    assertEquals(x[tag * d + k], all[i * d + k], Math.abs(x[tag * d + k]) * 1e-3 + 1e-4,
                            "float16 row " + tag + " column " + k);
            }
        }
    }

    @Test
    void nonFiniteValueIsNamedByFileRowAndColumn() throws IOException {
        float[] x = taggedRows(ROWS, D, 8);
        x[537 * D + 4] = Float.NaN;
        Path f = write("nan.npy", x, ROWS, D);
        try (NpyActivationSource s = new NpyActivationSource(f, 3, CHUNK)) {
            float[] buf = new float[50 * D];
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
                for (int i = 0; i < 40; i++) s.next(buf, 50); // 2000 rows: the chunk with row 537 must load
            });
            assertTrue(e.getMessage().contains(f.toString()), "message names the file: " + e.getMessage());
            assertTrue(e.getMessage().contains("row 537"), "message names the row: " + e.getMessage());
            assertTrue(e.getMessage().contains("column 4"), "message names the column: " + e.getMessage());
        }
        x[537 * D + 4] = 0;
        x[999 * D + 6] = Float.NEGATIVE_INFINITY; // in the short last chunk
        Path g = write("inf.npy", x, ROWS, D);
        try (NpyActivationSource s = new NpyActivationSource(g, 3, CHUNK)) {
            float[] buf = new float[64 * D];
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
                for (int i = 0; i < 40; i++) s.next(buf, 64);
            });
            assertTrue(e.getMessage().contains(g.toString()) && e.getMessage().contains("row 999")
                    && e.getMessage().contains("column 6"), "Inf named by file, row and column: " + e.getMessage());
        }
    }

    @Test
    void badFilesGiveClearErrors() throws IOException {
        Path empty = Files.createFile(tmp.resolve("empty.npy"));
        FormatException e0 = assertThrows(FormatException.class, () -> new NpyActivationSource(empty, 0));
        assertTrue(e0.getMessage().startsWith(empty.toString()), "empty file named: " + e0.getMessage());

        Path noRows = write("norows.npy", new float[0], 0, D);
        IOException e1 = assertThrows(IOException.class, () -> new NpyActivationSource(noRows, 0));
        assertTrue(e1.getMessage().contains(noRows.toString()) && e1.getMessage().contains("no rows"),
                "a (0, d) file: " + e1.getMessage());

        Path full = write("full.npy", taggedRows(ROWS, D, 9), ROWS, D);
        byte[] bytes = Files.readAllBytes(full);
        Path truncated = Files.write(tmp.resolve("truncated.npy"), Arrays.copyOf(bytes, bytes.length - 10));
        FormatException e2 = assertThrows(FormatException.class, () -> new NpyActivationSource(truncated, 0));
        assertTrue(e2.getMessage().contains(truncated.toString()) && e2.getMessage().contains("truncated"),
                "truncated file: " + e2.getMessage());

        Path text = Files.writeString(tmp.resolve("text.npy"), "not an npy file at all\n");
        FormatException e3 = assertThrows(FormatException.class, () -> new NpyActivationSource(text, 0));
        assertTrue(e3.getMessage().contains(text.toString()), "non-npy file named: " + e3.getMessage());

        try (NpyActivationSource s = new NpyActivationSource(full, 0, CHUNK)) {
            IllegalArgumentException e4 = assertThrows(IllegalArgumentException.class,
                    () -> s.next(new float[10 * (D - 1)], 10), "a destination sized for rows of width d - 1");
            assertTrue(e4.getMessage().contains(String.valueOf(D)), "width mismatch names the width: " + e4.getMessage());
        }
    }

    @Test
    void oneDimensionalFileIsOneColumn() throws IOException {
        float[] v = new float[37];
        for (int i = 0; i < v.length; i++) v[i] = i;
        Path f = tmp.resolve("vec.npy");
        NpyWriter.writeVector(f, v, false);
        try (NpyActivationSource s = new NpyActivationSource(f, 4, 10)) {
            assertEquals(1, s.dIn(), "a 1-D array is rows of one column");
            assertEquals(37, s.rows());
            int[] t = tags(stream(s, 37, 5), 1);
            Arrays.sort(t);
            for (int i = 0; i < 37; i++) assertEquals(i, t[i], "1-D epoch is a permutation");
        }
    }
}
