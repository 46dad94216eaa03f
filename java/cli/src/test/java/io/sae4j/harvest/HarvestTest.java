package io.sae4j.harvest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.sae4j.io.NpyReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tokenisation, the corpus split, and a small real harvest (quantised MiniLM, a few hundred tokens). */
class HarvestTest {
    @TempDir
    Path tmp;

    @Test
    void miniLmTokenizerGivesKnownIds() throws Exception {
        Path json = tmp.resolve("tok.json");
        Files.write(json, TransformerModel.MINILM.tokenizerJson());
        try (HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(json)) {
            Encoding e = t.encode("a course of action");
            long[] ids = e.getIds();
            assertArrayEquals(new long[] {101, 1037, 2607, 1997, 2895, 102}, java.util.Arrays.copyOf(ids, 6),
                    "[CLS] a course of action [SEP] in bert-base-uncased ids");
            long[] special = e.getSpecialTokenMask();
            assertEquals(1, special[0], "[CLS] is special");
            assertEquals(1, special[5], "[SEP] is special");
            assertEquals(0, special[2]);
        }
    }

    @Test
    void wordNetHalvesAreDisjointAndCoverTheCorpus() throws Exception {
        List<String> all = WordNetCorpus.glosses();
        assertTrue(all.size() > 117_000 && all.size() < 118_500, "about 117.8k glosses, got " + all.size());
        List<String> a = WordNetCorpus.half("A"), b = WordNetCorpus.half("B");
        assertEquals(all.size(), a.size() + b.size());
        Set<String> sa = new HashSet<>(a);
        for (String t : b) assertFalse(sa.contains(t), "text in both halves: " + t);
        assertEquals(a, WordNetCorpus.half("A"), "the split and its order are fixed");
        assertThrows(IllegalArgumentException.class, () -> WordNetCorpus.half("C"));
    }

    @Test
    void harvestDropsSpecialTokensResumesAndCaches() throws Exception {
        HarvestSpec spec = new HarvestSpec(TransformerModel.MINILM_Q, TransformerModel.Site.MLP_OUT, List.of(0, 5), "A",
                700, false, 256);
        Path dir = tmp.resolve("acts");
        // interrupt after the first shard: the progress callback throws once 256 tokens are in
        RuntimeException stop = assertThrows(RuntimeException.class, () -> new Harvester(spec, dir).run(done -> {
            if (done > 300) throw new IllegalStateException("interrupted");
        }, 2));
        assertEquals("interrupted", stop.getMessage());
        Manifest partial = Manifest.read(dir);
        assertFalse(partial.complete());
        assertEquals(1, partial.shards().size(), "one shard was finished before the interruption");

        Manifest m = new Harvester(spec, dir).run(done -> {}, 2);
        assertTrue(m.complete());
        assertEquals(3, m.shards().size(), "256 + 256 + 188 tokens");
        for (int layer : List.of(0, 5))
            try (NpyReader r = NpyReader.open(Manifest.layerFile(dir, layer))) {
                assertArrayEquals(new long[] {700, 384}, r.shape());
                float[] x = r.readAll();
                double ss = 0;
                for (float v : x) {
                    assertTrue(Float.isFinite(v));
                    ss += v * v;
                }
                assertTrue(ss > 0, "activations are not all zero");
            }
        List<String> rows = Files.readAllLines(dir.resolve("tokens.tsv"), StandardCharsets.UTF_8);
        assertEquals(701, rows.size(), "header + one row per activation");
        List<String> texts = Files.readAllLines(dir.resolve("texts.txt"), StandardCharsets.UTF_8);
        List<Integer> positions = new ArrayList<>();
        for (String row : rows.subList(1, rows.size())) {
            String[] f = row.split("\t", -1);
            long id = Long.parseLong(f[2]);
            assertTrue(id != 0 && id != 101 && id != 102, "no [PAD]/[CLS]/[SEP] rows: " + row);
            assertFalse(f[3].startsWith("["), "no special token strings: " + row);
            int text = Integer.parseInt(f[0]), start = Integer.parseInt(f[4]), end = Integer.parseInt(f[5]);
            String word = texts.get(text).substring(start, end).toLowerCase();
            assertEquals(f[3].replace("##", ""), word, "the span is the token's text: " + row);
            positions.add(Integer.parseInt(f[1]));
        }
        assertTrue(positions.stream().allMatch(p -> p >= 1), "position 0 is [CLS]");
        assertFalse(Files.exists(dir.resolve("shards")), "shards are removed once joined");

        long before = Files.getLastModifiedTime(Manifest.layerFile(dir, 0)).toMillis();
        new Harvester(spec, dir).run(done -> {}, 2);
        assertEquals(before, Files.getLastModifiedTime(Manifest.layerFile(dir, 0)).toMillis(), "a complete harvest is reused");

        HarvestSpec other = new HarvestSpec(TransformerModel.MINILM_Q, TransformerModel.Site.MLP_OUT, List.of(1), "A", 700,
                false, 256);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Harvester(other, dir).run(d -> {}, 2));
        assertTrue(e.getMessage().contains("different harvest"), e.getMessage());
    }

    @Test
    void badSpecsAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new HarvestSpec(TransformerModel.MINILM,
                TransformerModel.Site.MLP_OUT, List.of(6), "A", 10, false, 64));
        assertTrue(e.getMessage().contains("layers 0..5") && e.getMessage().startsWith("--layers: "), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TransformerModel.of("gpt2"));
        assertThrows(IllegalArgumentException.class, () -> TransformerModel.Site.of("attn"));
        assertEquals("last_hidden_state", TransformerModel.BGE_SMALL.tensorName(TransformerModel.Site.RESID, 11));
    }

    /** More tokens than the half holds: refused before any activation is written, nothing left behind. */
    @Test
    void tooManyTokensAreRefusedBeforeHarvesting() {
        HarvestSpec spec = new HarvestSpec(TransformerModel.MINILM, TransformerModel.Site.MLP_OUT, List.of(0), "B", 5_000_000,
                false, 4096);
        Path dir = tmp.resolve("too-many");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Harvester(spec, dir).run(d -> {}, 2));
        assertTrue(e.getMessage().startsWith("--tokens 5000000: dataset B has at most "), e.getMessage());
        assertTrue(!Files.exists(dir), "the output directory this run created is removed");
    }

    /** A row of a batched harvest equals the same token run through the model alone (alignment, padding). */
    @Test
    void aHarvestedRowMatchesItsTextRunAlone() throws Exception {
        HarvestSpec spec = new HarvestSpec(TransformerModel.MINILM, TransformerModel.Site.MLP_OUT, List.of(2), "A", 400, false, 4096);
        Path dir = tmp.resolve("fp32");
        new Harvester(spec, dir).run(d -> {}, 2);
        List<String> rows = Files.readAllLines(dir.resolve("tokens.tsv"), StandardCharsets.UTF_8);
        List<String> texts = Files.readAllLines(dir.resolve("texts.txt"), StandardCharsets.UTF_8);
        float[] all;
        try (NpyReader r = NpyReader.open(Manifest.layerFile(dir, 2))) {
            all = r.readAll();
        }
        int row = 257, d = 384;
        int text = Integer.parseInt(rows.get(row + 1).split("\t")[0]);
        int firstRowOfText = row;
        while (firstRowOfText > 0 && Integer.parseInt(rows.get(firstRowOfText).split("\t")[0]) == text) firstRowOfText--;
        try (Harvester.Model m = new Harvester.Model(spec, 2)) {
            Harvester.Shard alone = m.shard(List.of(texts.get(text)), 0, 1000, x -> {}, 0);
            int k = row - firstRowOfText; // the token's index within its text
            for (int j = 0; j < d; j++)
                assertEquals(alone.acts[0][k * d + j], all[row * d + j], 1e-4f, "row " + row + " dim " + j);
        }
    }

    @Test
    void theThreeModelsTokeniseAlike() throws Exception {
        List<String> texts = WordNetCorpus.half("B").subList(0, 50);
        long[][] first = null;
        for (TransformerModel m : TransformerModel.values()) {
            Path json = tmp.resolve(m.key + ".json");
            Files.write(json, m.tokenizerJson());
            try (HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(json)) {
                long[][] ids = new long[texts.size()][];
                for (int i = 0; i < texts.size(); i++) ids[i] = t.encode(texts.get(i)).getIds();
                if (first == null) first = ids;
                else for (int i = 0; i < ids.length; i++)
                    assertArrayEquals(java.util.Arrays.copyOf(first[i], 64), java.util.Arrays.copyOf(ids[i], 64),
                            m.key + " tokenises text " + i + " differently, so rows would not align across models");
            }
        }
    }
}
