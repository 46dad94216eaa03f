package io.sae4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.sae4j.io.SaeFile;
import io.sae4j.backend.cpu.CpuBackend;
import io.sae4j.sae.EncoderActivation;
import io.sae4j.sae.SaeConfig;
import io.sae4j.sae.SparseAutoencoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SAELens directory format: round trip, hand-written v6 / pre-v6 configs, and clear errors. */
class SaeLensFormatTest {
    private static CpuBackend backend;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        backend = new CpuBackend();
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    private static float[] gaussian(Random r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (scale * r.nextGaussian());
        return v;
    }

    /** Tensors of an SAE with d_in = d, d_sae = m, in file layout. */
    private record Weights(float[] wEnc, float[] bEnc, float[] wDec, float[] bDec) {
        static Weights random(long seed, int d, int m) {
            Random r = new Random(seed);
            return new Weights(gaussian(r, d * m, 0.3), gaussian(r, m, 0.1), gaussian(r, m * d, 0.3), gaussian(r, d, 1));
        }

        Map<String, Safetensors.Tensor> tensors(int d, int m) {
            Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
            t.put("W_enc", Safetensors.Tensor.of(wEnc, d, m));
            t.put("b_enc", Safetensors.Tensor.of(bEnc, m));
            t.put("W_dec", Safetensors.Tensor.of(wDec, m, d));
            t.put("b_dec", Safetensors.Tensor.of(bDec, d));
            return t;
        }
    }

    private Path handWritten(String name, String cfgJson, Map<String, Safetensors.Tensor> tensors) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.writeString(dir.resolve(SaeLensFormat.CONFIG), cfgJson, StandardCharsets.UTF_8);
        if (tensors != null) Safetensors.write(dir.resolve(SaeLensFormat.WEIGHTS), tensors);
        return dir;
    }

    private static void assertMentions(String message, String... parts) {
        for (String p : parts)
            assertTrue(message != null && message.contains(p), "error message should mention '" + p + "': " + message);
    }

    @Test
    void writeThenReadRoundTrips() throws IOException {
        int d = 37, m = 150;
        Weights w = Weights.random(1, d, m);
        SaeConfig c = SaeConfig.builder().setDIn(d).setDSae(m).optL1Coefficient(0.7).optSeed(1234).build();
        Path dir = tmp.resolve("sae");
        try (SparseAutoencoder sae = SparseAutoencoder.fromWeights(c, backend, w.wEnc, w.bEnc, w.wDec, w.bDec)) {
            SaeLensFormat.write(sae, dir, Map.of("note", "from the test"));

            SaeFile f = SaeLensFormat.read(dir);
            assertEquals(d, f.dIn(), "d_in");
            assertEquals(m, f.dSae(), "d_sae");
            assertEquals("relu", f.architecture(), "sae4j writes standard / relu SAEs");
            assertNull(f.k(), "no k for a ReLU SAE");
            assertEquals(EncoderActivation.RELU, f.activation(), "a ReLU encoder");
            assertArrayEquals(w.wEnc, f.wEnc(), "W_enc round trip (exact, float32)");
            assertArrayEquals(w.bEnc, f.bEnc(), "b_enc round trip");
            assertArrayEquals(w.wDec, f.wDec(), "W_dec round trip");
            assertArrayEquals(w.bDec, f.bDec(), "b_dec round trip");
            assertEquals(0.7, f.l1Coefficient(), 1e-12, "l1 coefficient from the sae4j record");
            assertEquals(1234, f.seed(), "seed from the sae4j record");

            // the file itself: W_enc stored as (d_in, d_sae), the transpose of the model's W_encT (m, d)
            Map<String, Safetensors.Tensor> t = Safetensors.read(dir.resolve(SaeLensFormat.WEIGHTS)).tensors();
            assertEquals(java.util.Set.of("W_enc", "b_enc", "W_dec", "b_dec"), t.keySet(), "tensors in the file");
            assertArrayEquals(new long[] {d, m}, t.get("W_enc").shape(), "W_enc shape (d_in, d_sae)");
            assertArrayEquals(new long[] {m, d}, t.get("W_dec").shape(), "W_dec shape (d_sae, d_in)");
            assertArrayEquals(new long[] {m}, t.get("b_enc").shape(), "b_enc shape");
            assertArrayEquals(new long[] {d}, t.get("b_dec").shape(), "b_dec shape");
            for (Safetensors.Tensor x : t.values()) assertEquals("F32", x.dtype(), "float32 tensors");
            float[] stored = backend.download(sae.wEncT());
            int row = 5, col = 101; // W_enc[row = input dim][col = latent]
            assertEquals(w.wEnc[row * m + col], t.get("W_enc").data()[row * m + col], 0f, "W_enc[5][101] in the file");
            assertEquals(stored[col * d + row], t.get("W_enc").data()[row * m + col], 0f,
                    "file W_enc[5][101] equals the model's transposed storage W_encT[101][5]");
            for (int i = 0; i < d; i++)
                for (int j = 0; j < m; j++)
                    assertEquals(stored[j * d + i], t.get("W_enc").data()[i * m + j], 0f, "W_enc[" + i + "][" + j + "]");

            JsonObject cfg = JsonParser.parseString(Files.readString(dir.resolve(SaeLensFormat.CONFIG))).getAsJsonObject();
            assertEquals(d, cfg.get("d_in").getAsInt(), "cfg d_in");
            assertEquals(m, cfg.get("d_sae").getAsInt(), "cfg d_sae");
            assertEquals("standard", cfg.get("architecture").getAsString(), "cfg architecture");
            assertEquals("relu", cfg.get("activation_fn_str").getAsString(), "cfg activation_fn_str");
            assertTrue(cfg.get("apply_b_dec_to_input").getAsBoolean(), "cfg apply_b_dec_to_input");
            assertEquals("float32", cfg.get("dtype").getAsString(), "cfg dtype");
            assertTrue(cfg.has("sae4j") && cfg.get("sae4j").isJsonObject(), "cfg has the sae4j record: " + cfg);
            JsonObject own = cfg.getAsJsonObject("sae4j");
            assertEquals(SaeLensFormat.FORMAT_VERSION, own.get("format_version").getAsInt(), "record format_version");
            assertEquals(0.7, own.get("l1_coefficient").getAsDouble(), 1e-12, "record l1_coefficient");
            assertEquals(1234, own.get("seed").getAsLong(), "record seed");
            assertEquals("from the test", own.get("note").getAsString(), "caller's record entries are kept");
        }
    }

    @Test
    void readModelRunsLikeTheOriginal() throws IOException {
        int d = 48, m = 37, n = 23;
        Weights w = Weights.random(2, d, m);
        SaeConfig c = SaeConfig.builder().setDIn(d).setDSae(m).build();
        Path dir = tmp.resolve("sae");
        float[] x = gaussian(new Random(3), n * d, 1);
        try (SparseAutoencoder sae = SparseAutoencoder.fromWeights(c, backend, w.wEnc, w.bEnc, w.wDec, w.bDec)) {
            SaeLensFormat.write(sae, dir, null);
            SparseAutoencoder.Output expected = sae.run(x, n);
            try (SparseAutoencoder back = SaeLensFormat.read(dir).toModel(backend)) {
                SparseAutoencoder.Output got = back.run(x, n);
                assertArrayEquals(expected.latents(), got.latents(), "latents of the re-read SAE");
                assertArrayEquals(expected.reconstruction(), got.reconstruction(), "reconstruction of the re-read SAE");
            }
        }
    }

    @Test
    void writeReplacesAnExistingDirectory() throws IOException {
        int d = 7, m = 11;
        Path dir = tmp.resolve("sae");
        for (long seed = 1; seed <= 2; seed++) {
            Weights w = Weights.random(seed, d, m);
            try (SparseAutoencoder sae = SparseAutoencoder.fromWeights(SaeConfig.builder().setDIn(d).setDSae(m).build(),
                    backend, w.wEnc, w.bEnc, w.wDec, w.bDec)) {
                SaeLensFormat.write(sae, dir, null);
            }
            assertArrayEquals(w.wDec, SaeLensFormat.read(dir).wDec(), "second write replaces the first (seed " + seed + ")");
        }
        try (var s = Files.list(dir)) {
            assertEquals(java.util.Set.of(SaeLensFormat.CONFIG, SaeLensFormat.WEIGHTS),
                    s.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toSet()),
                    "no temporary files left behind");
        }
    }

    @Test
    void readsV6Standard() throws IOException {
        int d = 5, m = 9;
        Weights w = Weights.random(4, d, m);
        Path dir = handWritten("v6", """
                {"d_in": 5, "d_sae": 9, "dtype": "float32", "device": "cpu", "apply_b_dec_to_input": true,
                 "normalize_activations": "none", "architecture": "standard", "metadata": {"model_name": "gpt2"}}
                """, w.tensors(d, m));
        SaeFile f = SaeLensFormat.read(dir);
        assertEquals("relu", f.architecture(), "v6 standard is ReLU");
        assertEquals(d, f.dIn());
        assertEquals(m, f.dSae());
        assertArrayEquals(w.wEnc, f.wEnc(), "W_enc");
        assertArrayEquals(w.bEnc, f.bEnc(), "b_enc");
        assertArrayEquals(w.wDec, f.wDec(), "W_dec");
        assertArrayEquals(w.bDec, f.bDec(), "b_dec");
        assertEquals(SaeConfig.DEFAULT_SEED, f.seed(), "no sae4j record: the default seed");
        try (SparseAutoencoder sae = f.toModel(backend)) {
            assertArrayEquals(w.wEnc, sae.encoderWeights(), "the model's W_enc in file layout");
            assertArrayEquals(w.wDec, sae.decoderWeights(), "the model's W_dec");
        }
    }

    @Test
    void readsPreV6TopK() throws IOException {
        int d = 6, m = 13;
        Path dir = handWritten("prev6", """
                {"d_in": 6, "d_sae": 13, "dtype": "float32", "apply_b_dec_to_input": true,
                 "activation_fn_str": "topk", "activation_fn_kwargs": {"k": 3}}
                """, Weights.random(5, d, m).tensors(d, m));
        SaeFile f = SaeLensFormat.read(dir);
        assertEquals("topk", f.architecture(), "pre-v6 activation_fn_str topk");
        assertEquals(3, f.k(), "k from activation_fn_kwargs");
        assertEquals(EncoderActivation.topK(3), f.activation(), "TopK(3) encoder");
    }

    @Test
    void readsPreV6Relu() throws IOException {
        int d = 6, m = 13;
        Path dir = handWritten("prev6relu", """
                {"d_in": 6, "d_sae": 13, "activation_fn_str": "relu", "activation_fn_kwargs": {}}
                """, Weights.random(6, d, m).tensors(d, m));
        assertEquals("relu", SaeLensFormat.read(dir).architecture(), "pre-v6 relu");
    }

    @Test
    void readsV6TopK() throws IOException {
        int d = 6, m = 13;
        Path dir = handWritten("v6topk", """
                {"d_in": 6, "d_sae": 13, "dtype": "float32", "architecture": "topk", "k": 4,
                 "rescale_acts_by_decoder_norm": false}
                """, Weights.random(7, d, m).tensors(d, m));
        SaeFile f = SaeLensFormat.read(dir);
        assertEquals("topk", f.architecture(), "v6 topk");
        assertEquals(4, f.k(), "k from the v6 'k' key");
        assertEquals(EncoderActivation.topK(4), f.activation(), "TopK(4) encoder");
    }

    @Test
    void readsJumpRelu() throws IOException {
        int d = 4, m = 7;
        Weights w = Weights.random(8, d, m);
        Map<String, Safetensors.Tensor> t = w.tensors(d, m);
        float[] threshold = {0.1f, 0.2f, 0.3f, 0.05f, 1.5f, 0f, 0.75f};
        t.put("threshold", Safetensors.Tensor.of(threshold, m));
        Path dir = handWritten("jump", """
                {"d_in": 4, "d_sae": 7, "architecture": "jumprelu", "dtype": "float32"}
                """, t);
        SaeFile f = SaeLensFormat.read(dir);
        assertEquals("jumprelu", f.architecture());
        assertArrayEquals(threshold, f.activation().threshold(), "threshold tensor");
        assertArrayEquals(w.wDec, f.wDec(), "W_dec of a JumpReLU SAE");

        t.remove("threshold");
        Path noThreshold = handWritten("jump2", """
                {"d_in": 4, "d_sae": 7, "architecture": "jumprelu"}
                """, t);
        FormatException e = assertThrows(FormatException.class, () -> SaeLensFormat.read(noThreshold));
        assertMentions(e.getMessage(), noThreshold.resolve(SaeLensFormat.WEIGHTS).toString(), "threshold");
    }

    /**
     * A TopK or JumpReLU SAE read from a file is written back as that architecture (k, threshold):
     * reading the copy gives the same encoder and weights, and it encodes as the original does.
     */
    @Test
    void topKAndJumpReluAreWrittenAsWhatTheyAre() throws IOException {
        int d = 4, m = 7;
        Weights w = Weights.random(9, d, m);
        Map<String, Safetensors.Tensor> t = w.tensors(d, m);
        Path topk = handWritten("wtopk", "{\"d_in\": 4, \"d_sae\": 7, \"architecture\": \"topk\", \"k\": 2}", t);
        Map<String, Safetensors.Tensor> tj = w.tensors(d, m);
        tj.put("threshold", Safetensors.Tensor.of(new float[] {0.1f, 0.2f, 0.3f, 0.05f, 1.5f, 0f, 0.75f}, m));
        Path jump = handWritten("wjump", "{\"d_in\": 4, \"d_sae\": 7, \"architecture\": \"jumprelu\"}", tj);
        float[] x = Weights.random(10, 5, d).wDec; // 5 x 4 inputs
        for (Path src : List.of(topk, jump)) {
            SaeFile f = SaeLensFormat.read(src);
            Path copy = tmp.resolve("copy-" + src.getFileName());
            try (SparseAutoencoder sae = f.toModel(backend)) {
                SaeLensFormat.write(sae, copy, null);
                SaeFile g = SaeLensFormat.read(copy);
                assertEquals(f.architecture(), g.architecture(), src.toString());
                assertEquals(f.activation(), g.activation(), "encoder of " + src);
                assertArrayEquals(f.wEnc(), g.wEnc(), "W_enc of " + src);
                assertArrayEquals(f.wDec(), g.wDec(), "W_dec of " + src);
                try (SparseAutoencoder back = g.toModel(backend)) {
                    assertArrayEquals(sae.run(x, 5).latents(), back.run(x, 5).latents(), "latents of the copy of " + src);
                }
            }
        }
    }

    @Test
    void missingFilesAreNamed() throws IOException {
        Path notThere = tmp.resolve("nope");
        NoSuchFileException e0 = assertThrows(NoSuchFileException.class, () -> SaeLensFormat.read(notThere));
        assertMentions(e0.getMessage(), notThere.toString());

        int d = 5, m = 9;
        Path noCfg = Files.createDirectories(tmp.resolve("nocfg"));
        Safetensors.write(noCfg.resolve(SaeLensFormat.WEIGHTS), Weights.random(9, d, m).tensors(d, m));
        NoSuchFileException e1 = assertThrows(NoSuchFileException.class, () -> SaeLensFormat.read(noCfg));
        assertMentions(e1.getMessage(), noCfg.resolve(SaeLensFormat.CONFIG).toString(), "missing");

        Path noWeights = handWritten("noweights", "{\"d_in\": 5, \"d_sae\": 9}", null);
        NoSuchFileException e2 = assertThrows(NoSuchFileException.class, () -> SaeLensFormat.read(noWeights));
        assertMentions(e2.getMessage(), noWeights.resolve(SaeLensFormat.WEIGHTS).toString(), "missing");
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        int d = 5, m = 9;
        Map<String, Safetensors.Tensor> t = Weights.random(10, d, m).tensors(d, m);
        t.remove("b_enc");
        Path dir = handWritten("notensor", "{\"d_in\": 5, \"d_sae\": 9, \"architecture\": \"standard\"}", t);
        FormatException e = assertThrows(FormatException.class, () -> SaeLensFormat.read(dir));
        assertMentions(e.getMessage(), dir.resolve(SaeLensFormat.WEIGHTS).toString(), "b_enc", "missing");
        assertEquals(dir.resolve(SaeLensFormat.WEIGHTS), e.file(), "FormatException.file()");
    }

    @Test
    void shapeMismatchWithCfgIsNamed() throws IOException {
        int d = 5, m = 9;
        // cfg says d_in 6, tensors are for d_in 5
        Path dir = handWritten("shape", "{\"d_in\": 6, \"d_sae\": 9}", Weights.random(11, d, m).tensors(d, m));
        FormatException e = assertThrows(FormatException.class, () -> SaeLensFormat.read(dir));
        assertMentions(e.getMessage(), dir.resolve(SaeLensFormat.WEIGHTS).toString(), "W_enc", "[5, 9]", "[6, 9]");

        // W_enc stored transposed (d_sae, d_in): a layout error, not silently accepted
        Weights w = Weights.random(12, d, m);
        Map<String, Safetensors.Tensor> t = w.tensors(d, m);
        t.put("W_enc", Safetensors.Tensor.of(w.wEnc, m, d));
        Path transposed = handWritten("transposed", "{\"d_in\": 5, \"d_sae\": 9}", t);
        FormatException e2 = assertThrows(FormatException.class, () -> SaeLensFormat.read(transposed));
        assertMentions(e2.getMessage(), "W_enc", "[9, 5]", "[5, 9]");

        // d_sae disagrees with b_enc
        Map<String, Safetensors.Tensor> t3 = w.tensors(d, m);
        t3.put("b_enc", Safetensors.Tensor.of(new float[m + 1], m + 1));
        Path bEnc = handWritten("benc", "{\"d_in\": 5, \"d_sae\": 9}", t3);
        assertMentions(assertThrows(FormatException.class, () -> SaeLensFormat.read(bEnc)).getMessage(), "b_enc", "[10]");
    }

    @Test
    void invalidJsonIsNamed() throws IOException {
        int d = 5, m = 9;
        Path dir = handWritten("badjson", "{\"d_in\": 5, \"d_sae\": ", Weights.random(13, d, m).tensors(d, m));
        FormatException e = assertThrows(FormatException.class, () -> SaeLensFormat.read(dir));
        assertMentions(e.getMessage(), dir.resolve(SaeLensFormat.CONFIG).toString(), "JSON");

        Path array = handWritten("array", "[1, 2, 3]", Weights.random(13, d, m).tensors(d, m));
        FormatException e2 = assertThrows(FormatException.class, () -> SaeLensFormat.read(array));
        assertMentions(e2.getMessage(), array.resolve(SaeLensFormat.CONFIG).toString(), "object");

        Path noDin = handWritten("nodin", "{\"d_sae\": 9}", Weights.random(13, d, m).tensors(d, m));
        assertMentions(assertThrows(FormatException.class, () -> SaeLensFormat.read(noDin)).getMessage(),
                noDin.resolve(SaeLensFormat.CONFIG).toString(), "d_in");

        Path textDin = handWritten("textdin", "{\"d_in\": \"five\", \"d_sae\": 9}", Weights.random(13, d, m).tensors(d, m));
        assertMentions(assertThrows(FormatException.class, () -> SaeLensFormat.read(textDin)).getMessage(),
                textDin.resolve(SaeLensFormat.CONFIG).toString(), "d_in");

        Path zero = handWritten("zero", "{\"d_in\": 0, \"d_sae\": 9}", Weights.random(13, d, m).tensors(d, m));
        assertMentions(assertThrows(FormatException.class, () -> SaeLensFormat.read(zero)).getMessage(), "d_in");
    }

    @Test
    void unsupportedArchitectureIsNamed() throws IOException {
        int d = 5, m = 9;
        Path odd = handWritten("odd", "{\"d_in\": 5, \"d_sae\": 9, \"architecture\": \"matryoshka\"}",
                Weights.random(14, d, m).tensors(d, m));
        FormatException e = assertThrows(FormatException.class, () -> SaeLensFormat.read(odd));
        assertMentions(e.getMessage(), odd.resolve(SaeLensFormat.CONFIG).toString(), "matryoshka", "not supported");

        Path sigmoid = handWritten("sigmoid", "{\"d_in\": 5, \"d_sae\": 9, \"activation_fn_str\": \"sigmoid\"}",
                Weights.random(14, d, m).tensors(d, m));
        FormatException e2 = assertThrows(FormatException.class, () -> SaeLensFormat.read(sigmoid));
        assertMentions(e2.getMessage(), sigmoid.resolve(SaeLensFormat.CONFIG).toString(), "sigmoid", "not supported");

        Path transcoder = handWritten("transcoder", "{\"d_in\": 5, \"d_sae\": 9, \"architecture\": \"transcoder\"}",
                Weights.random(14, d, m).tensors(d, m));
        assertMentions(assertThrows(FormatException.class, () -> SaeLensFormat.read(transcoder)).getMessage(),
                "transcoder", "sae4j reads SAEs");
        Path batch = handWritten("batchtopk", "{\"d_in\": 5, \"d_sae\": 9, \"architecture\": \"batchtopk\", \"k\": 2}",
                Weights.random(14, d, m).tensors(d, m));
        assertMentions(assertThrows(FormatException.class, () -> SaeLensFormat.read(batch)).getMessage(),
                "training checkpoint", "jumprelu");
    }

    @Test
    void nonFiniteTensorIsNamed() throws IOException {
        int d = 5, m = 9;
        Weights w = Weights.random(15, d, m);
        w.wDec[3 * d + 2] = Float.NaN;
        Path dir = handWritten("nan", "{\"d_in\": 5, \"d_sae\": 9}", w.tensors(d, m));
        FormatException e = assertThrows(FormatException.class, () -> SaeLensFormat.read(dir));
        assertMentions(e.getMessage(), dir.resolve(SaeLensFormat.WEIGHTS).toString(), "W_dec", "NaN",
                String.valueOf(3 * d + 2));

        Weights w2 = Weights.random(16, d, m);
        w2.bDec[4] = Float.POSITIVE_INFINITY;
        Path inf = handWritten("inf", "{\"d_in\": 5, \"d_sae\": 9}", w2.tensors(d, m));
        assertMentions(assertThrows(FormatException.class, () -> SaeLensFormat.read(inf)).getMessage(), "b_dec", "Inf");
    }

    @Test
    void topkWithoutKIsNamed() throws IOException {
        int d = 5, m = 9;
        Path v6 = handWritten("v6nok", "{\"d_in\": 5, \"d_sae\": 9, \"architecture\": \"topk\"}",
                Weights.random(17, d, m).tensors(d, m));
        FormatException e = assertThrows(FormatException.class, () -> SaeLensFormat.read(v6));
        assertMentions(e.getMessage(), v6.resolve(SaeLensFormat.CONFIG).toString(), "topk", "k");

        Path pre = handWritten("prenok", "{\"d_in\": 5, \"d_sae\": 9, \"activation_fn_str\": \"topk\", "
                + "\"activation_fn_kwargs\": {}}", Weights.random(17, d, m).tensors(d, m));
        assertMentions(assertThrows(FormatException.class, () -> SaeLensFormat.read(pre)).getMessage(),
                pre.resolve(SaeLensFormat.CONFIG).toString(), "without k");

        Path tooBig = handWritten("bigk", "{\"d_in\": 5, \"d_sae\": 9, \"architecture\": \"topk\", \"k\": 10}",
                Weights.random(17, d, m).tensors(d, m));
        assertMentions(assertThrows(FormatException.class, () -> SaeLensFormat.read(tooBig)).getMessage(), "k = 10");
    }

    @Test
    void float16TensorsAreWidened() throws IOException {
        int d = 5, m = 9;
        Weights w = Weights.random(18, d, m);
        Path dir = Files.createDirectories(tmp.resolve("f16"));
        Files.writeString(dir.resolve(SaeLensFormat.CONFIG), "{\"d_in\": 5, \"d_sae\": 9, \"dtype\": \"float16\"}");
        Safetensors.write(dir.resolve(SaeLensFormat.WEIGHTS), w.tensors(d, m), null, "F16");
        SaeFile f = SaeLensFormat.read(dir);
        assertNotNull(f);
        for (int i = 0; i < w.wDec.length; i++)
            assertEquals(w.wDec[i], f.wDec()[i], Math.abs(w.wDec[i]) * 1e-3 + 1e-6, "W_dec[" + i + "] through float16");
    }

    @Test
    void nonIntegerSizesAndKAreNamed() throws IOException {
        for (String k : new String[] {"\"abc\"", "null", "3.5", "{}"}) {
            Path dir = handWritten("badk" + k.hashCode(), "{\"d_in\": 5, \"d_sae\": 9, \"architecture\": \"topk\", \"k\": " + k + "}",
                    Weights.random(7, 5, 9).tensors(5, 9));
            FormatException e = assertThrows(FormatException.class, () -> SaeLensFormat.read(dir), "k = " + k);
            assertMentions(e.getMessage(), dir.resolve(SaeLensFormat.CONFIG).toString(), "'k'");
        }
        Path dir = handWritten("fracd", "{\"d_in\": 5.7, \"d_sae\": 9}", Weights.random(7, 5, 9).tensors(5, 9));
        FormatException e = assertThrows(FormatException.class, () -> SaeLensFormat.read(dir));
        assertMentions(e.getMessage(), dir.resolve(SaeLensFormat.CONFIG).toString(), "'d_in'", "integer");
    }

    /**
     * An SAE folder the user may not read was reported as "not an SAE sae4j reads" (its files looked
     * absent). Needs a user whom permissions bind: as root the case cannot arise, and it is skipped.
     */
    @Test
    void anUnreadableFolderIsAPermissionError() throws IOException {
        int d = 5, m = 9;
        Weights w = Weights.random(2, d, m);
        Path dir = tmp.resolve("locked");
        try (SparseAutoencoder sae = SparseAutoencoder.fromWeights(SaeConfig.builder().setDIn(d).setDSae(m).build(), backend,
                w.wEnc, w.bEnc, w.wDec, w.bDec)) {
            SaeLensFormat.write(sae, dir, Map.of());
        }
        var mode = Files.getPosixFilePermissions(dir);
        Files.setPosixFilePermissions(dir, java.util.Set.of());
        try {
            org.junit.jupiter.api.Assumptions.assumeFalse(Files.isReadable(dir), "running as root: permissions do not apply");
            assertThrows(java.nio.file.AccessDeniedException.class, () -> SaeFiles.read(dir));
        } finally {
            Files.setPosixFilePermissions(dir, mode);
        }
    }
}
