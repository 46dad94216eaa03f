package io.sae4j.harvest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The English Europarl sentences: the language filter, the split, and a fixed order. */
class EuroparlCorpusTest {
    @Test
    void englishIsKeptAndTheOtherLanguagesAreNot() {
        assertTrue(EuroparlCorpus.isEnglish("We therefore call on the Commission to submit new proposals that will combat"
                + " discrimination in an effective way."));
        assertFalse(EuroparlCorpus.isEnglish("Invitiamo dunque la Commissione a sottoporre nuove proposte intese a combattere"
                + " in modo efficace la discriminazione basata sul sesso."));
        assertFalse(EuroparlCorpus.isEnglish("Detta är, givetvis, en komplicerad fråga. Sedan den lades fram gjorde jag ett"
                + " uttalande av kommissionen i plenarsammanträdet."));
        assertFalse(EuroparlCorpus.isEnglish("Die Kommission hat einen Vorschlag vorgelegt, der die Diskriminierung bekämpfen soll."));
        assertFalse(EuroparlCorpus.isEnglish("12 345 678"));
    }

    @Test
    void sentencesAreEnglishDistinctEnoughAndInAFixedOrder() throws IOException {
        List<String> s = EuroparlCorpus.sentences();
        assertTrue(s.size() > 8000, "sentences: " + s.size());
        long words = s.stream().mapToLong(x -> x.split(" ").length).sum();
        assertTrue(words > 190_000 && words < 240_000, "about 210k English words: " + words);
        assertTrue(new HashSet<>(s).size() > 0.95 * s.size(), "mostly distinct sentences");
        assertTrue(s.stream().allMatch(x -> x.split(" ").length >= 4 && !x.contains("\t")), "whole sentences, no fields");
        assertEquals(s, EuroparlCorpus.sentences(), "the same order every time");
    }
}
