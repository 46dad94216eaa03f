package io.sae4j.io;

import com.google.gson.JsonObject;
import io.sae4j.sae.EncoderActivation;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * openai/sparse_autoencoder's state dicts (a torch.save .pt per layer): pre_bias (d), latent_bias
 * (n), encoder.weight (n, d), decoder.weight (d, n), the statistics buffers, and "activation"
 * ("ReLU" | "TopK" | "Identity", with activation_state_dict {"k", "postact_fn"} for TopK). Its
 * Autoencoder computes f = act((x' - pre_bias) encoder.weight^T + latent_bias) and
 * xhat = f decoder.weight^T + pre_bias, where x' is x layer-normed (and xhat un-normed) exactly when
 * the activation is TopK. ReLU files run forward; TopK ones (their layer norm is a per-token
 * transform) and Identity ones are read for their directions.
 */
public final class OpenAiFormat {
    private OpenAiFormat() {}

    static boolean detect(Map<String, Object> sd) {
        return sd.containsKey("pre_bias") && sd.containsKey("latent_bias");
    }

    static SaeFile read(Path file, Map<String, Object> sd) throws IOException {
        Set<String> unknown = new TreeSet<>(sd.keySet());
        unknown.removeAll(List.of("pre_bias", "latent_bias", "encoder.weight", "decoder.weight", "stats_last_nonzero",
                "latents_activation_frequency", "latents_mean_square", "activation", "activation_state_dict"));
        if (!unknown.isEmpty()) throw new FormatException(file, "entries " + unknown + " are not part of an OpenAI sparse_autoencoder state dict");
        TorchZip.Tensor enc = tensor(sd, "encoder.weight", file);
        if (enc.shape().length != 2) throw new FormatException(file, "encoder.weight has shape " + Arrays.toString(enc.shape()) + ", expected (n_latents, d)");
        if (enc.shape()[0] > Integer.MAX_VALUE || enc.shape()[1] > Integer.MAX_VALUE || enc.shape()[0] < 1 || enc.shape()[1] < 1)
            throw new FormatException(file, "encoder.weight of shape " + Arrays.toString(enc.shape()) + " is out of range");
        int m = (int) enc.shape()[0], d = (int) enc.shape()[1];
        float[] wEnc = ForeignWeights.transpose(floats(sd, "encoder.weight", file, m, d), m, d);
        float[] wDec = ForeignWeights.transpose(floats(sd, "decoder.weight", file, d, m), d, m);
        float[] bDec = floats(sd, "pre_bias", file, d), bEnc = floats(sd, "latent_bias", file, m);

        Object a = sd.getOrDefault("activation", "ReLU");
        if (!(a instanceof String activation)) throw new FormatException(file, "'activation' should be a string, got " + a);
        List<String> refusals = new ArrayList<>();
        EncoderActivation act = EncoderActivation.RELU;
        switch (activation) {
            case "ReLU" -> {}
            case "TopK" -> {
                if (!(sd.get("activation_state_dict") instanceof Map<?, ?> state) || !(state.get("k") instanceof Long k))
                    throw new FormatException(file, "activation TopK without activation_state_dict.k");
                if (k < 1 || k > m) throw new FormatException(file, "activation_state_dict.k = " + k + " is not in 1.." + m);
                act = EncoderActivation.topK(k.intValue());
                refusals.add("a TopK autoencoder layer-normalises each input (x - mean) / (std + 1e-5) and its output back, a"
                        + " per-token transform that does not run forward in sae4j");
            }
            case "Identity" -> refusals.add("activation 'Identity' (no ReLU) does not run forward in sae4j");
            default -> throw new FormatException(file, "activation '" + activation + "' is not one sparse_autoencoder writes (ReLU, TopK, Identity)");
        }
        String refusal = refusals.isEmpty() ? null : String.join("; ", refusals);
        return new SaeFile(file, "OpenAI sparse_autoencoder", new JsonObject(), activation, d, m, refusal == null ? act : null,
                wEnc, bEnc, wDec, bDec, refusal, List.of());
    }

    private static TorchZip.Tensor tensor(Map<String, Object> sd, String name, Path file) throws FormatException {
        if (!(sd.get(name) instanceof TorchZip.Tensor t))
            throw new FormatException(file, "missing tensor '" + name + "' (has " + new TreeSet<>(sd.keySet()) + ")");
        return t;
    }

    private static float[] floats(Map<String, Object> sd, String name, Path file, long... shape) throws FormatException {
        TorchZip.Tensor t = tensor(sd, name, file);
        if (!Arrays.equals(t.shape(), shape))
            throw new FormatException(file, "tensor '" + name + "' has shape " + Arrays.toString(t.shape()) + ", expected "
                    + Arrays.toString(shape));
        return ForeignWeights.finite(t.floats(), name, file);
    }
}
