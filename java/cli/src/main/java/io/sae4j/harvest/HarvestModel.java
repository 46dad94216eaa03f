package io.sae4j.harvest;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.util.List;

/**
 * The transformer a harvest runs: one of the bundled models ({@link TransformerModel}) or a user's
 * ONNX export with its tokenizer.json ({@link OnnxModelFiles}). Everything the harvester needs:
 * the graph, the tokenizer, which tensor holds a site of a layer, and d_model.
 */
public sealed interface HarvestModel permits TransformerModel, OnnxModelFiles {
    /** Short name: the manifest's "model", and what messages call the model. */
    String key();

    /** Human name, recorded in the manifest as model_name. */
    String displayName();

    /** Width of every harvested tensor (its last dimension). */
    int dModel();

    /**
     * The graph tensor holding {@code site} of {@code layer} (0-based); an IllegalArgumentException
     * saying what exists when there is none.
     */
    String tensorName(TransformerModel.Site site, int layer);

    /** Refuses layers this model cannot harvest (the message starts with what is wrong, not "--layers"). */
    default void checkLayers(TransformerModel.Site site, List<Integer> layers) {
        for (int l : layers) tensorName(site, l);
    }

    /** The ONNX model's bytes. */
    byte[] onnxBytes() throws IOException;

    /** The HuggingFace tokenizer.json's bytes. */
    byte[] tokenizerJson() throws IOException;

    /** Where the graph comes from, for messages: the resource or the file. */
    String source();

    /**
     * Adds to a manifest identity what, beyond {@link #key}, tells this model apart (files: paths
     * and content fingerprints). Bundled models add nothing, so their manifests stay as they were.
     */
    void addIdentity(JsonObject identity);
}
