package io.sae4j.harvest;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The transformers sae4j harvests from: ONNX models with their HuggingFace tokenizer.json, shipped
 * as resources of langchain4j's embedding jars on Maven Central (only the resources are used).
 * Tensor names for layer L follow the BERT export all three share (checked against each graph).
 */
public enum TransformerModel implements HarvestModel {
    MINILM("minilm", "all-MiniLM-L6-v2", "all-minilm-l6-v2.onnx", "all-minilm-l6-v2-tokenizer.json", 6, 384),
    MINILM_Q("minilm-q", "all-MiniLM-L6-v2-q (int8 quantised)", "all-minilm-l6-v2-q.onnx",
            "all-minilm-l6-v2-q-tokenizer.json", 6, 384),
    BGE_SMALL("bge-small", "bge-small-en-v1.5", "bge-small-en-v1.5.onnx", "bge-small-en-v1.5-tokenizer.json", 12, 384);

    public final String key, displayName, onnxResource, tokenizerResource;
    public final int layers, dModel;

    TransformerModel(String key, String displayName, String onnx, String tokenizer, int layers, int dModel) {
        this.key = key;
        this.displayName = displayName;
        this.onnxResource = onnx;
        this.tokenizerResource = tokenizer;
        this.layers = layers;
        this.dModel = dModel;
    }

    @Override
    public String key() {
        return key;
    }

    @Override
    public String displayName() {
        return displayName;
    }

    @Override
    public int dModel() {
        return dModel;
    }

    @Override
    public String source() {
        return key + " (" + onnxResource + ")";
    }

    @Override
    public void addIdentity(com.google.gson.JsonObject identity) {
        // the key names everything: the resources are fixed by the pinned jar versions
    }

    public static TransformerModel of(String key) {
        for (TransformerModel m : values())
            if (m.key.equals(key.toLowerCase(Locale.ROOT))) return m;
        throw new IllegalArgumentException("unknown model '" + key + "'; known: "
                + Arrays.stream(values()).map(m -> m.key).collect(Collectors.joining(", ")));
    }

    /** The activation sites sae4j can expose. */
    public enum Site {
        /** MLP output of the block (before the residual add and LayerNorm): the seed study's site. */
        MLP_OUT("mlp_out"),
        /** Residual stream after the block (its final LayerNorm output). */
        RESID("resid");

        public final String key;

        Site(String key) {
            this.key = key;
        }

        public static Site of(String key) {
            for (Site s : values())
                if (s.key.equals(key)) return s;
            throw new IllegalArgumentException("unknown site '" + key + "'; known: mlp_out, resid");
        }
    }

    /** The graph tensor holding {@code site} of {@code layer} (0-based). */
    @Override
    public String tensorName(Site site, int layer) {
        if (layer < 0 || layer >= layers)
            throw new IllegalArgumentException(key + " has layers 0.." + (layers - 1) + ", got " + layer);
        return switch (site) {
            case MLP_OUT -> "/encoder/layer." + layer + "/output/dense/Add_output_0";
            // the last block's output is the graph output itself; its internal name is not exposed
            case RESID -> layer == layers - 1 ? "last_hidden_state" : "/encoder/layer." + layer + "/output/LayerNorm/Add_1_output_0";
        };
    }

    @Override
    public byte[] onnxBytes() throws IOException {
        return resource(onnxResource);
    }

    @Override
    public byte[] tokenizerJson() throws IOException {
        return resource(tokenizerResource);
    }

    private byte[] resource(String name) throws IOException {
        try (InputStream in = TransformerModel.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null)
                throw new IOException("resource " + name + " of model " + key + " is not on the class path (the langchain4j "
                        + "embeddings jar for " + displayName + " is missing)");
            return in.readAllBytes();
        }
    }
}
