package io.sae4j.harvest;

import java.util.List;

/**
 * What to harvest: {@code tokens} activations of {@code site} at {@code layers} of {@code model} (a
 * bundled {@link TransformerModel} or a user's {@link OnnxModelFiles}) on {@code corpus} (a bundled
 * dataset: WordNet half "A" or "B", or "europarl": {@link EuroparlCorpus}; or a user's
 * {@link TextFileCorpus}), stored as float16 or float32, saved in shards of {@code shardTokens} tokens.
 */
public record HarvestSpec(HarvestModel model, TransformerModel.Site site, List<Integer> layers, Corpus corpus,
                          long tokens, boolean float16, int shardTokens) {
    public static final int DEFAULT_SHARD_TOKENS = 1 << 15;
    /** WordNet's two halves and the English Europarl sample. */
    public static final List<String> DATASETS = List.of("A", "B", "europarl");

    /** The texts of a bundled dataset, in their fixed order. */
    public static List<String> texts(String dataset) throws java.io.IOException {
        return Corpus.bundled(dataset).texts();
    }

    /** A harvest of a bundled dataset ("A", "B" or "europarl"). */
    public HarvestSpec(HarvestModel model, TransformerModel.Site site, List<Integer> layers, String dataset, long tokens,
                       boolean float16, int shardTokens) {
        this(model, site, layers, Corpus.bundled(dataset), tokens, float16, shardTokens);
    }

    public HarvestSpec {
        layers = List.copyOf(layers);
        if (layers.isEmpty()) throw new IllegalArgumentException("--layers: give at least one layer");
        if (layers.stream().distinct().count() != layers.size()) throw new IllegalArgumentException("--layers repeat: " + layers);
        try {
            model.checkLayers(site, layers);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--layers: " + e.getMessage(), e);
        }
        if (tokens < 1) throw new IllegalArgumentException("--tokens must be >= 1, got " + tokens);
        if (shardTokens < 1) throw new IllegalArgumentException("shard size must be >= 1");
        if ((long) shardTokens * model.dModel() > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("shard of " + shardTokens + " tokens is too large");
    }

    /** The corpus's short name (the manifest's "dataset"). */
    public String dataset() {
        return corpus.key();
    }
}
