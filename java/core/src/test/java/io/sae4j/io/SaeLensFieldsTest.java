package io.sae4j.io;

import static io.sae4j.io.ForeignSaeReference.assertClose;
import static io.sae4j.io.ForeignSaeReference.decode;
import static io.sae4j.io.ForeignSaeReference.gaussian;
import static io.sae4j.io.ForeignSaeReference.hiddenPre;
import static io.sae4j.io.ForeignSaeReference.jumpRelu;
import static io.sae4j.io.ForeignSaeReference.relu;
import static io.sae4j.io.ForeignSaeReference.topK;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sae4j.sae.SparseAutoencoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Every cfg.json field of SAELens that changes the maths, on directories written here from the
 * published layout: the latents and reconstructions sae4j computes from them against SAELens's
 * formulas (v6 process_sae_in and encode, pre-v6 decode) in double, or a refusal naming the field.
 */
class SaeLensFieldsTest extends WithCpuBackend {
    private static final int D = 12, M = 40, ROWS = 25;
    private final Random random = new Random(7);
    private final float[] wEnc = gaussian(random, D * M, 0.4), bEnc = gaussian(random, M, 0.3),
            wDec = gaussian(random, M * D, 0.4), bDec = gaussian(random, D, 1.0), x = gaussian(random, ROWS * D, 1.0);

    private Map<String, Safetensors.Tensor> tensors() {
        Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
        t.put("W_enc", Safetensors.Tensor.of(wEnc.clone(), D, M));
        t.put("b_enc", Safetensors.Tensor.of(bEnc.clone(), M));
        t.put("W_dec", Safetensors.Tensor.of(wDec.clone(), M, D));
        t.put("b_dec", Safetensors.Tensor.of(bDec.clone(), D));
        return t;
    }

    private Path dir(String name, String cfg, Map<String, Safetensors.Tensor> t) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.writeString(dir.resolve(SaeLensFormat.CONFIG), cfg.replace("$D", "" + D).replace("$M", "" + M),
                StandardCharsets.UTF_8);
        Safetensors.write(dir.resolve(SaeLensFormat.WEIGHTS), t);
        return dir;
    }

    private SparseAutoencoder.Output run(Path dir) throws IOException {
        try (SparseAutoencoder sae = SaeFiles.read(dir).toModel(backend)) {
            return sae.run(x, ROWS);
        }
    }

    private static void assertMentions(String message, String... parts) {
        for (String p : parts) assertTrue(message.contains(p), "expected '" + p + "' in: " + message);
    }

    @Test
    void applyBDecToInputFalseEncodesTheRawInput() throws IOException {
        Path dir = dir("nob", """
                {"d_in": $D, "d_sae": $M, "architecture": "standard", "apply_b_dec_to_input": false,
                 "normalize_activations": "none", "dtype": "float32"}""", tensors());
        SparseAutoencoder.Output out = run(dir);
        double[] f = relu(hiddenPre(x, ROWS, D, M, wEnc, bEnc, bDec, false, 1));
        assertClose(f, out.latents(), 1e-5, "latents with apply_b_dec_to_input false");
        assertClose(decode(f, ROWS, D, M, wDec, bDec, null, 1), out.reconstruction(), 1e-5, "reconstruction");
        assertTrue(SaeFiles.read(dir).notes().toString().contains("apply_b_dec_to_input"), "the fold is noted");
        assertArrayEquals(wDec, SaeFiles.read(dir).wDec(), "decoder untouched");
    }

    @Test
    void expectedAverageNormIsFoldedFromTheScalerOrRefused() throws IOException {
        String cfg = """
                {"d_in": $D, "d_sae": $M, "architecture": "standard", "apply_b_dec_to_input": true,
                 "normalize_activations": "expected_average_only_in"}""";
        Path bare = dir("avg", cfg, tensors());
        SaeFile f = SaeFiles.read(bare);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.toModel(backend));
        assertMentions(e.getMessage(), bare.toString(), "expected_average_only_in", SaeLensFormat.ACTIVATION_SCALER,
                "compared");
        assertArrayEquals(wDec, f.wDec(), "directions still read");

        Path scaled = dir("avg2", cfg, tensors());
        Files.writeString(scaled.resolve(SaeLensFormat.ACTIVATION_SCALER), "{\"scaling_factor\": 2.5}");
        SparseAutoencoder.Output out = run(scaled);
        double[] lat = relu(hiddenPre(x, ROWS, D, M, wEnc, bEnc, bDec, true, 2.5));
        assertClose(lat, out.latents(), 1e-5, "latents of s x");
        assertClose(decode(lat, ROWS, D, M, wDec, bDec, null, 2.5), out.reconstruction(), 1e-5,
                "reconstruction back in the input's scale");

        Path old = dir("avg3", cfg.replace("\"expected_average_only_in\"", "true"), tensors());
        assertMentions(assertThrows(IllegalArgumentException.class, () -> SaeFiles.read(old).toModel(backend)).getMessage(),
                "expected_average_only_in");
    }

    @Test
    void perTokenNormalisationsAreRefusedForward() throws IOException {
        for (String norm : new String[] {"constant_norm_rescale", "layer_norm"}) {
            Path dir = dir(norm, "{\"d_in\": $D, \"d_sae\": $M, \"architecture\": \"standard\", \"normalize_activations\": \""
                    + norm + "\"}", tensors());
            SaeFile f = SaeFiles.read(dir);
            assertNull(f.activation(), norm + ": no runnable activation");
            assertMentions(assertThrows(IllegalArgumentException.class, () -> f.toModel(backend)).getMessage(), norm);
        }
        Path bad = dir("badnorm", "{\"d_in\": $D, \"d_sae\": $M, \"normalize_activations\": \"rms\"}", tensors());
        assertMentions(assertThrows(FormatException.class, () -> SaeFiles.read(bad)).getMessage(), "normalize_activations",
                "rms");
    }

    @Test
    void dtypeRoundsTheWeightsAsSaeLensLoadsThem() throws IOException {
        Path dir = dir("bf16", "{\"d_in\": $D, \"d_sae\": $M, \"architecture\": \"standard\", \"dtype\": \"torch.bfloat16\"}",
                tensors());
        SaeFile f = SaeFiles.read(dir);
        for (int i = 0; i < wDec.length; i++)
            assertEquals(Half.bfloat16ToFloat(Half.floatToBfloat16(wDec[i])), f.wDec()[i], "W_dec[" + i + "] as bfloat16");
        assertMentions(f.notes().toString(), "bfloat16", "float32");
        Path bad = dir("int8", "{\"d_in\": $D, \"d_sae\": $M, \"dtype\": \"int8\"}", tensors());
        assertMentions(assertThrows(FormatException.class, () -> SaeFiles.read(bad)).getMessage(), "dtype", "int8");
    }

    @Test
    void topKWithDecoderNormRescaling() throws IOException {
        Path dir = dir("topk", """
                {"d_in": $D, "d_sae": $M, "architecture": "topk", "k": 5, "rescale_acts_by_decoder_norm": true}""",
                tensors());
        SparseAutoencoder.Output out = run(dir);
        double[] n = new double[M], inv = new double[M];
        for (int i = 0; i < M; i++) {
            for (int k = 0; k < D; k++) n[i] += (double) wDec[i * D + k] * wDec[i * D + k];
            n[i] = Math.sqrt(n[i]);
            inv[i] = 1 / n[i];
        }
        double[] pre = hiddenPre(x, ROWS, D, M, wEnc, bEnc, bDec, true, 1);
        for (int j = 0; j < pre.length; j++) pre[j] *= n[j % M];
        double[] f = topK(pre, ROWS, M, 5);
        assertClose(f, out.latents(), 1e-5, "TopK(5) of hidden_pre * ||W_dec,i||");
        assertClose(decode(f, ROWS, D, M, wDec, bDec, inv, 1), out.reconstruction(), 1e-5, "decode of f / ||W_dec,i||");
        assertEquals(5L * ROWS, out.nonzeros(), "k latents a row");
    }

    @Test
    void jumpReluKeepsPreAboveThreshold() throws IOException {
        Map<String, Safetensors.Tensor> t = tensors();
        float[] threshold = gaussian(new Random(3), M, 0.5); // both signs
        t.put("threshold", Safetensors.Tensor.of(threshold, M));
        Path dir = dir("jump", "{\"d_in\": $D, \"d_sae\": $M, \"architecture\": \"jumprelu\"}", t);
        SparseAutoencoder.Output out = run(dir);
        double[] f = jumpRelu(hiddenPre(x, ROWS, D, M, wEnc, bEnc, bDec, true, 1), M, threshold);
        assertClose(f, out.latents(), 1e-5, "relu(h) [h > threshold]");
        assertClose(decode(f, ROWS, D, M, wDec, bDec, null, 1), out.reconstruction(), 1e-5, "reconstruction");
    }

    @Test
    void gatedIsReadForItsDirectionsOnly() throws IOException {
        Map<String, Safetensors.Tensor> t = tensors();
        t.remove("b_enc");
        for (String name : new String[] {"b_gate", "b_mag", "r_mag"}) t.put(name, Safetensors.Tensor.of(gaussian(random, M, 0.1), M));
        Path dir = dir("gated", "{\"d_in\": $D, \"d_sae\": $M, \"architecture\": \"gated\"}", t);
        SaeFile f = SaeFiles.read(dir);
        assertArrayEquals(wDec, f.wDec(), "gated W_dec");
        assertArrayEquals(wEnc, f.wEnc(), "gated W_enc");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> f.toModel(backend)).getMessage(), "gated");
        t.remove("r_mag");
        Path broken = dir("gated2", "{\"d_in\": $D, \"d_sae\": $M, \"architecture\": \"gated\"}", t);
        assertMentions(assertThrows(FormatException.class, () -> SaeFiles.read(broken)).getMessage(), "r_mag");
    }

    @Test
    void preV6FinetuningScalingFactorScalesTheDecoderInput() throws IOException {
        Map<String, Safetensors.Tensor> t = tensors();
        float[] scale = gaussian(new Random(5), M, 0.5);
        for (int i = 0; i < M; i++) scale[i] = 1 + Math.abs(scale[i]);
        t.put("scaling_factor", Safetensors.Tensor.of(scale, M));
        Path dir = dir("ft", """
                {"d_in": $D, "d_sae": $M, "activation_fn_str": "relu", "finetuning_scaling_factor": true}""", t);
        SparseAutoencoder.Output out = run(dir);
        double[] f = relu(hiddenPre(x, ROWS, D, M, wEnc, bEnc, bDec, true, 1));
        double[] s = new double[M];
        for (int i = 0; i < M; i++) s[i] = scale[i];
        assertClose(f, out.latents(), 1e-5, "latents unchanged by the scaling factor");
        assertClose(decode(f, ROWS, D, M, wDec, bDec, s, 1), out.reconstruction(), 1e-5, "(f * scaling_factor) W_dec + b_dec");
        assertEquals("SAELens (pre-v6)", SaeFiles.read(dir).format());

        Path off = dir("ft2", "{\"d_in\": $D, \"d_sae\": $M, \"activation_fn_str\": \"relu\"}", t);
        assertMentions(assertThrows(FormatException.class, () -> SaeFiles.read(off)).getMessage(), "scaling_factor",
                "finetuning_scaling_factor");
    }

    @Test
    void tanhReluAndUnknownTensors() throws IOException {
        Path tanh = dir("tanh", "{\"d_in\": $D, \"d_sae\": $M, \"activation_fn_str\": \"tanh-relu\"}", tensors());
        assertMentions(assertThrows(IllegalArgumentException.class, () -> SaeFiles.read(tanh).toModel(backend)).getMessage(),
                "tanh-relu");
        Map<String, Safetensors.Tensor> t = tensors();
        t.put("W_skip", Safetensors.Tensor.of(new float[D * D], D, D));
        Path extra = dir("extra", "{\"d_in\": $D, \"d_sae\": $M, \"architecture\": \"standard\"}", t);
        assertMentions(assertThrows(FormatException.class, () -> SaeFiles.read(extra)).getMessage(), "W_skip", "refuses");
    }
}
