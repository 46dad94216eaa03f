package io.sae4j.io;

import static io.sae4j.io.ForeignSaeReference.assertClose;
import static io.sae4j.io.ForeignSaeReference.decode;
import static io.sae4j.io.ForeignSaeReference.gaussian;
import static io.sae4j.io.ForeignSaeReference.hiddenPre;
import static io.sae4j.io.ForeignSaeReference.relu;
import static io.sae4j.io.ForeignSaeReference.topK;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
 * EleutherAI sparsify hookpoint directories written here from the published layout
 * (encoder.weight (m, d), encoder.bias, W_dec (m, d), b_dec), against sparsify's encode
 * TopK_k(relu((x - b_dec) encoder.weight^T + encoder.bias)) and decode f W_dec + b_dec in double.
 */
class SparsifyFormatTest extends WithCpuBackend {
    private static final int D = 10, M = 30, ROWS = 20, K = 4;
    private final Random random = new Random(11);
    private final float[] encoderWeight = gaussian(random, M * D, 0.4), encoderBias = gaussian(random, M, 0.3),
            wDec = gaussian(random, M * D, 0.4), bDec = gaussian(random, D, 1.0), x = gaussian(random, ROWS * D, 1.0);

    private Map<String, Safetensors.Tensor> tensors() {
        Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
        t.put("encoder.weight", Safetensors.Tensor.of(encoderWeight.clone(), M, D));
        t.put("encoder.bias", Safetensors.Tensor.of(encoderBias.clone(), M));
        t.put("W_dec", Safetensors.Tensor.of(wDec.clone(), M, D));
        t.put("b_dec", Safetensors.Tensor.of(bDec.clone(), D));
        return t;
    }

    private Path dir(String name, String cfg, Map<String, Safetensors.Tensor> t) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name).resolve("layers.3"));
        Files.writeString(dir.resolve(SparsifyFormat.CONFIG), cfg, StandardCharsets.UTF_8);
        Safetensors.write(dir.resolve(SparsifyFormat.WEIGHTS), t);
        return dir;
    }

    private float[] wEnc() { // (d, m)
        float[] w = new float[D * M];
        for (int i = 0; i < M; i++)
            for (int k = 0; k < D; k++) w[k * M + i] = encoderWeight[i * D + k];
        return w;
    }

    @Test
    void topKEncodesAsSparsifyDoes() throws IOException {
        Path dir = dir("run", """
                {"activation": "topk", "expansion_factor": 3, "normalize_decoder": true, "num_latents": 0, "k": 4,
                 "multi_topk": false, "skip_connection": false, "transcode": false, "d_in": 10}""", tensors());
        SaeFile f = SaeFiles.read(dir);
        assertEquals("sparsify", f.format());
        assertEquals(K, f.k());
        assertArrayEquals(wDec, f.wDec(), "W_dec as stored (m, d)");
        double[] lat = topK(relu(hiddenPre(x, ROWS, D, M, wEnc(), encoderBias, bDec, true, 1)), ROWS, M, K);
        try (SparseAutoencoder sae = f.toModel(backend)) {
            SparseAutoencoder.Output out = sae.run(x, ROWS);
            assertClose(lat, out.latents(), 1e-5, "TopK_4(relu(pre))");
            assertClose(decode(lat, ROWS, D, M, wDec, bDec, null, 1), out.reconstruction(), 1e-5, "f W_dec + b_dec");
        }
    }

    @Test
    void oldFilesWithoutActivationAndExplicitNumLatents() throws IOException {
        Path dir = dir("old", "{\"expansion_factor\": 99, \"num_latents\": 30, \"k\": 4, \"d_in\": 10}", tensors());
        assertEquals(K, SaeFiles.read(dir).k(), "no 'activation': topk; num_latents wins over expansion_factor");
        Path wrong = dir("wrong", "{\"expansion_factor\": 2, \"num_latents\": 0, \"k\": 4, \"d_in\": 10}", tensors());
        String e = assertThrows(FormatException.class, () -> SaeFiles.read(wrong)).getMessage();
        assertTrue(e.contains("20") && e.contains("30 rows"), e);
    }

    @Test
    void whatDoesNotRunForwardIsSaid() throws IOException {
        String[][] cases = {{"\"activation\": \"groupmax\"", "groupmax"}, {"\"transcode\": true", "transcode"},
                {"\"signed\": true", "signed"}};
        for (String[] c : cases) {
            Path dir = dir(c[1], "{" + c[0] + ", \"num_latents\": 30, \"k\": 4, \"d_in\": 10}", tensors());
            SaeFile f = SaeFiles.read(dir);
            String e = assertThrows(IllegalArgumentException.class, () -> f.toModel(backend)).getMessage();
            assertTrue(e.contains(c[1]) && e.contains("compared"), e);
        }
        Map<String, Safetensors.Tensor> t = tensors();
        t.put("W_skip", Safetensors.Tensor.of(new float[D * D], D, D));
        Path skip = dir("skip", "{\"skip_connection\": true, \"num_latents\": 30, \"k\": 4, \"d_in\": 10}", t);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SaeFiles.read(skip).toModel(backend)).getMessage()
                .contains("skip_connection"));
        Path stray = dir("stray", "{\"num_latents\": 30, \"k\": 4, \"d_in\": 10}", t);
        assertTrue(assertThrows(FormatException.class, () -> SaeFiles.read(stray)).getMessage().contains("W_skip"));
        Path neither = Files.createDirectories(tmp.resolve("empty"));
        assertTrue(assertThrows(FormatException.class, () -> SaeFiles.read(neither)).getMessage().contains("sparsify"));
    }
}
