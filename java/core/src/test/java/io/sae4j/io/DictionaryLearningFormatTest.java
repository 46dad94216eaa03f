package io.sae4j.io;

import static io.sae4j.io.ForeignSaeReference.assertClose;
import static io.sae4j.io.ForeignSaeReference.decode;
import static io.sae4j.io.ForeignSaeReference.gaussian;
import static io.sae4j.io.ForeignSaeReference.hiddenPre;
import static io.sae4j.io.ForeignSaeReference.jumpRelu;
import static io.sae4j.io.ForeignSaeReference.relu;
import static io.sae4j.io.ForeignSaeReference.topK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sae4j.io.TorchFixture.TensorEntry;
import io.sae4j.sae.SparseAutoencoder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * dictionary_learning trainer directories (ae.pt written byte by byte as torch.save would, with
 * the transposed storage its nn.Linear weights often have; config.json as its training writes it),
 * against each dict_class's forward in double.
 */
class DictionaryLearningFormatTest extends WithCpuBackend {
    private static final int D = 9, M = 27, ROWS = 20;
    private final Random random = new Random(13);
    private final float[] wEnc = gaussian(random, D * M, 0.4), bEnc = gaussian(random, M, 0.3),
            wDec = gaussian(random, M * D, 0.4), bDec = gaussian(random, D, 1.0), x = gaussian(random, ROWS * D, 1.0);

    /** (rows, cols) of a (cols, rows) row-major matrix. */
    private static float[] t(float[] a, int rows, int cols) {
        float[] out = new float[a.length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
        return out;
    }

    /** nn.Linear weights: encoder.weight (M, D) = W_enc^T stored transposed, decoder.weight (D, M) = W_dec^T. */
    private Map<String, TensorEntry> linear(String biasName) {
        Map<String, TensorEntry> e = new LinkedHashMap<>();
        e.put(biasName, TensorEntry.floats(bDec, D));
        e.put("encoder.weight", TensorEntry.transposedFloats(t(wEnc, D, M), M, D));
        e.put("encoder.bias", TensorEntry.floats(bEnc, M));
        e.put("decoder.weight", TensorEntry.floats(t(wDec, M, D), D, M));
        return e;
    }

    private Path trainer(String name, String dictClass, String extra, Map<String, TensorEntry> sd) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name).resolve("trainer_0"));
        Files.writeString(dir.resolve("config.json"), "{\"trainer\": {\"dict_class\": \"" + dictClass + "\", \"trainer_class\": \"T\","
                + " \"activation_dim\": " + D + ", \"dict_size\": " + M + extra + "}, \"buffer\": {\"d_submodule\": " + D + "}}");
        TorchFixture.write(dir.resolve("ae.pt"), sd, true);
        return dir;
    }

    private SparseAutoencoder.Output run(Path dir) throws IOException {
        try (SparseAutoencoder sae = SaeFiles.read(dir).toModel(backend)) {
            return sae.run(x, ROWS);
        }
    }

    @Test
    void autoEncoder() throws IOException {
        Path dir = trainer("ae", "AutoEncoder", "", linear("bias"));
        SaeFile f = SaeFiles.read(dir);
        assertEquals("dictionary_learning AutoEncoder", f.format());
        assertTrue(Arrays.equals(wDec, f.wDec()), "W_dec = decoder.weight^T");
        SparseAutoencoder.Output out = run(dir);
        double[] lat = relu(hiddenPre(x, ROWS, D, M, wEnc, bEnc, bDec, true, 1));
        assertClose(lat, out.latents(), 1e-5, "relu((x - bias) encoder.weight^T + encoder.bias)");
        assertClose(decode(lat, ROWS, D, M, wDec, bDec, null, 1), out.reconstruction(), 1e-5, "f decoder.weight^T + bias");
        assertEquals(f.dSae(), SaeFiles.read(dir.resolve("ae.pt")).dSae(), "the .pt file itself, config.json beside it");
    }

    @Test
    void topKWithItsKBuffer() throws IOException {
        Map<String, TensorEntry> sd = linear("b_dec");
        sd.put("k", TensorEntry.int32(3));
        sd.put("threshold", TensorEntry.scalar(-1));
        Path dir = trainer("topk", "AutoEncoderTopK", ", \"k\": 99", sd);
        assertEquals(3, SaeFiles.read(dir).k(), "the state dict's k wins over config.json's");
        double[] lat = topK(relu(hiddenPre(x, ROWS, D, M, wEnc, bEnc, bDec, true, 1)), ROWS, M, 3);
        assertClose(lat, run(dir).latents(), 1e-5, "TopK_3(relu(pre)), threshold unused by default");
        sd.remove("k");
        Path old = trainer("topk-old", "AutoEncoderTopK", ", \"k\": 5", sd);
        assertEquals(5, SaeFiles.read(old).k(), "files before 2024-12 take k from config.json");
    }

    @Test
    void batchTopKEncodesWithItsThreshold() throws IOException {
        Map<String, TensorEntry> sd = linear("b_dec");
        sd.put("k", TensorEntry.int32(3));
        sd.put("threshold", TensorEntry.scalar(0.4f));
        Path dir = trainer("btk", "BatchTopKSAE", ", \"k\": 3", sd);
        float[] th = new float[M];
        Arrays.fill(th, 0.4f);
        double[] lat = jumpRelu(hiddenPre(x, ROWS, D, M, wEnc, bEnc, bDec, true, 1), M, th);
        assertClose(lat, run(dir).latents(), 1e-5, "relu(pre) where above the threshold");
        sd.remove("threshold");
        Path old = trainer("btk-old", "BatchTopKSAE", ", \"k\": 3", sd);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SaeFiles.read(old).toModel(backend)).getMessage()
                .contains("threshold"));
    }

    @Test
    void jumpReluTakesTheInputWithoutBDec() throws IOException {
        float[] threshold = gaussian(new Random(2), M, 0.4);
        Map<String, TensorEntry> sd = new LinkedHashMap<>();
        sd.put("W_enc", TensorEntry.floats(wEnc, D, M));
        sd.put("b_enc", TensorEntry.floats(bEnc, M));
        sd.put("W_dec", TensorEntry.floats(wDec, M, D));
        sd.put("b_dec", TensorEntry.floats(bDec, D));
        sd.put("threshold", TensorEntry.floats(threshold, M));
        Path dir = trainer("jump", "JumpReluAutoEncoder", "", sd);
        SparseAutoencoder.Output out = run(dir);
        double[] lat = jumpRelu(hiddenPre(x, ROWS, D, M, wEnc, bEnc, bDec, false, 1), M, threshold);
        assertClose(lat, out.latents(), 1e-5, "relu(h) [h > threshold], h = x W_enc + b_enc");
        assertClose(decode(lat, ROWS, D, M, wDec, bDec, null, 1), out.reconstruction(), 1e-5, "f W_dec + b_dec");
    }

    @Test
    void gatedUnknownAndBackupsAreSaid() throws IOException {
        Map<String, TensorEntry> sd = new LinkedHashMap<>();
        sd.put("decoder_bias", TensorEntry.floats(bDec, D));
        sd.put("encoder.weight", TensorEntry.floats(t(wEnc, D, M), M, D));
        for (String n : new String[] {"r_mag", "gate_bias", "mag_bias"}) sd.put(n, TensorEntry.floats(bEnc, M));
        sd.put("decoder.weight", TensorEntry.floats(t(wDec, M, D), D, M));
        Path gated = trainer("gated", "GatedAutoEncoder", "", sd);
        SaeFile g = SaeFiles.read(gated);
        assertTrue(Arrays.equals(wDec, g.wDec()), "gated directions read");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> g.toModel(backend)).getMessage().contains("Gated"));

        Path odd = trainer("odd", "CrossCoder", "", linear("bias"));
        assertTrue(assertThrows(FormatException.class, () -> SaeFiles.read(odd)).getMessage().contains("CrossCoder"));
        Map<String, TensorEntry> extra = linear("bias");
        extra.put("W_skip", TensorEntry.floats(new float[D], D));
        Path stray = trainer("stray", "AutoEncoder", "", extra);
        assertTrue(assertThrows(FormatException.class, () -> SaeFiles.read(stray)).getMessage().contains("W_skip"));
        Map<String, TensorEntry> backup = new LinkedHashMap<>();
        backup.put("ae", TensorEntry.scalar(0));
        backup.put("optimizer", TensorEntry.scalar(0));
        Path bk = trainer("backup", "AutoEncoder", "", backup);
        assertTrue(assertThrows(FormatException.class, () -> SaeFiles.read(bk)).getMessage().contains("backup"));
        Map<String, TensorEntry> wrongShape = linear("bias");
        wrongShape.put("encoder.bias", TensorEntry.floats(new float[M - 1], M - 1));
        Path shape = trainer("shape", "AutoEncoder", "", wrongShape);
        assertTrue(assertThrows(FormatException.class, () -> SaeFiles.read(shape)).getMessage().contains("encoder.bias"));
    }
}
