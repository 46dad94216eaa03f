package io.sae4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The file parsers under {@link Fuzzer}: .npy, safetensors, and the SAE directories of SAELens (and
 * sae4j), sparsify and dictionary_learning with their config JSON mutated. The only exception
 * allowed is the library's own {@link FormatException}, naming the file.
 */
class ParserFuzzTest {
    @TempDir
    Path dir;

    private static boolean formatError(Throwable t) {
        return t instanceof FormatException;
    }

    private List<byte[]> npySeeds() throws IOException {
        List<byte[]> seeds = new ArrayList<>();
        Random r = new Random(1);
        float[] x = new float[7 * 5];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (boolean f16 : new boolean[] {false, true}) {
            Path p = dir.resolve("seed" + f16 + ".npy");
            NpyWriter.write(p, x, 7, 5, f16);
            seeds.add(Files.readAllBytes(p));
        }
        return seeds;
    }

    @Test
    void npyParserOnlyReportsFormatErrors() throws IOException {
        Path f = dir.resolve("fuzz.npy");
        Fuzzer.run("npy", npySeeds(), f, () -> {
            try (NpyReader r = NpyReader.open(f)) {
                if (r.rows() * r.cols() <= 1 << 20) r.readAll();
            }
        }, ParserFuzzTest::formatError);
    }

    @Test
    void safetensorsParserOnlyReportsFormatErrors() throws IOException {
        Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
        t.put("W_enc", Safetensors.Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        t.put("b_dec", Safetensors.Tensor.of(new float[] {0.5f, -1}, 2));
        Path p = dir.resolve("seed.safetensors");
        Safetensors.write(p, t);
        Path f = dir.resolve("fuzz.safetensors");
        Fuzzer.run("safetensors", List.of(Files.readAllBytes(p)), f, () -> Safetensors.read(f), ParserFuzzTest::formatError);
    }

    /** Reads the SAE directory and builds it on the CPU, as compare does. */
    private void readAndBuild(Path sae) throws IOException {
        try (io.sae4j.backend.cpu.CpuBackend be = new io.sae4j.backend.cpu.CpuBackend(1, io.sae4j.backend.cpu.NativeCpu.ISA_PORTABLE)) {
            SaeFile f = SaeFiles.read(sae);
            if (f.forwardRefusal() == null) f.toModel(be).close();
        }
    }

    /** Fuzzes one config file of a valid SAE directory; the seeds must read cleanly, and some mutations must too. */
    private void fuzzConfig(String name, Path sae, String configName, List<String> seeds) throws IOException {
        Path cfg = sae.resolve(configName);
        List<byte[]> bytes = new ArrayList<>();
        for (String seed : seeds) {
            Files.writeString(cfg, seed);
            readAndBuild(sae);
            bytes.add(seed.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        long errors = Fuzzer.run(name, bytes, cfg, () -> readAndBuild(sae), ParserFuzzTest::formatError);
        assertTrue(errors < Fuzzer.ITERATIONS, name + ": every mutation was refused: the fuzzer does not get past the syntax");
    }

    private static Map<String, Safetensors.Tensor> saeTensors(String wEnc, String bEnc, String wDec, boolean encTransposed,
                                                              int d, int m) {
        Random r = new Random(3);
        Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
        float[] we = new float[d * m], be = new float[m], wd = new float[m * d], bd = new float[d];
        for (float[] a : List.of(we, be, wd, bd))
            for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        t.put(wEnc, encTransposed ? Safetensors.Tensor.of(we, m, d) : Safetensors.Tensor.of(we, d, m));
        t.put(bEnc, Safetensors.Tensor.of(be, m));
        t.put(wDec, Safetensors.Tensor.of(wd, m, d));
        t.put("b_dec", Safetensors.Tensor.of(bd, d));
        return t;
    }

    @Test
    void saeLensDirectoryConfigOnlyReportsFormatErrors() throws IOException {
        Path sae = Files.createDirectories(dir.resolve("saelens"));
        Safetensors.write(sae.resolve(SaeLensFormat.WEIGHTS), saeTensors("W_enc", "b_enc", "W_dec", false, 6, 12));
        fuzzConfig("saelens-cfg", sae, SaeLensFormat.CONFIG, List.of(
                "{\"d_in\": 6, \"d_sae\": 12, \"dtype\": \"float32\", \"apply_b_dec_to_input\": true, \"normalize_activations\": \"none\"}",
                "{\"architecture\": \"topk\", \"d_in\": 6, \"d_sae\": 12, \"dtype\": \"float32\", \"k\": 3}",
                "{\"d_in\": 6, \"d_sae\": 12, \"dtype\": \"float32\", \"activation_fn_str\": \"topk\", "
                        + "\"activation_fn_kwargs\": {\"k\": 2}, \"apply_b_dec_to_input\": false}"));
        Path jump = Files.createDirectories(dir.resolve("saelens-jumprelu"));
        Map<String, Safetensors.Tensor> t = saeTensors("W_enc", "b_enc", "W_dec", false, 6, 12);
        t.put("threshold", Safetensors.Tensor.of(new float[12], 12));
        Safetensors.write(jump.resolve(SaeLensFormat.WEIGHTS), t);
        fuzzConfig("saelens-jumprelu-cfg", jump, SaeLensFormat.CONFIG, List.of(
                "{\"architecture\": \"jumprelu\", \"d_in\": 6, \"d_sae\": 12, \"dtype\": \"float32\", \"normalize_activations\": \"none\"}"));
    }

    @Test
    void sparsifyDirectoryConfigOnlyReportsFormatErrors() throws IOException {
        Path sae = Files.createDirectories(dir.resolve("sparsify").resolve("layers.3"));
        Safetensors.write(sae.resolve(SparsifyFormat.WEIGHTS), saeTensors("encoder.weight", "encoder.bias", "W_dec", true, 6, 12));
        fuzzConfig("sparsify-cfg", sae, SparsifyFormat.CONFIG, List.of(
                "{\"activation\": \"topk\", \"expansion_factor\": 2, \"normalize_decoder\": true, \"num_latents\": 0, \"k\": 4,"
                        + " \"multi_topk\": false, \"skip_connection\": false, \"transcode\": false, \"d_in\": 6}",
                "{\"expansion_factor\": 32, \"num_latents\": 12, \"k\": 3, \"d_in\": 6}"));
    }

    @Test
    void dictionaryLearningConfigOnlyReportsFormatErrors() throws IOException {
        Path sae = Files.createDirectories(dir.resolve("dl").resolve("trainer_0"));
        int d = 6, m = 12;
        Random r = new Random(4);
        float[] we = new float[m * d], be = new float[m], wd = new float[d * m], bd = new float[d];
        for (float[] a : List.of(we, be, wd, bd))
            for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        Map<String, TorchFixture.TensorEntry> sd = new LinkedHashMap<>();
        sd.put("b_dec", TorchFixture.TensorEntry.floats(bd, d));
        sd.put("encoder.weight", TorchFixture.TensorEntry.floats(we, m, d));
        sd.put("encoder.bias", TorchFixture.TensorEntry.floats(be, m));
        sd.put("decoder.weight", TorchFixture.TensorEntry.floats(wd, d, m));
        sd.put("k", TorchFixture.TensorEntry.int32(3));
        TorchFixture.write(sae.resolve("ae.pt"), sd, true);
        String trainer = "{\"trainer\": {\"dict_class\": \"%s\", \"trainer_class\": \"T\", \"activation_dim\": 6, "
                + "\"dict_size\": 12%s}, \"buffer\": {\"d_submodule\": 6}}";
        fuzzConfig("dictionary-learning-config", sae, "config.json", List.of(String.format(trainer, "AutoEncoderTopK", ", \"k\": 3"),
                String.format(trainer, "AutoEncoderTopK", "")));
    }
}
