package io.sae4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {
    private static final String DICT_3x2 =
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }";

    @TempDir
    Path dir;

    /**
     * A .npy file built by hand from the spec: magic, version, little-endian header length (u16
     * for 1.x, u32 after), the dict, spaces, '\n', total header a multiple of {@code align}.
     */
    private static byte[] npy(int major, String dict, int align, byte[] data) {
        byte[] text = dict.getBytes(major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        int prefix = major == 1 ? 10 : 12;
        int headerTotal = (prefix + text.length + 1 + align - 1) / align * align;
        ByteBuffer b = ByteBuffer.allocate(headerTotal + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII));
        b.put((byte) major).put((byte) 0);
        if (major == 1)
            b.putShort((short) (headerTotal - prefix));
        else
            b.putInt(headerTotal - prefix);
        b.put(text);
        while (b.position() < headerTotal - 1)
            b.put((byte) ' ');
        b.put((byte) '\n').put(data);
        return b.array();
    }

    private static byte[] f32Bytes(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v)
            b.putFloat(x);
        return b.array();
    }

    private static byte[] shortBytes(int... v) {
        ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : v)
            b.putShort((short) x);
        return b.array();
    }

    private static float[] random(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++)
            v[i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextInt(-8, 8)));
        return v;
    }

    private Path file(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    private static FormatException assertBad(Path file, String... fragments) {
        FormatException e = assertThrows(FormatException.class, () -> NpyReader.open(file).close());
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        for (String f : fragments)
            assertTrue(e.getMessage().contains(f), "missing '" + f + "' in: " + e.getMessage());
        return e;
    }

    @Test
    void readsHandWrittenV1FileAndWriterReproducesItsBytes() throws IOException {
        float[] data = random(new Random(1), 6);
        byte[] expected = npy(1, DICT_3x2, 64, f32Bytes(data));
        assertEquals(128 + 24, expected.length);
        Path hand = file("hand.npy", expected);
        try (NpyReader r = NpyReader.open(hand)) {
            assertEquals(3, r.rows());
            assertEquals(2, r.cols());
            assertEquals("<f4", r.dtype());
            assertEquals("1.0", r.version());
            assertArrayEquals(new long[] {3, 2}, r.shape());
            assertArrayEquals(data, r.readAll());
            float[] row = new float[2];
            assertEquals(2, r.read(1, 1, row, 0));
            assertArrayEquals(Arrays.copyOfRange(data, 2, 4), row);
        }
        Path written = dir.resolve("written.npy");
        NpyWriter.write(written, data, 3, 2, false);
        assertArrayEquals(expected, Files.readAllBytes(written));
    }

    @Test
    void readsVersion2And3HeadersWithFloat16Data() throws IOException {
        // 1, -2, 65504, 2^-24 (smallest subnormal), -inf, 1/3 rounded (0x3555)
        byte[] data = shortBytes(0x3c00, 0xc000, 0x7bff, 0x0001, 0xfc00, 0x3555);
        float[] expected = {1f, -2f, 65504f, 0x1p-24f, Float.NEGATIVE_INFINITY, 0.33325195f};
        String dict = "{\"descr\": \"<f2\", \"fortran_order\": False, \"shape\": (2, 3)}";
        for (int major : new int[] {2, 3}) {
            Path f = file("v" + major + ".npy", npy(major, dict, 16, data));
            try (NpyReader r = NpyReader.open(f)) {
                assertEquals(major + ".0", r.version());
                assertEquals("<f2", r.dtype());
                assertEquals(3, r.cols());
                assertArrayEquals(expected, r.readAll());
            }
        }
    }

    @Test
    void readsOldStyleHeaderWithLongSuffixes() throws IOException {
        float[] data = random(new Random(2), 6);
        Path f = file("old.npy", npy(1,
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", 16, f32Bytes(data)));
        assertArrayEquals(data, Npy.read(f));
    }

    @Test
    void batchedReadsOfStreamedFileMatchTheData() throws IOException {
        Random rnd = new Random(3);
        int rows = 1000, cols = 7;
        float[] data = random(rnd, rows * cols);
        Path streamed = dir.resolve("streamed.npy");
        try (NpyWriter w = NpyWriter.open(streamed, cols, Npy.Dtype.F32)) {
            for (int done = 0; done < rows; ) {
                int k = Math.min(rows - done, rnd.nextInt(0, 90));
                w.append(data, done * cols, k);
                done += k;
            }
            assertEquals(rows, w.rows());
        }
        Path whole = dir.resolve("whole.npy");
        NpyWriter.write(whole, data, rows, cols, false);
        assertArrayEquals(Files.readAllBytes(whole), Files.readAllBytes(streamed));

        try (NpyReader r = NpyReader.open(streamed)) {
            float[] viaArray = new float[rows * cols + 5];
            FloatBuffer heap = FloatBuffer.allocate(rows * cols);
            FloatBuffer direct = ByteBuffer.allocateDirect(4 * rows * cols)
                    .order(ByteOrder.nativeOrder()).asFloatBuffer();
            for (int done = 0; done < rows; ) {
                int k = Math.min(rows - done, rnd.nextInt(1, 130));
                assertEquals(k * cols, r.read(done, k, viaArray, 5 + done * cols));
                r.read(done, k, heap);
                r.read(done, k, direct);
                done += k;
            }
            assertArrayEquals(data, Arrays.copyOfRange(viaArray, 5, viaArray.length));
            assertArrayEquals(data, heap.array());
            float[] fromDirect = new float[rows * cols];
            direct.flip().get(fromDirect);
            assertArrayEquals(data, fromDirect);
        }
    }

    @Test
    void float16RoundTripRoundsToNearestEven() throws IOException {
        float[] data = random(new Random(4), 40 * 9);
        Path f = dir.resolve("half.npy");
        NpyWriter.write(f, data, 40, 9, true);
        assertEquals(128 + 2 * data.length, Files.size(f));
        try (NpyReader r = NpyReader.open(f)) {
            assertEquals("<f2", r.dtype());
            float[] back = r.readAll();
            for (int i = 0; i < data.length; i++)
                assertEquals(Half.halfToFloat(Half.floatToHalf(data[i])), back[i], 0f);
        }
    }

    @Test
    void vectorsAreOneDimensional() throws IOException {
        float[] v = random(new Random(5), 5);
        Path f = dir.resolve("vec.npy");
        NpyWriter.writeVector(f, v, false);
        String header = new String(Files.readAllBytes(f), 10, 118, StandardCharsets.ISO_8859_1);
        assertTrue(header.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }"));
        assertArrayEquals(v, Npy.readVector(f));
        try (NpyReader r = NpyReader.open(f)) {
            assertEquals(5, r.rows());
            assertEquals(1, r.cols());
            assertArrayEquals(new long[] {5}, r.shape());
        }
        Path matrix = file("m.npy", npy(1, DICT_3x2, 64, f32Bytes(random(new Random(6), 6))));
        FormatException e = assertThrows(FormatException.class, () -> Npy.readVector(matrix));
        assertTrue(e.getMessage().contains("(3, 2)"), e.getMessage());
    }

    @Test
    void streamingWriterPublishesOnlyOnClose() throws IOException {
        Path target = dir.resolve("acts.npy");
        Path tmp = dir.resolve("acts.npy.tmp");
        float[] data = random(new Random(7), 12);
        NpyWriter w = NpyWriter.open(target, 4, Npy.Dtype.F16);
        w.append(data, 0, 3);
        assertFalse(Files.exists(target));
        assertTrue(Files.exists(tmp));
        w.close();
        w.close(); // second close does nothing
        assertFalse(Files.exists(tmp));
        try (NpyReader r = NpyReader.open(target)) {
            assertEquals(3, r.rows());
            assertEquals(4, r.cols());
        }
        assertThrows(IllegalStateException.class, () -> w.append(data, 0, 1));

        byte[] before = Files.readAllBytes(target);
        NpyWriter aborted = NpyWriter.open(target, 4, Npy.Dtype.F32);
        aborted.append(data, 0, 2);
        aborted.abort();
        assertFalse(Files.exists(tmp));
        assertArrayEquals(before, Files.readAllBytes(target)); // untouched
    }

    @Test
    void emptyArrayHasZeroRows() throws IOException {
        Path f = dir.resolve("empty.npy");
        NpyWriter.open(f, 4, Npy.Dtype.F32).close();
        try (NpyReader r = NpyReader.open(f)) {
            assertEquals(0, r.rows());
            assertEquals(4, r.cols());
            assertEquals(0, r.readAll().length);
        }
    }

    @Test
    void readingPastTheEndIsAnIllegalArgument() throws IOException {
        Path f = file("short.npy", npy(1, DICT_3x2, 64, f32Bytes(random(new Random(8), 6))));
        try (NpyReader r = NpyReader.open(f)) {
            float[] dst = new float[4];
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> r.read(2, 2, dst, 0));
            assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("rows [2, 4) are out of range; the file has 3 rows"),
                    e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> r.read(-1, 1, dst, 0));
            assertThrows(IllegalArgumentException.class, () -> r.read(0, 3, dst, 0)); // dst too small
        }
    }

    @Test
    void rejectsWrongMagicAndVersion() throws IOException {
        byte[] good = npy(1, DICT_3x2, 64, f32Bytes(random(new Random(9), 6)));
        byte[] magic = good.clone();
        magic[5] = 'Z';
        assertBad(file("magic.npy", magic), "not a .npy file", "magic");
        assertBad(file("empty.npy", new byte[0]), "not a .npy file", "0 bytes");
        byte[] version = good.clone();
        version[6] = 4;
        assertBad(file("version.npy", version), "unsupported .npy format version 4.0",
                "supported: 1.0, 2.0, 3.0");
        assertBad(file("prefix.npy", Arrays.copyOf(good, 9)), "truncated", "9 bytes");
    }

    @Test
    void rejectsUnsupportedHeaders() throws IOException {
        byte[] data = f32Bytes(random(new Random(10), 6));
        assertBad(file("fortran.npy", npy(1,
                "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2), }", 64, data)),
                "fortran_order is True", "C-order");
        assertBad(file("big.npy", npy(1,
                "{'descr': '>f4', 'fortran_order': False, 'shape': (3, 2), }", 64, data)),
                "unsupported dtype '>f4' (big-endian)", "'<f4' (float32), '<f2' (float16)");
        assertBad(file("f8.npy", npy(1,
                "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 1), }", 64, data)),
                "unsupported dtype '<f8'", "supported: '<f4'");
        assertBad(file("3d.npy", npy(1,
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 2), }", 64, data)),
                "shape (1, 3, 2) has 3 dimensions", "only 1-D and 2-D");
        assertBad(file("neg.npy", npy(1,
                "{'descr': '<f4', 'fortran_order': False, 'shape': (-3, 2), }", 64, data)),
                "negative dimension");
        assertBad(file("huge.npy", npy(1,
                "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1180591620717411303424), }",
                64, data)), "impossibly large");
        assertBad(file("list.npy", npy(1, "[1, 2]", 64, data)), "header is not a dict");
        assertBad(file("garbage.npy", npy(1, "{'descr': '<f4', ", 64, data)),
                "not a Python dict literal");
        assertBad(file("nokey.npy", npy(1, "{'descr': '<f4', 'fortran_order': False}", 64, data)),
                "header lacks 'shape'");
    }

    @Test
    void rejectsTruncatedFilesAndHostileHeaderLength() throws IOException {
        byte[] good = npy(1, DICT_3x2, 64, f32Bytes(random(new Random(11), 6)));
        assertBad(file("trunc.npy", Arrays.copyOf(good, good.length - 5)), "truncated",
                "(3, 2)", "152 bytes in all", "the file has 147 bytes");
        byte[] hostile = good.clone();
        hostile[8] = (byte) 0x88; // header length 5000 in a 152-byte file
        hostile[9] = (byte) 0x13;
        assertBad(file("hostile.npy", hostile), "header length 5000", "past the end",
                "152 bytes");
        byte[] v2 = npy(2, DICT_3x2, 64, f32Bytes(new float[6]));
        ByteBuffer.wrap(v2).order(ByteOrder.LITTLE_ENDIAN).putInt(8, -1); // 4 GiB header
        assertBad(file("hostile2.npy", v2), "header length 4294967295");
    }

    /** A file that cannot be written: the error names the file asked for, not its .tmp, and leaves nothing. */
    @Test
    void unwritableTargetsAreNamed() throws IOException {
        Path missing = dir.resolve("no-such-dir").resolve("x.npy");
        java.nio.file.FileSystemException e = assertThrows(java.nio.file.FileSystemException.class,
                () -> NpyWriter.write(missing, new float[6], 2, 3, false));
        assertEquals(missing.toString(), e.getFile());
        Path st = dir.resolve("no-such-dir").resolve("x.safetensors");
        e = assertThrows(java.nio.file.FileSystemException.class, () -> Safetensors.write(st,
                java.util.Map.of("a", Safetensors.Tensor.of(new float[2], 2))));
        assertEquals(st.toString(), e.getFile());
        Path busy = Files.createDirectories(dir.resolve("busy.safetensors"));
        Files.writeString(busy.resolve("inside"), "x");
        e = assertThrows(java.nio.file.FileSystemException.class, () -> Safetensors.write(busy,
                java.util.Map.of("a", Safetensors.Tensor.of(new float[2], 2))));
        assertEquals(busy.toString(), e.getFile());
        assertFalse(Files.exists(dir.resolve("busy.safetensors.tmp")), "no temporary file left");
    }

    /** A header length reaching into the data printed the float bytes as text (Latin-1 garbage) in the message. */
    @Test
    void headerLengthIntoTheDataPrintsNoDataBytes(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("badlen.npy");
        float[] x = new float[64 * 32];
        java.util.Random r = new java.util.Random(5);
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        NpyWriter.write(f, x, 64, 32, false);
        byte[] b = java.nio.file.Files.readAllBytes(f);
        b[8] = (byte) 0xff; // header length 0x00ff + its low byte: the header now runs into the floats
        java.nio.file.Files.write(f, b);
        String m = assertThrows(FormatException.class, () -> {
            try (NpyReader rd = NpyReader.open(f)) {
                rd.rows();
            }
        }).getMessage();
        assertTrue(m.chars().allMatch(c -> c >= 0x20 && c < 0x7f), m);
        assertTrue(m.contains("{'descr': '<f4'") && m.contains("not text"), m);
    }
}
