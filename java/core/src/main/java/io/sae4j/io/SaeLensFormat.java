package io.sae4j.io;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.sae4j.backend.Activation;
import io.sae4j.sae.EncoderActivation;
import io.sae4j.sae.SparseAutoencoder;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The SAELens directory format: {@code sae_weights.safetensors} and {@code cfg.json} (DESIGN.md,
 * "Other tools' files"). Reads v6 configs ({@code architecture}: standard | topk | jumprelu |
 * gated) and pre-v6 ones ({@code activation_fn_str}: relu | topk | tanh-relu), honouring every
 * field that changes the maths, as SAELens's own encode does:
 * <ul>
 * <li>{@code dtype}: tensors are rounded to it, as SAELens casts them on load (sae4j then computes
 *     in float32, which the SAE's notes say);
 * <li>{@code apply_b_dec_to_input: false}: pre = x W_enc + b_enc, folded exactly into b_enc;
 * <li>{@code normalize_activations}: "none"; "expected_average_only_in" with the training's
 *     {@code activation_scaler.json} beside it (the factor is folded into W_enc, W_dec and b_dec as
 *     SAELens's fold_activation_norm_scaling_factor does); without it, and "constant_norm_rescale"
 *     and "layer_norm" (per-token transforms), the SAE is not run forward;
 * <li>topk's {@code k} and {@code rescale_acts_by_decoder_norm} (decoder norms folded into the
 *     encoder, as SAELens's inference save does); jumprelu's {@code threshold};
 * <li>pre-v6 {@code finetuning_scaling_factor} (the {@code scaling_factor} tensor scales f before
 *     the decoder: folded into W_dec's rows).
 * </ul>
 * Gated and tanh-relu SAEs are read for their directions but not run forward; transcoders,
 * training-only architectures and unknown tensors are refused. Writes what sae4j trains or runs
 * (standard / relu, topk, jumprelu; float32) with sae4j's own record under the {@code sae4j} key.
 */
public final class SaeLensFormat {
    public static final String WEIGHTS = "sae_weights.safetensors";
    public static final String CONFIG = "cfg.json";
    /** SAELens's training checkpoints keep the expected-average scaling factor here. */
    public static final String ACTIVATION_SCALER = "activation_scaler.json";
    /** Version of the {@code sae4j} record in cfg.json. */
    public static final int FORMAT_VERSION = 1;

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create();

    private SaeLensFormat() {}

    /** Reads a SAELens directory, validating every tensor's shape against cfg.json. */
    public static SaeFile read(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new NoSuchFileException(dir.toString(), null, "not a directory (expected a SAELens SAE directory)");
        Path cfgPath = dir.resolve(CONFIG), weights = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(cfgPath)) throw new NoSuchFileException(cfgPath.toString(), null, "missing " + CONFIG);
        if (!Files.isRegularFile(weights)) throw new NoSuchFileException(weights.toString(), null, "missing " + WEIGHTS);
        JsonObject cfg = jsonObject(cfgPath);
        int dIn = positiveInt(cfg, "d_in", cfgPath), dSae = positiveInt(cfg, "d_sae", cfgPath);
        String arch = architecture(cfg, cfgPath);
        boolean v6 = cfg.has("architecture");
        String dtype = dtype(cfg, cfgPath);
        List<String> notes = new ArrayList<>();
        List<String> refusals = new ArrayList<>();

        Map<String, Safetensors.Tensor> t = Safetensors.read(weights).tensors();
        Set<String> expected = new LinkedHashSet<>(List.of("W_enc", "W_dec", "b_dec"));
        expected.addAll(switch (arch) {
            case "gated" -> List.of("b_gate", "b_mag", "r_mag");
            case "jumprelu" -> List.of("b_enc", "threshold");
            default -> List.of("b_enc");
        });
        Set<String> unknown = new TreeSet<>(t.keySet());
        unknown.removeAll(expected);
        unknown.remove("scaling_factor"); // pre-v6 finetuning_scaling_factor, below
        if (!unknown.isEmpty())
            throw new FormatException(weights, "tensors " + unknown + " are not part of a SAELens " + arch
                    + " SAE (expected " + expected + "); sae4j refuses what it would otherwise ignore");
        float[] wEnc = tensor(t, "W_enc", weights, dtype, dIn, dSae);
        float[] wDec = tensor(t, "W_dec", weights, dtype, dSae, dIn);
        float[] bDec = tensor(t, "b_dec", weights, dtype, dIn);
        float[] bEnc = "gated".equals(arch) ? null : tensor(t, "b_enc", weights, dtype, dSae);
        EncoderActivation act = null;
        switch (arch) {
            case "relu" -> act = EncoderActivation.RELU;
            case "topk" -> act = EncoderActivation.topK(topK(cfg, cfgPath, dSae));
            case "jumprelu" -> act = EncoderActivation.jumpRelu(tensor(t, "threshold", weights, dtype, dSae));
            case "gated" -> {
                for (String name : List.of("b_gate", "b_mag", "r_mag")) tensor(t, name, weights, dtype, dSae);
                refusals.add("a gated SAE (two encoder paths: b_gate, b_mag, r_mag) does not run forward in sae4j");
            }
            default -> refusals.add("activation_fn_str '" + arch + "' does not run forward in sae4j (relu, topk, jumprelu do)");
        }
        if (!"float32".equals(dtype))
            notes.add("dtype " + dtype + ": weights rounded to it as SAELens loads them; sae4j computes in float32");

        if (t.containsKey("scaling_factor")) {
            float[] scale = tensor(t, "scaling_factor", weights, dtype, dSae);
            boolean ones = true;
            for (float v : scale) ones &= v == 1f;
            if (!ones) {
                if (!bool(cfg, "finetuning_scaling_factor", false, cfgPath))
                    throw new FormatException(cfgPath, "sae_weights has a scaling_factor tensor but finetuning_scaling_factor"
                            + " is not true (SAELens refuses this combination too)");
                for (int i = 0; i < dSae; i++)
                    for (int k = 0; k < dIn; k++) wDec[i * dIn + k] *= scale[i];
                notes.add("finetuning_scaling_factor: the scaling_factor tensor folded into W_dec's rows");
            }
        }
        if ("topk".equals(arch) && bool(cfg, "rescale_acts_by_decoder_norm", false, cfgPath)) {
            double[] norms = rowNorms(wDec, dSae, dIn);
            for (int i = 0; i < dSae; i++)
                if (!(norms[i] > 0))
                    throw new FormatException(weights, "rescale_acts_by_decoder_norm with W_dec row " + i
                            + " of norm 0 (SAELens would divide by it)");
            // hidden_pre * n_i before TopK, f / n_i before the decoder: W_enc's column i and b_enc_i
            // times n_i, W_dec's row i over it (what SAELens's inference save folds)
            for (int k = 0; k < dIn; k++)
                for (int i = 0; i < dSae; i++) wEnc[k * dSae + i] = (float) (wEnc[k * dSae + i] * norms[i]);
            for (int i = 0; i < dSae; i++) {
                bEnc[i] = (float) (bEnc[i] * norms[i]);
                for (int k = 0; k < dIn; k++) wDec[i * dIn + k] = (float) (wDec[i * dIn + k] / norms[i]);
            }
            notes.add("rescale_acts_by_decoder_norm: decoder norms folded into W_enc and b_enc");
        }
        String norm = normalization(cfg, cfgPath);
        switch (norm) {
            case "none" -> {}
            case "expected_average_only_in" -> {
                Double s = scalingFactor(dir);
                if (s == null) {
                    refusals.add("normalize_activations 'expected_average_only_in': the SAE expects inputs scaled by a factor"
                            + " that is not in its files (no " + ACTIVATION_SCALER + " with a scaling_factor; SAELens folds it"
                            + " with fold_activation_norm_scaling_factor before saving)");
                } else {
                    for (int i = 0; i < wEnc.length; i++) wEnc[i] = (float) (wEnc[i] * s);
                    for (int i = 0; i < wDec.length; i++) wDec[i] = (float) (wDec[i] / s);
                    for (int i = 0; i < bDec.length; i++) bDec[i] = (float) (bDec[i] / s);
                    notes.add("normalize_activations expected_average_only_in: scaling factor " + s + " from "
                            + ACTIVATION_SCALER + " folded into W_enc, W_dec and b_dec");
                }
            }
            default -> refusals.add("normalize_activations '" + norm + "' (a per-token transform of the input and output)"
                    + " does not run forward in sae4j");
        }
        if (!bool(cfg, "apply_b_dec_to_input", true, cfgPath) && bEnc != null) {
            bEnc = ForeignWeights.foldInputBias(bEnc, bDec, wEnc, dIn, dSae); // pre = x W_enc + b_enc
            notes.add("apply_b_dec_to_input false: b_dec W_enc folded into b_enc");
        }
        String hook = string(cfg, "reshape_activations");
        if ("hook_z".equals(hook))
            notes.add("reshape_activations hook_z: activations must be given flattened (n_heads d_head)");
        String format = cfg.has("sae4j") ? "sae4j (SAELens v6 layout)" : v6 ? "SAELens v6" : "SAELens (pre-v6)";
        String refusal = refusals.isEmpty() ? null : String.join("; ", refusals);
        return new SaeFile(dir, format, cfg, arch, dIn, dSae, refusal == null ? act : null, wEnc, bEnc, wDec, bDec, refusal,
                List.copyOf(notes));
    }

    static JsonObject jsonObject(Path file) throws IOException {
        try {
            JsonElement root = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
            if (!root.isJsonObject()) throw new FormatException(file, "expected a JSON object");
            return root.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new FormatException(file, "invalid JSON: " + e.getMessage(), e);
        } catch (CharacterCodingException e) { // found by the fuzzer: a stray byte is a format error
            throw new FormatException(file, "not UTF-8 text", e);
        }
    }

    private static int topK(JsonObject cfg, Path cfgPath, int dSae) throws FormatException {
        JsonObject holder = cfg.has("k") ? cfg : kwargs(cfg);
        if (!holder.has("k")) throw new FormatException(cfgPath, "topk SAE without k (neither 'k' nor activation_fn_kwargs.k)");
        int k = positiveInt(holder, "k", cfgPath);
        if (k > dSae) throw new FormatException(cfgPath, "k = " + k + " exceeds d_sae = " + dSae);
        return k;
    }

    private static double[] rowNorms(float[] w, int rows, int cols) {
        double[] n = new double[rows];
        for (int i = 0; i < rows; i++) {
            double ss = 0;
            for (int k = 0; k < cols; k++) ss += (double) w[i * cols + k] * w[i * cols + k];
            n[i] = Math.sqrt(ss);
        }
        return n;
    }

    /** The scaling factor of activation_scaler.json beside the weights, or null (no file, or null in it). */
    private static Double scalingFactor(Path dir) throws IOException {
        Path f = dir.resolve(ACTIVATION_SCALER);
        if (!Files.isRegularFile(f)) return null;
        JsonElement e = jsonObject(f).get("scaling_factor");
        if (e == null || e.isJsonNull()) return null;
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber() || !(e.getAsDouble() > 0)
                || Double.isInfinite(e.getAsDouble()))
            throw new FormatException(f, "scaling_factor must be a positive number, got " + e);
        return e.getAsDouble();
    }

    private static final Map<String, String> DTYPES = Map.of("float32", "float32", "torch.float32", "float32",
            "float16", "float16", "torch.float16", "float16", "bfloat16", "bfloat16", "torch.bfloat16", "bfloat16",
            "float64", "float64", "torch.float64", "float64");

    private static String dtype(JsonObject cfg, Path file) throws FormatException {
        if (!cfg.has("dtype")) return "float32";
        String d = string(cfg, "dtype");
        String n = d == null ? null : DTYPES.get(d);
        if (n == null)
            throw new FormatException(file, "dtype " + cfg.get("dtype") + " is not one SAELens loads (float32, float16,"
                    + " bfloat16, float64, or torch.<name>)");
        return n;
    }

    private static String normalization(JsonObject cfg, Path file) throws FormatException {
        JsonElement e = cfg.get("normalize_activations");
        if (e == null || e.isJsonNull()) return "none";
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isBoolean()) // very old files: true meant expected average
            return e.getAsBoolean() ? "expected_average_only_in" : "none";
        String v = e.isJsonPrimitive() ? e.getAsString() : null;
        if (v == null || !List.of("none", "expected_average_only_in", "constant_norm_rescale", "layer_norm").contains(v))
            throw new FormatException(file, "normalize_activations " + e + " is not one of none, expected_average_only_in,"
                    + " constant_norm_rescale, layer_norm");
        return v;
    }

    static boolean bool(JsonObject cfg, String key, boolean absent, Path file) throws FormatException {
        JsonElement e = cfg.get(key);
        if (e == null || e.isJsonNull()) return absent;
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean())
            throw new FormatException(file, "'" + key + "' must be true or false, got " + e);
        return e.getAsBoolean();
    }

    private static JsonObject kwargs(JsonObject cfg) {
        JsonElement e = cfg.get("activation_fn_kwargs");
        return e != null && e.isJsonObject() ? e.getAsJsonObject() : new JsonObject();
    }

    /** "relu", "topk", "jumprelu", "gated" or "tanh-relu"; transcoders and training-only ones refused. */
    private static String architecture(JsonObject cfg, Path file) throws FormatException {
        String a = string(cfg, "architecture"), fn = string(cfg, "activation_fn_str");
        if (a == null && fn == null) a = "standard";
        if (a != null) {
            switch (a.toLowerCase(Locale.ROOT)) {
                case "standard": return fn == null ? "relu" : activationFn(fn, file);
                case "topk": return "topk";
                case "jumprelu": return "jumprelu";
                case "gated": return "gated";
                case "transcoder", "skip_transcoder", "jumprelu_transcoder":
                    throw new FormatException(file, "architecture '" + a + "' is a transcoder (it maps one activation to"
                            + " another); sae4j reads SAEs");
                case "batchtopk", "matryoshka_batchtopk":
                    throw new FormatException(file, "architecture '" + a + "' is a SAELens training checkpoint; its"
                            + " inference save (save_inference_model) is a jumprelu SAE that sae4j reads");
                default: throw new FormatException(file, "architecture '" + a + "' is not supported (standard, topk, jumprelu, gated)");
            }
        }
        return activationFn(fn, file);
    }

    private static String activationFn(String fn, Path file) throws FormatException {
        return switch (fn.toLowerCase(Locale.ROOT)) {
            case "relu" -> "relu";
            case "topk" -> "topk";
            case "tanh-relu" -> "tanh-relu";
            default -> throw new FormatException(file, "activation_fn_str '" + fn + "' is not supported (relu, topk, tanh-relu)");
        };
    }

    private static String string(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e != null && e.isJsonPrimitive() ? e.getAsString() : null;
    }

    static int positiveInt(JsonObject cfg, String key, Path file) throws FormatException {
        JsonElement e = cfg.get(key);
        if (e == null) throw new FormatException(file, "missing '" + key + "'");
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber())
            throw new FormatException(file, "'" + key + "' must be an integer, got " + e);
        double v = e.getAsDouble();
        if (v != Math.rint(v)) throw new FormatException(file, "'" + key + "' must be an integer, got " + e);
        if (v < 1 || v > Integer.MAX_VALUE) throw new FormatException(file, "'" + key + "' = " + e + " must be in 1..2^31-1");
        return (int) v;
    }

    /** A tensor of the given shape, finite, rounded to dtype when stored wider (as SAELens's load casts). */
    private static float[] tensor(Map<String, Safetensors.Tensor> t, String name, Path file, String dtype, long... shape)
            throws FormatException {
        float[] x = tensor(t, name, file, shape);
        String stored = t.get(name).dtype();
        if ("float16".equals(dtype) && !"F16".equals(stored))
            for (int i = 0; i < x.length; i++) {
                x[i] = Half.halfToFloat(Half.floatToHalf(x[i]));
                if (Float.isInfinite(x[i]))
                    throw new FormatException(file, "tensor '" + name + "' overflows float16 (the cfg's dtype) at flat index " + i);
            }
        if ("bfloat16".equals(dtype) && !"BF16".equals(stored))
            for (int i = 0; i < x.length; i++) x[i] = Half.bfloat16ToFloat(Half.floatToBfloat16(x[i]));
        return x;
    }

    static float[] tensor(Map<String, Safetensors.Tensor> t, String name, Path file, long... shape) throws FormatException {
        Safetensors.Tensor x = t.get(name);
        if (x == null) throw new FormatException(file, "missing tensor '" + name + "' (has " + t.keySet() + ")");
        if (!Arrays.equals(x.shape(), shape))
            throw new FormatException(file, "tensor '" + name + "' has shape " + Arrays.toString(x.shape())
                    + ", cfg.json implies " + Arrays.toString(shape));
        return ForeignWeights.finite(x.data(), name, file);
    }

    /** The record key naming the file an SAE was read from (then cfg.json states no sae4j training loss). */
    public static final String READ_FROM = "read_from";

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
        EncoderActivation act = sae.encoderActivation();
        if (act.kind() == Activation.Kind.JUMPRELU) tensors.put("threshold", Safetensors.Tensor.of(act.threshold(), m));
        Safetensors.write(dir.resolve(WEIGHTS), tensors);

        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("d_in", d);
        cfg.put("d_sae", m);
        switch (act.kind()) { // v6 keys, and pre-v6 ones where that version had the architecture
            case TOPK -> {
                cfg.put("architecture", "topk");
                cfg.put("k", act.k());
                cfg.put("rescale_acts_by_decoder_norm", false);
                cfg.put("activation_fn_str", "topk");
                cfg.put("activation_fn_kwargs", Map.of("k", act.k()));
            }
            case JUMPRELU -> cfg.put("architecture", "jumprelu");
            default -> {
                cfg.put("architecture", "standard");
                cfg.put("activation_fn_str", "relu");
            }
        }
        cfg.put("apply_b_dec_to_input", true);
        cfg.put("normalize_activations", "none");
        cfg.put("dtype", "float32");
        cfg.put("device", "cpu");
        Map<String, Object> own = new LinkedHashMap<>();
        own.put("format_version", FORMAT_VERSION);
        boolean read = record != null && record.containsKey(READ_FROM); // not trained by sae4j: no training loss to state
        if (!read) switch (act.kind()) { // how sae4j trained it; a JumpReLU SAE was read, not trained here
            case TOPK -> own.put("loss", "mse (topk: no penalty; W_dec rows held at unit norm)");
            case JUMPRELU -> {}
            default -> {
                own.put("loss", "mse + l1_coefficient * sum_i f_i ||W_dec,i|| (decoder-norm-weighted L1, free decoder norm)");
                own.put("l1_coefficient", sae.config().l1Coefficient());
            }
        }
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
