package io.sae4j.io;

import static io.sae4j.io.ForeignSaeReference.assertClose;
import static io.sae4j.io.ForeignSaeReference.decode;
import static io.sae4j.io.ForeignSaeReference.gaussian;
import static io.sae4j.io.ForeignSaeReference.hiddenPre;
import static io.sae4j.io.ForeignSaeReference.relu;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sae4j.io.TorchFixture.TensorEntry;
import io.sae4j.sae.SparseAutoencoder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** OpenAI sparse_autoencoder state dicts, written byte by byte as torch.save does, against its Autoencoder's forward. */
class OpenAiFormatTest extends WithCpuBackend {
    private static final int D = 8, M = 24, ROWS = 15;
    private final Random random = new Random(17);
    private final float[] encoderWeight = gaussian(random, M * D, 0.4), latentBias = gaussian(random, M, 0.3),
            decoderWeight = gaussian(random, D * M, 0.4), preBias = gaussian(random, D, 1.0), x = gaussian(random, ROWS * D, 1.0);

    private Map<String, Object> stateDict() {
        Map<String, Object> sd = new LinkedHashMap<>();
        sd.put("pre_bias", TensorEntry.floats(preBias, D));
        sd.put("latent_bias", TensorEntry.floats(latentBias, M));
        sd.put("stats_last_nonzero", TensorEntry.floats(new float[M], M));
        sd.put("encoder.weight", TensorEntry.floats(encoderWeight, M, D));
        sd.put("decoder.weight", TensorEntry.floats(decoderWeight, D, M));
        return sd;
    }

    @Test
    void reluAutoencoderRunsForward() throws IOException {
        Map<String, Object> sd = stateDict();
        sd.put("activation", "ReLU");
        Path f = TorchFixture.write(tmp.resolve("8.pt"), sd, false);
        SaeFile file = SaeFiles.read(f);
        assertEquals("OpenAI sparse_autoencoder", file.format());
        float[] wEnc = new float[D * M], wDec = new float[M * D];
        for (int i = 0; i < M; i++)
            for (int k = 0; k < D; k++) {
                wEnc[k * M + i] = encoderWeight[i * D + k];
                wDec[i * D + k] = decoderWeight[k * M + i];
            }
        try (SparseAutoencoder sae = file.toModel(backend)) {
            SparseAutoencoder.Output out = sae.run(x, ROWS);
            double[] lat = relu(hiddenPre(x, ROWS, D, M, wEnc, latentBias, preBias, true, 1));
            assertClose(lat, out.latents(), 1e-5, "relu((x - pre_bias) encoder.weight^T + latent_bias)");
            assertClose(decode(lat, ROWS, D, M, wDec, preBias, null, 1), out.reconstruction(), 1e-5, "f decoder.weight^T + pre_bias");
        }
    }

    @Test
    void topKIsReadButItsLayerNormIsSaid() throws IOException {
        Map<String, Object> sd = stateDict();
        sd.put("activation", "TopK");
        sd.put("activation_state_dict", Map.of("k", 4L, "postact_fn", "ReLU"));
        SaeFile f = SaeFiles.read(TorchFixture.write(tmp.resolve("topk.pt"), sd, false));
        assertEquals(M, f.dSae());
        String e = assertThrows(IllegalArgumentException.class, () -> f.toModel(backend)).getMessage();
        assertTrue(e.contains("layer-normalises"), e);
        sd.put("W_extra", TensorEntry.floats(new float[1], 1));
        Path stray = TorchFixture.write(tmp.resolve("stray.pt"), sd, false);
        assertTrue(assertThrows(FormatException.class, () -> SaeFiles.read(stray)).getMessage().contains("W_extra"));
        Path other = TorchFixture.write(tmp.resolve("other.pt"), Map.of("w", TensorEntry.floats(new float[1], 1)), false);
        assertTrue(assertThrows(FormatException.class, () -> SaeFiles.read(other)).getMessage().contains("pre_bias"));
    }
}
