package io.sae4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sae4j.io.Safetensors.Contents;
import io.sae4j.io.Safetensors.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.function.Executable;

class SafetensorsTest {
    @TempDir
    Path dir;

    /** A safetensors file by hand: u64 LE header length, the JSON (space-padded to 8), data. */
    private static byte[] st(String json, byte[] data) {
        byte[] j = json.getBytes(StandardCharsets.UTF_8);
        int n = (j.length + 7) / 8 * 8;
        ByteBuffer b = ByteBuffer.allocate(8 + n + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(n).put(j);
        while (b.position() < 8 + n)
            b.put((byte) ' ');
        return b.put(data).array();
    }

    private static byte[] le(float[] f32, int... u16) {
        ByteBuffer b = ByteBuffer.allocate(4 * f32.length + 2 * u16.length)
                .order(ByteOrder.LITTLE_ENDIAN);
        for (float x : f32)
            b.putFloat(x);
        for (int x : u16)
            b.putShort((short) x);
        return b.array();
    }

    private static float[] random(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++)
            v[i] = (float) rnd.nextGaussian();
        return v;
    }

    private Path file(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    private static void assertBad(Path file, Executable call, String... fragments) {
        FormatException e = assertThrows(FormatException.class, call);
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        for (String f : fragments)
            assertTrue(e.getMessage().contains(f), "missing '" + f + "' in: " + e.getMessage());
    }

    private static void assertBadFile(Path file, String... fragments) {
        assertBad(file, () -> Safetensors.read(file), fragments);
    }

    @Test
    void readsHandWrittenFile() throws IOException {
        float[] w = random(new Random(1), 6);
        String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                + "\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[24,30]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[30,32]}}";
        // F16 1, -2, 65504; BF16 0x4049 = 3.140625
        Path f = file("hand.safetensors", st(json, le(w, 0x3c00, 0xc000, 0x7bff, 0x4049)));
        Contents c = Safetensors.read(f);
        assertEquals(List.of("w", "h", "b"), List.copyOf(c.tensors().keySet()));
        assertEquals(Map.of("format", "pt"), c.metadata());
        Tensor tw = c.tensors().get("w");
        assertEquals("F32", tw.dtype());
        assertArrayEquals(new long[] {2, 3}, tw.shape());
        assertArrayEquals(w, tw.data());
        Tensor th = c.tensors().get("h");
        assertEquals("F16", th.dtype());
        assertArrayEquals(new float[] {1f, -2f, 65504f}, th.data());
        Tensor tb = c.tensors().get("b");
        assertArrayEquals(new long[0], tb.shape());
        assertArrayEquals(new float[] {3.140625f}, tb.data());
        assertArrayEquals(new float[] {1f, -2f, 65504f}, Safetensors.readTensor(f, "h").data());
        assertEquals(Map.of("format", "pt"), Safetensors.readMetadata(f));
    }

    /** Byte layouts the reference implementation's own tests expect of it. */
    @Test
    void writerMatchesReferenceLayout() throws IOException {
        float[] six = {0, 1, 2, 3, 4, 5};
        Path f = dir.resolve("ref.safetensors");
        Safetensors.write(f, Map.of("attn.0", Tensor.of(six, 1, 2, 3)));
        byte[] expected = st("{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],"
                + "\"data_offsets\":[0,24]}}", le(six));
        assertEquals(64, expected[0]); // 64 bytes of JSON, no padding needed
        assertArrayEquals(expected, Files.readAllBytes(f));

        Safetensors.write(f, Map.of("attn0", Tensor.of(six, 1, 1, 2, 3)));
        expected = st("{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],"
                + "\"data_offsets\":[0,24]}}", le(six));
        assertEquals(72, expected[0]); // 65 bytes of JSON + 7 spaces
        assertArrayEquals(expected, Files.readAllBytes(f));

        Safetensors.write(f, Map.of(), Map.of("framework", "pt"), "F32");
        assertArrayEquals(st("{\"__metadata__\":{\"framework\":\"pt\"}}", new byte[0]),
                Files.readAllBytes(f));
        Safetensors.write(f, Map.of());
        assertArrayEquals(st("{}", new byte[0]), Files.readAllBytes(f));
        assertFalse(Files.exists(dir.resolve("ref.safetensors.tmp")));
    }

    @Test
    void roundTripSortsByNameAndKeepsMetadata() throws IOException {
        Random rnd = new Random(2);
        int d = 8, m = 32;
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("b_enc", Tensor.of(random(rnd, m), m));
        in.put("W_enc", Tensor.of(random(rnd, d * m), d, m));
        in.put("b_dec", Tensor.of(random(rnd, d), d));
        in.put("W_dec", Tensor.of(random(rnd, m * d), m, d));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("architecture", "standard");
        meta.put("odd \"chars\"\n\t\\ é", "ü\u0001");
        Path f = dir.resolve("sae_weights.safetensors");
        Safetensors.write(f, in, meta, "F32");
        Contents c = Safetensors.read(f);
        assertEquals(List.of("W_dec", "W_enc", "b_dec", "b_enc"),
                List.copyOf(c.tensors().keySet()));
        assertEquals(meta, c.metadata());
        for (String name : in.keySet()) {
            assertArrayEquals(in.get(name).shape(), c.tensors().get(name).shape());
            assertArrayEquals(in.get(name).data(), c.tensors().get(name).data());
        }
        long n = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8);
        assertEquals(8 + n + 4L * (2 * d * m + d + m), Files.size(f));
    }

    @Test
    void narrowDtypesRoundToNearestEven() throws IOException {
        float[] data = random(new Random(3), 50);
        Path f = dir.resolve("narrow.safetensors");
        for (String dtype : List.of("F16", "BF16")) {
            Safetensors.write(f, Map.of("x", Tensor.of(data, 5, 10)), null, dtype);
            Tensor t = Safetensors.readTensor(f, "x");
            assertEquals(dtype, t.dtype());
            assertEquals(8 + 64 + 2 * 50, Files.size(f)); // header + 2 bytes per element
            for (int i = 0; i < data.length; i++) {
                float expected = dtype.equals("F16")
                        ? Half.halfToFloat(Half.floatToHalf(data[i]))
                        : Half.bfloat16ToFloat(Half.floatToBfloat16(data[i]));
                assertEquals(expected, t.data()[i], 0f);
            }
        }
    }

    @Test
    void mixedDtypesGoInDescendingDtypeOrderThenName() throws IOException {
        Random rnd = new Random(4);
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("a_half", new Tensor("F16", new long[] {3}, random(rnd, 3)));
        in.put("z_f32", Tensor.of(random(rnd, 2), 2));
        in.put("b_bf16", new Tensor("BF16", new long[] {1}, random(rnd, 1)));
        in.put("a_f32", Tensor.of(random(rnd, 4), 2, 2));
        Path f = dir.resolve("mixed.safetensors");
        Safetensors.write(f, in, null, null);
        Contents c = Safetensors.read(f);
        assertEquals(List.of("a_f32", "z_f32", "b_bf16", "a_half"),
                List.copyOf(c.tensors().keySet()));
        assertEquals("BF16", c.tensors().get("b_bf16").dtype());
    }

    @Test
    void missingTensorNameListsTheAvailableOnes() throws IOException {
        Path f = dir.resolve("two.safetensors");
        Random rnd = new Random(5);
        Safetensors.write(f, Map.of("W_dec", Tensor.of(random(rnd, 4), 2, 2),
                "b_dec", Tensor.of(random(rnd, 2), 2)));
        assertBad(f, () -> Safetensors.readTensor(f, "threshold"),
                "no tensor named 'threshold'", "['W_dec', 'b_dec']");
    }

    @Test
    void tensorRecordChecksItsShape() {
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[5], 2, 3));
        assertThrows(IllegalArgumentException.class, () -> new Tensor("I64", new long[] {1},
                new float[1]));
        assertThrows(IllegalArgumentException.class, () -> Safetensors.write(
                dir.resolve("x.safetensors"), Map.of("x", Tensor.of(new float[1], 1)), null, "F64"));
    }

    @Test
    void rejectsHostileOrTruncatedHeaders() throws IOException {
        assertBadFile(file("tiny.safetensors", new byte[5]), "5 bytes", "too short");
        byte[] good = st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                le(random(new Random(6), 2)));
        byte[] huge = good.clone();
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 40);
        assertBadFile(file("huge.safetensors", huge), "header length 1099511627776",
                "exceeds the 100000000-byte limit");
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -1L);
        assertBadFile(file("max.safetensors", huge), "header length 18446744073709551615");
        byte[] past = good.clone();
        ByteBuffer.wrap(past).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1000);
        assertBadFile(file("past.safetensors", past), "header length 1000",
                "past the end of the file (" + good.length + " bytes");
        assertBadFile(file("json.safetensors", st("{\"a\": {\"dtype\": ", new byte[0])),
                "header is not valid JSON");
        assertBadFile(file("array.safetensors", st("[1, 2]", new byte[0])),
                "header is not a JSON object");
    }

    @Test
    void rejectsBadTensorEntries() throws IOException {
        byte[] data = le(random(new Random(7), 10));
        String[][] cases = {
            {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", "tensor 'a' lacks the field 'data_offsets'"},
            {"{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", "tensor 'a' lacks the field 'dtype'"},
            {"{\"a\":{\"dtype\":\"F99\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                "tensor 'a' has unknown dtype \"F99\""},
            {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}",
                "span 20 bytes, but shape [2, 3] of F32 needs 24 bytes"},
            {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
                "shape must be an array of non-negative integers"},
            {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}",
                "data_offsets must be an array of 2 non-negative integers"},
            {"{\"a\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}",
                "tensors 'a' and 'b' overlap"},
            {"{\"a\":{\"dtype\":\"F32\",\"shape\":[12],\"data_offsets\":[0,48]}}",
                "data_offsets [0, 48] reach past the end of the 40-byte data buffer"},
            {"{\"__metadata__\":{\"step\":3}}", "'__metadata__' must map strings to strings"},
            {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                "header names 'a' twice (two tensors of one name)"},
            {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                "header names 'dtype' twice"},
            {"{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", "header names 'k' twice"},
            {"{\"a\":" + "[".repeat(40) + "]".repeat(40) + "}", "nests deeper than 16 levels"},
        };
        for (int k = 0; k < cases.length; k++)
            assertBadFile(file("bad" + k + ".safetensors", st(cases[k][0], data)), cases[k][1]);
    }

    @Test
    void truncatedDataIsReported() throws IOException {
        Path f = dir.resolve("t.safetensors");
        Safetensors.write(f, Map.of("x", Tensor.of(random(new Random(8), 6), 6)));
        byte[] all = Files.readAllBytes(f);
        Path cut = file("cut.safetensors", java.util.Arrays.copyOf(all, all.length - 4));
        assertBadFile(cut, "data_offsets [0, 24] reach past the end of the 20-byte data buffer",
                "truncated");
    }

    @Test
    void nonFloatDtypesAreValidatedButNotConverted() throws IOException {
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        data.write(new byte[16]); // two I64
        float[] x = random(new Random(9), 2);
        data.write(le(x));
        Path f = file("ints.safetensors", st(
                "{\"step\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                + "\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}",
                data.toByteArray()));
        assertArrayEquals(x, Safetensors.readTensor(f, "x").data());
        assertBadFile(f, "tensor 'step' has dtype I64", "readable dtypes: F16, BF16, F32");
    }
}
