package io.sae4j.io;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.sae4j.sae.EncoderActivation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * EleutherAI sparsify's per-hookpoint directory: {@code cfg.json} and {@code sae.safetensors}
 * with encoder.weight (num_latents, d_in), encoder.bias (num_latents), W_dec (num_latents, d_in),
 * b_dec (d_in), and W_skip (d_in, d_in) with a skip connection (DESIGN.md). sparsify encodes
 * f = TopK_k(relu((x - b_dec) encoder.weight^T + encoder.bias)) and decodes f W_dec + b_dec: sae4j's
 * TopK exactly. Not run forward, but read for their directions: groupmax activations, signed
 * (pre-2024-08) files, transcoders and skip connections (the reconstruction adds x W_skip^T).
 */
public final class SparsifyFormat {
    public static final String WEIGHTS = "sae.safetensors";
    public static final String CONFIG = "cfg.json";

    private SparsifyFormat() {}

    /** Whether dir looks like a sparsify hookpoint directory. */
    public static boolean detect(Path dir) {
        return Files.isRegularFile(dir.resolve(CONFIG)) && Files.isRegularFile(dir.resolve(WEIGHTS));
    }

    public static SaeFile read(Path dir) throws IOException {
        Path cfgPath = dir.resolve(CONFIG), weights = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(cfgPath)) throw new NoSuchFileException(cfgPath.toString(), null, "missing " + CONFIG);
        if (!Files.isRegularFile(weights)) throw new NoSuchFileException(weights.toString(), null, "missing " + WEIGHTS);
        JsonObject cfg = SaeLensFormat.jsonObject(cfgPath);
        int dIn = SaeLensFormat.positiveInt(cfg, "d_in", cfgPath);
        Map<String, Safetensors.Tensor> t = Safetensors.read(weights).tensors();
        Safetensors.Tensor enc = t.get("encoder.weight");
        if (enc == null) throw new FormatException(weights, "missing tensor 'encoder.weight' (has " + t.keySet() + ")");
        if (enc.shape().length != 2 || enc.shape()[1] != dIn || enc.shape()[0] < 1 || enc.shape()[0] > Integer.MAX_VALUE)
            throw new FormatException(weights, "tensor 'encoder.weight' has shape " + java.util.Arrays.toString(enc.shape())
                    + ", expected (num_latents, d_in = " + dIn + ")");
        int m = (int) enc.shape()[0];
        int configured = latents(cfg, cfgPath, dIn);
        if (configured != m)
            throw new FormatException(cfgPath, "num_latents (or d_in x expansion_factor) = " + configured
                    + " but encoder.weight has " + m + " rows");
        boolean skip = SaeLensFormat.bool(cfg, "skip_connection", false, cfgPath),
                transcode = SaeLensFormat.bool(cfg, "transcode", false, cfgPath), signed = SaeLensFormat.bool(cfg, "signed", false, cfgPath);
        Set<String> unknown = new TreeSet<>(t.keySet());
        unknown.removeAll(List.of("encoder.weight", "encoder.bias", "W_dec", "b_dec"));
        if (skip) unknown.remove("W_skip");
        if (!unknown.isEmpty())
            throw new FormatException(weights, "tensors " + unknown + " are not part of a sparsify SAE with this cfg.json"
                    + (unknown.contains("W_skip") ? " (W_skip without skip_connection: true)" : ""));
        float[] wEncT = SaeLensFormat.tensor(t, "encoder.weight", weights, m, dIn);
        float[] bEnc = SaeLensFormat.tensor(t, "encoder.bias", weights, m);
        float[] wDec = SaeLensFormat.tensor(t, "W_dec", weights, m, dIn);
        float[] bDec = SaeLensFormat.tensor(t, "b_dec", weights, dIn);
        if (skip) SaeLensFormat.tensor(t, "W_skip", weights, dIn, dIn);
        float[] wEnc = ForeignWeights.transpose(wEncT, m, dIn); // (d_in, m), sae4j's file layout

        String activation = cfg.has("activation") ? string(cfg, "activation", cfgPath) : "topk";
        List<String> refusals = new ArrayList<>();
        EncoderActivation act = null;
        switch (activation) {
            case "topk" -> {
                int k = SaeLensFormat.positiveInt(cfg, "k", cfgPath);
                if (k > m) throw new FormatException(cfgPath, "k = " + k + " exceeds num_latents = " + m);
                act = EncoderActivation.topK(k);
            }
            case "groupmax" -> refusals.add("activation 'groupmax' (one latent per group) does not run forward in sae4j");
            default -> throw new FormatException(cfgPath, "activation '" + activation + "' is not one sparsify writes (topk, groupmax)");
        }
        if (signed) refusals.add("signed: true (top-k by |pre| with signed values, files of 2024-06..08) does not run forward in sae4j");
        if (transcode) refusals.add("transcode: true (a transcoder maps one activation to another) does not run forward in sae4j");
        if (skip) refusals.add("skip_connection: true (the reconstruction adds x W_skip^T) does not run forward in sae4j");
        String refusal = refusals.isEmpty() ? null : String.join("; ", refusals);
        return new SaeFile(dir, "sparsify", cfg, activation, dIn, m, refusal == null ? act : null, wEnc, bEnc, wDec, bDec,
                refusal, List.of());
    }

    private static int latents(JsonObject cfg, Path file, int dIn) throws FormatException {
        JsonElement n = cfg.get("num_latents");
        if (n != null && !(n.isJsonPrimitive() && n.getAsJsonPrimitive().isNumber() && n.getAsDouble() == 0))
            return SaeLensFormat.positiveInt(cfg, "num_latents", file);
        long m = (long) dIn * SaeLensFormat.positiveInt(cfg, "expansion_factor", file);
        if (m > Integer.MAX_VALUE) throw new FormatException(file, "d_in x expansion_factor = " + m + " is over 2^31 - 1");
        return (int) m;
    }

    private static String string(JsonObject cfg, String key, Path file) throws FormatException {
        JsonElement e = cfg.get(key);
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString())
            throw new FormatException(file, "'" + key + "' must be a string, got " + e);
        return e.getAsString();
    }
}
