package io.sae4j.io;

import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.sae4j.io.TorchFixture.TensorEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every config field of every format, set to every JSON type (null, object, array, string,
 * negative, huge, fractional, boolean): each file is read, refused with a FormatException naming
 * it, or read and refused forward with a line naming it; no Gson exception, ClassCastException or
 * NullPointerException escapes.
 */
class ConfigFieldTypesTest extends WithCpuBackend {
    private static final List<String> VALUES = List.of("null", "{}", "[]", "\"x\"", "-1", "1e30", "2.5", "true", "0");
    private static final int D = 4, M = 8;

    private interface Reader {
        void read(Path dir) throws IOException;
    }

    private void everyField(String name, String cfgFile, String cfg, Path dir, Reader reader) throws IOException {
        JsonObject base = JsonParser.parseString(cfg).getAsJsonObject();
        for (String path : fields(base, "")) {
            for (String v : VALUES) {
                JsonObject c = base.deepCopy();
                set(c, path, JsonParser.parseString(v));
                Files.writeString(dir.resolve(cfgFile), c.toString());
                try {
                    reader.read(dir);
                } catch (FormatException | java.nio.file.NoSuchFileException | IllegalArgumentException e) {
                    // IllegalArgumentException: the file is read, and toModel says why it does not run forward
                    if (!e.getMessage().contains(dir.toString())) fail(name + " " + path + " = " + v + ": error without the file: " + e.getMessage());
                } catch (Throwable t) {
                    fail(name + " " + path + " = " + v + ": " + t, t);
                }
            }
        }
    }

    private static List<String> fields(JsonObject o, String prefix) {
        List<String> out = new java.util.ArrayList<>();
        for (Map.Entry<String, JsonElement> e : o.entrySet()) {
            out.add(prefix + e.getKey());
            if (e.getValue().isJsonObject()) out.addAll(fields(e.getValue().getAsJsonObject(), prefix + e.getKey() + "."));
        }
        return out;
    }

    private static void set(JsonObject o, String path, JsonElement v) {
        int dot = path.indexOf('.');
        if (dot < 0) o.add(path, v);
        else set(o.getAsJsonObject(path.substring(0, dot)), path.substring(dot + 1), v);
    }

    private Map<String, Safetensors.Tensor> saeLensTensors() {
        Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
        t.put("W_enc", Safetensors.Tensor.of(new float[D * M], D, M));
        t.put("b_enc", Safetensors.Tensor.of(new float[M], M));
        t.put("W_dec", Safetensors.Tensor.of(new float[M * D], M, D));
        t.put("b_dec", Safetensors.Tensor.of(new float[D], D));
        t.put("threshold", Safetensors.Tensor.of(new float[M], M));
        return t;
    }

    @Test
    void saeLens() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("saelens"));
        Safetensors.write(dir.resolve(SaeLensFormat.WEIGHTS), saeLensTensors());
        everyField("SAELens", SaeLensFormat.CONFIG, """
                {"d_in": 4, "d_sae": 8, "architecture": "jumprelu", "activation_fn_str": "relu", "k": 2,
                 "activation_fn_kwargs": {"k": 2}, "dtype": "float32", "apply_b_dec_to_input": true,
                 "normalize_activations": "none", "rescale_acts_by_decoder_norm": false,
                 "finetuning_scaling_factor": false, "reshape_activations": "none", "metadata": {"hook_name": "x"}}""",
                dir, d -> SaeFiles.read(d).toModel(backend).close());
    }

    @Test
    void sparsify() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("sparsify"));
        Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
        t.put("encoder.weight", Safetensors.Tensor.of(new float[M * D], M, D));
        t.put("encoder.bias", Safetensors.Tensor.of(new float[M], M));
        t.put("W_dec", Safetensors.Tensor.of(new float[M * D], M, D));
        t.put("b_dec", Safetensors.Tensor.of(new float[D], D));
        Safetensors.write(dir.resolve(SparsifyFormat.WEIGHTS), t);
        everyField("sparsify", SparsifyFormat.CONFIG, """
                {"activation": "topk", "expansion_factor": 2, "normalize_decoder": true, "num_latents": 8, "k": 2,
                 "multi_topk": false, "skip_connection": false, "transcode": false, "signed": false, "d_in": 4}""",
                dir, d -> SaeFiles.read(d).toModel(backend).close());
    }

    @Test
    void dictionaryLearning() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("dl"));
        Map<String, TensorEntry> sd = new LinkedHashMap<>();
        sd.put("b_dec", TensorEntry.floats(new float[D], D));
        sd.put("encoder.weight", TensorEntry.floats(new float[M * D], M, D));
        sd.put("encoder.bias", TensorEntry.floats(new float[M], M));
        sd.put("decoder.weight", TensorEntry.floats(new float[D * M], D, M));
        TorchFixture.write(dir.resolve(DictionaryLearningFormat.WEIGHTS), sd, true);
        everyField("dictionary_learning", DictionaryLearningFormat.CONFIG, """
                {"trainer": {"dict_class": "AutoEncoderTopK", "activation_dim": 4, "dict_size": 8, "k": 2, "lr": 0.001},
                 "buffer": {"d_submodule": 4}}""", dir, d -> SaeFiles.read(d).toModel(backend).close());
    }
}
