package io.sae4j.harvest;

import java.util.List;

/**
 * What to harvest: {@code tokens} activations of {@code site} at {@code layers} of {@code model} on
 * {@code dataset} (WordNet half "A" or "B", or "europarl": {@link EuroparlCorpus}), stored as float16 or float32, saved in shards of
 * {@code shardTokens} tokens.
 */
public record HarvestSpec(TransformerModel model, TransformerModel.Site site, List<Integer> layers, String dataset,
                          long tokens, boolean float16, int shardTokens) {
    public static final int DEFAULT_SHARD_TOKENS = 1 << 15;
    /** WordNet's two halves and the English Europarl sample. */
    public static final List<String> DATASETS = List.of("A", "B", "europarl");

    /** The texts of a dataset, in their fixed order. */
    public static List<String> texts(String dataset) throws java.io.IOException {
        return "europarl".equals(dataset) ? EuroparlCorpus.sentences() : WordNetCorpus.half(dataset);
    }

    public HarvestSpec {
        layers = List.copyOf(layers);
        if (layers.isEmpty()) throw new IllegalArgumentException("--layers: give at least one layer");
        if (layers.stream().distinct().count() != layers.size()) throw new IllegalArgumentException("--layers repeat: " + layers);
        for (int l : layers)
            try {
                model.tensorName(site, l); // validates the range
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--layers: " + e.getMessage(), e);
            }
        if (!DATASETS.contains(dataset))
            throw new IllegalArgumentException("--dataset must be one of " + DATASETS + ", got '" + dataset + "'");
        if (tokens < 1) throw new IllegalArgumentException("--tokens must be >= 1, got " + tokens);
        if (shardTokens < 1) throw new IllegalArgumentException("shard size must be >= 1");
        if ((long) shardTokens * model.dModel > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("shard of " + shardTokens + " tokens is too large");
    }
}
