package io.sae4j.io;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.sae4j.backend.Backend;
import io.sae4j.sae.SaeConfig;
import io.sae4j.sae.SparseAutoencoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The SAELens directory format: {@code sae_weights.safetensors} (W_enc (d_in, d_sae), b_enc
 * (d_sae), W_dec (d_sae, d_in), b_dec (d_in), plus threshold (d_sae) for JumpReLU) and
 * {@code cfg.json}. Reads v6 configs ({@code architecture}: standard | topk | jumprelu) and pre-v6
 * ones ({@code activation_fn_str}: relu | topk with {@code activation_fn_kwargs.k}); writes what
 * sae4j trains (standard / relu, float32) with sae4j's own record under the {@code sae4j} key.
 */
public final class SaeLensFormat {
    public static final String WEIGHTS = "sae_weights.safetensors";
    public static final String CONFIG = "cfg.json";
    /** Version of the {@code sae4j} record in cfg.json. */
    public static final int FORMAT_VERSION = 1;

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create();

    private SaeLensFormat() {}

    /**
     * An SAE as read from a directory, in file layout. {@code architecture} is normalised to
     * "relu", "topk" or "jumprelu"; {@code k} is set for topk, {@code threshold} for jumprelu.
     */
    public record SaeFile(Path dir, JsonObject config, String architecture, int dIn, int dSae, Integer k,
                          float[] wEnc, float[] bEnc, float[] wDec, float[] bDec, float[] threshold) {
        /** A model on the backend; only ReLU SAEs run forward in sae4j so far. */
        public SparseAutoencoder toModel(Backend backend) {
            if (!"relu".equals(architecture))
                throw new IllegalArgumentException(dir + ": architecture '" + architecture
                        + "' can be compared by its decoder, but sae4j runs only ReLU (standard) SAEs forward");
            SaeConfig c = SaeConfig.builder().setDIn(dIn).setDSae(dSae).optL1Coefficient(l1Coefficient())
                    .optSeed(seed()).build();
            return SparseAutoencoder.fromWeights(c, backend, wEnc, bEnc, wDec, bDec);
        }

        private JsonObject record() {
            JsonElement e = config.get("sae4j");
            return e != null && e.isJsonObject() ? e.getAsJsonObject() : new JsonObject();
        }

        public double l1Coefficient() {
            JsonElement e = record().get("l1_coefficient");
            return e != null ? e.getAsDouble() : 0;
        }

        public long seed() {
            JsonElement e = record().get("seed");
            return e != null ? e.getAsLong() : SaeConfig.DEFAULT_SEED;
        }
    }

    /** Reads a SAELens directory, validating every tensor's shape against cfg.json. */
    public static SaeFile read(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new NoSuchFileException(dir.toString(), null, "not a directory (expected a SAELens SAE directory)");
        Path cfgPath = dir.resolve(CONFIG), weights = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(cfgPath)) throw new NoSuchFileException(cfgPath.toString(), null, "missing " + CONFIG);
        if (!Files.isRegularFile(weights)) throw new NoSuchFileException(weights.toString(), null, "missing " + WEIGHTS);
        JsonObject cfg;
        try {
            JsonElement root = JsonParser.parseString(Files.readString(cfgPath, StandardCharsets.UTF_8));
            if (!root.isJsonObject()) throw new FormatException(cfgPath, "expected a JSON object");
            cfg = root.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new FormatException(cfgPath, "invalid JSON: " + e.getMessage(), e);
        }
        int dIn = positiveInt(cfg, "d_in", cfgPath), dSae = positiveInt(cfg, "d_sae", cfgPath);
        String arch = architecture(cfg, cfgPath);
        Integer k = null;
        if ("topk".equals(arch)) {
            JsonObject holder = cfg.has("k") ? cfg : kwargs(cfg);
            if (!holder.has("k")) throw new FormatException(cfgPath, "topk SAE without k (neither 'k' nor activation_fn_kwargs.k)");
            k = positiveInt(holder, "k", cfgPath);
            if (k > dSae) throw new FormatException(cfgPath, "k = " + k + " exceeds d_sae = " + dSae);
        }
        Map<String, Safetensors.Tensor> t = Safetensors.read(weights).tensors();
        float[] wEnc = tensor(t, "W_enc", weights, dIn, dSae);
        float[] bEnc = tensor(t, "b_enc", weights, dSae);
        float[] wDec = tensor(t, "W_dec", weights, dSae, dIn);
        float[] bDec = tensor(t, "b_dec", weights, dIn);
        float[] threshold = "jumprelu".equals(arch) ? tensor(t, "threshold", weights, dSae) : null;
        return new SaeFile(dir, cfg, arch, dIn, dSae, k, wEnc, bEnc, wDec, bDec, threshold);
    }

    private static JsonObject kwargs(JsonObject cfg) {
        JsonElement e = cfg.get("activation_fn_kwargs");
        return e != null && e.isJsonObject() ? e.getAsJsonObject() : new JsonObject();
    }

    private static String architecture(JsonObject cfg, Path file) throws FormatException {
        String a = string(cfg, "architecture"), fn = string(cfg, "activation_fn_str");
        if (a == null && fn == null) a = "standard";
        if (a != null) {
            switch (a.toLowerCase(Locale.ROOT)) {
                case "standard": return fn == null || fn.equals("relu") ? "relu" : norm(fn, file);
                case "topk": return "topk";
                case "jumprelu": return "jumprelu";
                default: throw new FormatException(file, "architecture '" + a + "' is not supported (standard, topk, jumprelu)");
            }
        }
        return norm(fn, file);
    }

    private static String norm(String fn, Path file) throws FormatException {
        return switch (fn.toLowerCase(Locale.ROOT)) {
            case "relu" -> "relu";
            case "topk" -> "topk";
            default -> throw new FormatException(file, "activation_fn_str '" + fn + "' is not supported (relu, topk)");
        };
    }

    private static String string(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e != null && e.isJsonPrimitive() ? e.getAsString() : null;
    }

    private static int positiveInt(JsonObject cfg, String key, Path file) throws FormatException {
        JsonElement e = cfg.get(key);
        if (e == null) throw new FormatException(file, "missing '" + key + "'");
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber())
            throw new FormatException(file, "'" + key + "' must be an integer, got " + e);
        double v = e.getAsDouble();
        if (v != Math.rint(v)) throw new FormatException(file, "'" + key + "' must be an integer, got " + e);
        if (v < 1 || v > Integer.MAX_VALUE) throw new FormatException(file, "'" + key + "' = " + e + " must be in 1..2^31-1");
        return (int) v;
    }

    private static float[] tensor(Map<String, Safetensors.Tensor> t, String name, Path file, long... shape)
            throws FormatException {
        Safetensors.Tensor x = t.get(name);
        if (x == null) throw new FormatException(file, "missing tensor '" + name + "' (has " + t.keySet() + ")");
        if (!Arrays.equals(x.shape(), shape))
            throw new FormatException(file, "tensor '" + name + "' has shape " + Arrays.toString(x.shape())
                    + ", cfg.json implies " + Arrays.toString(shape));
        for (int i = 0; i < x.data().length; i++)
            if (!Float.isFinite(x.data()[i]))
                throw new FormatException(file, "tensor '" + name + "' holds NaN or Inf at flat index " + i);
        return x.data();
    }

    /**
     * Writes {@code sae} as a SAELens directory (created if needed; both files replaced atomically).
     * {@code record} is stored under cfg.json's "sae4j" key next to the config and provenance.
     */
    public static void write(SparseAutoencoder sae, Path dir, Map<String, Object> record) throws IOException {
        Files.createDirectories(dir);
        int d = sae.dIn(), m = sae.dSae();
        Map<String, Safetensors.Tensor> tensors = new LinkedHashMap<>();
        tensors.put("W_enc", Safetensors.Tensor.of(sae.encoderWeights(), d, m));
        tensors.put("b_enc", Safetensors.Tensor.of(sae.encoderBias(), m));
        tensors.put("W_dec", Safetensors.Tensor.of(sae.decoderWeights(), m, d));
        tensors.put("b_dec", Safetensors.Tensor.of(sae.decoderBias(), d));
        Safetensors.write(dir.resolve(WEIGHTS), tensors);

        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("d_in", d);
        cfg.put("d_sae", m);
        cfg.put("architecture", "standard");
        cfg.put("activation_fn_str", "relu");
        cfg.put("apply_b_dec_to_input", true);
        cfg.put("normalize_activations", "none");
        cfg.put("dtype", "float32");
        cfg.put("device", "cpu");
        Map<String, Object> own = new LinkedHashMap<>();
        own.put("format_version", FORMAT_VERSION);
        own.put("loss", "mse + l1_coefficient * sum_i f_i ||W_dec,i|| (decoder-norm-weighted L1, free decoder norm)");
        own.put("l1_coefficient", sae.config().l1Coefficient());
        own.put("seed", sae.config().seed());
        own.put("ratio", sae.config().ratio());
        own.put("backend", sae.backend().describe());
        own.put("java", System.getProperty("java.version"));
        own.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        own.put("library_version", version());
        if (record != null) own.putAll(record);
        cfg.put("sae4j", own);
        writeAtomically(dir.resolve(CONFIG), GSON.toJson(cfg) + "\n");
    }

    static String version() {
        String v = SaeLensFormat.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }

    /**
     * Writes text to a sibling temporary file, then renames it over {@code file}. Errors name
     * {@code file} (never the temporary one), and the temporary file is removed on every error.
     */
    public static void writeAtomically(Path file, String text) throws IOException {
        if (Files.isDirectory(file)) throw new FileSystemException(file.toString(), null, "is a directory");
        ChannelIo.writeAtomically(file, tmp -> Files.writeString(tmp, text, StandardCharsets.UTF_8));
    }
}
