package io.sae4j.io;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.sae4j.backend.Backend;
import io.sae4j.sae.EncoderActivation;
import io.sae4j.sae.SaeConfig;
import io.sae4j.sae.SparseAutoencoder;
import java.nio.file.Path;
import java.util.List;

/**
 * An SAE as read from a file of any supported library ({@link SaeFiles#read}), in sae4j's
 * conventions whatever the source: W_enc (d_in, d_sae), b_enc (d_sae), W_dec (d_sae, d_in), b_dec
 * (d_in), pre = (x - b_dec) W_enc + b_enc, f = act(pre), xhat = f W_dec + b_dec. Fields of the
 * source that change this maths were either folded into the weights exactly (each one named in
 * {@code notes}) or, where sae4j cannot run them, make {@code forwardRefusal} say why: such an SAE's
 * decoder and encoder directions can still be compared, but it is not run on activations.
 *
 * @param format         what was read, e.g. "SAELens v6", "sparsify", "dictionary_learning"
 * @param architecture   the source's architecture name (relu/standard, topk, jumprelu, gated, ...)
 * @param activation     the encoder activation sae4j runs (null when forwardRefusal is set)
 * @param forwardRefusal why the SAE cannot be run forward in sae4j, or null
 * @param notes          what was converted on reading (dtype, folded biases or scales)
 */
public record SaeFile(Path source, String format, JsonObject config, String architecture, int dIn, int dSae,
                      EncoderActivation activation, float[] wEnc, float[] bEnc, float[] wDec, float[] bDec,
                      String forwardRefusal, List<String> notes) {

    /** The SAE on the backend, or one line saying why this one cannot run forward. */
    public SparseAutoencoder toModel(Backend backend) {
        if (forwardRefusal != null)
            throw new IllegalArgumentException(source + ": " + forwardRefusal
                    + "; its decoder and encoder directions can still be compared (compare without --acts)");
        // a TopK encoder makes the SAE's config topk (fromWeights)
        SaeConfig c = SaeConfig.builder().setDIn(dIn).setDSae(dSae).optL1Coefficient(l1Coefficient()).optSeed(seed()).build();
        return SparseAutoencoder.fromWeights(c, backend, wEnc, bEnc, wDec, bDec, activation);
    }

    /** TopK's k, or null. */
    public Integer k() {
        return activation != null && activation.kind() == io.sae4j.backend.Activation.Kind.TOPK ? activation.k() : null;
    }

    private JsonObject record() {
        JsonElement e = config.get("sae4j");
        return e != null && e.isJsonObject() ? e.getAsJsonObject() : new JsonObject();
    }

    /** The L1 coefficient sae4j trained with (0 for other libraries' files). */
    public double l1Coefficient() {
        JsonElement e = record().get("l1_coefficient");
        return e != null ? e.getAsDouble() : 0;
    }

    public long seed() {
        JsonElement e = record().get("seed");
        return e != null ? e.getAsLong() : SaeConfig.DEFAULT_SEED;
    }
}
