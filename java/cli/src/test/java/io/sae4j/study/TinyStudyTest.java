package io.sae4j.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.sae4j.backend.cpu.CpuBackend;
import io.sae4j.report.Report;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole study on a tiny config (few tokens, small ratios, quantised MiniLM): end to end, then resumed. */
class TinyStudyTest {
    static final StudyConfig TINY = new StudyConfig("minilm-q", "mlp_out", 3, List.of(2, 3), List.of(1, 2), 2, List.of(42L, 43L, 44L),
            List.of("minilm"), 2048, 512, 20, 256, 2.5, 2e-3, 0.5, 5, 8, false).validated("tiny");

    @Test
    void tinyStudyRunsEndToEndAndResumes(@TempDir Path out) throws Exception {
        List<String> log = new ArrayList<>();
        JsonObject r;
        try (CpuBackend be = new CpuBackend()) {
            r = new Study(TINY, out, be, quiet(), log::add).run();
        }
        // 2 sweep SAEs (r1, r2 with seed 42), r2 seeds 43 and 44, half B, Europarl, layer 2, model minilm, and the
        // sweep again at matched L0
        assertEquals(10, r.getAsJsonArray("saes").size(), r.toString());
        Set<String> kinds = new HashSet<>();
        for (JsonElement e : r.getAsJsonArray("comparisons")) {
            JsonObject c = e.getAsJsonObject();
            kinds.add(c.get("kind").getAsString());
            double ab = c.get("mmcs_ab").getAsDouble();
            assertTrue(ab > 0 && ab <= 1.0001, "MMCS in (0, 1]: " + c);
        }
        assertEquals(Set.of("ratio", "seed", "dataset", "layer", "cross_layer", "model", "random", "ratio_matched_l0"), kinds);
        var matchedCfg = com.google.gson.JsonParser.parseString(Files.readString(
                out.resolve("saes/matched-l0/minilm-q-L3-mlp_out-r2-s42-A-matched-l0/cfg.json"))).getAsJsonObject();
        double lambda = matchedCfg.getAsJsonObject("sae4j").getAsJsonObject("final").get("l1_coefficient").getAsDouble();
        assertTrue(lambda != 2.5 && lambda > 0, "the matched sweep's lambda adapted from 2.5: " + lambda);
        assertEquals(0.5, matchedCfg.getAsJsonObject("sae4j").getAsJsonObject("train").get("lrDecayFraction").getAsDouble(),
                "the config's lrDecay reaches the trainer");
        long datasets = r.getAsJsonArray("comparisons").asList().stream()
                .filter(e -> e.getAsJsonObject().get("kind").getAsString().equals("dataset")).count();
        assertEquals(2, datasets, "WordNet half B and Europarl against the main SAE");
        assertEquals(3, r.getAsJsonArray("comparisons").asList().stream()
                .filter(e -> e.getAsJsonObject().get("kind").getAsString().equals("seed")).count(), "all three seed pairs");
        for (JsonElement e : r.getAsJsonArray("comparisons"))
            if (e.getAsJsonObject().get("kind").getAsString().equals("seed"))
                assertTrue(e.getAsJsonObject().get("mmcs_ab_mid").getAsDouble() > 0, "seed-pair MMCS at 75% of training: " + e);
        for (JsonElement e : r.getAsJsonArray("saes")) {
            JsonObject s = e.getAsJsonObject();
            assertTrue(s.getAsJsonArray("training").size() > 0, "training curve of " + s.get("name"));
            assertTrue(s.get("l0").getAsDouble() > 0, "L0 of " + s.get("name"));
        }
        Report.write(r, out);
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("id=\"findings\"") && html.contains("data:image/png;base64,"), "report with figures");

        // a second run finds everything harvested, trained and compared, with the same results
        log.clear();
        JsonObject again;
        try (CpuBackend be = new CpuBackend()) {
            again = new Study(TINY, out, be, quiet(), log::add).run();
        }
        assertTrue(log.stream().filter(l -> l.startsWith("train ")).allMatch(l -> l.endsWith("already trained")), log.toString());
        List<String> compares = log.stream().filter(l -> l.startsWith("compare (")).toList();
        assertTrue(!compares.isEmpty() && compares.stream().allMatch(l -> l.endsWith(": saved")), "comparisons reused: " + compares);
        assertEquals(r.getAsJsonArray("comparisons"), again.getAsJsonArray("comparisons"), "the same comparisons");
        assertEquals(4, log.stream().filter(l -> l.endsWith("already harvested")).count(), "all four harvests reused: " + log);
        assertFalse(Files.exists(out.resolve("acts/minilm-q-A/shards")));
    }

    static Study.Progress quiet() {
        return new Study.Progress() {
            @Override public void stage(String label, long total, String unit) {}
            @Override public void update(long done) {}
            @Override public void note(String text) {}
            @Override public void end() {}
        };
    }
}
