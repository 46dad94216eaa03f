package io.sae4j.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;

/** Each seed observation on crafted numbers: supported (true), contradicted (false), no data (null). */
class FindingsTest {
    /** A tiny results object: SAEs by ratio (d_in 100) and comparisons between them. */
    private static final class R {
        final JsonObject json = new JsonObject();
        final JsonArray saes = new JsonArray(), comps = new JsonArray();

        R() {
            json.add("saes", saes);
            json.add("comparisons", comps);
        }

        R sae(String name, double ratio, double l0, Double medianLog10) {
            JsonObject s = new JsonObject();
            s.addProperty("name", name);
            s.addProperty("ratio", ratio);
            s.addProperty("d_in", 100);
            s.addProperty("d_sae", 100 * ratio);
            s.addProperty("l0", l0);
            if (medianLog10 == null) s.add("median_log10_freq", JsonNull.INSTANCE);
            else s.addProperty("median_log10_freq", medianLog10);
            saes.add(s);
            return this;
        }

        R cmp(String kind, String a, String b, double mab, double mba, Double cab, Double cba) {
            JsonObject c = new JsonObject();
            c.addProperty("kind", kind);
            c.addProperty("a", a);
            c.addProperty("b", b);
            c.addProperty("mmcs_ab", mab);
            c.addProperty("mmcs_ba", mba);
            if (cab != null) c.addProperty("corr_ab", cab);
            if (cba != null) c.addProperty("corr_ba", cba);
            comps.add(c);
            return this;
        }

        /** A study that trained TopK SAEs with this k (its config's "k"). */
        R topK(int k) {
            JsonObject cfg = new JsonObject();
            cfg.addProperty("k", k);
            json.add("config", cfg);
            return this;
        }

        StudyResults study() {
            return StudyResults.of(json);
        }
    }

    private static R threeRatios() {
        return new R().sae("r1", 1, 40, -2.5).sae("r2", 2, 38, -2.6).sae("r4", 4, 36, -2.8);
    }

    // (a) MMCS small -> large above large -> small

    @Test
    void smallToLargeHolds() {
        // The second pair is written large-first: its mmcs_ba is the small -> large direction.
        Finding f = Findings.smallToLarge(threeRatios().cmp("ratio", "r1", "r2", 0.8, 0.6, null, null)
                .cmp("ratio", "r4", "r2", 0.55, 0.75, null, null).study());
        assertEquals(Boolean.TRUE, f.holds(), f.evidence());
        assertTrue(f.evidence().contains("2 \"ratio\" pairs"), f.evidence());
        assertTrue(f.evidence().contains("0.2 \u00b1"), f.evidence());
        assertTrue(f.evidence().contains("2 of 2"), f.evidence());
        assertEquals(Figures.HEATMAP, f.figureAnchor());
    }

    @Test
    void smallToLargeFails() {
        Finding f = Findings.smallToLarge(threeRatios().cmp("ratio", "r1", "r2", 0.5, 0.7, null, null)
                .cmp("ratio", "r4", "r2", 0.75, 0.55, null, null).study());
        assertEquals(Boolean.FALSE, f.holds(), f.evidence());
        assertTrue(f.evidence().contains("0 of 2"), f.evidence());
    }

    @Test
    void smallToLargeWithoutDataIsNull() {
        assertNull(Findings.smallToLarge(threeRatios().study()).holds());
        // Pairs of unknown SAEs, or with a null direction, do not count.
        assertNull(Findings.smallToLarge(threeRatios().cmp("ratio", "x", "y", 0.8, 0.6, null, null).study()).holds());
        assertNull(Findings.smallToLarge(threeRatios().cmp("seed", "r1", "r2", 0.8, 0.6, null, null).study()).holds());
    }

    // (b) 1:1 lowest

    @Test
    void oneToOneLowestHolds() {
        Finding f = Findings.oneToOneLowest(threeRatios().cmp("ratio", "r1", "r2", 0.5, 0.4, null, null)
                .cmp("ratio", "r1", "r4", 0.5, 0.4, null, null).cmp("ratio", "r2", "r4", 0.8, 0.7, null, null).study());
        assertEquals(Boolean.TRUE, f.holds(), f.evidence());
        assertTrue(f.evidence().contains("1:1 0.45 \u00b1"), f.evidence());
    }

    @Test
    void oneToOneLowestFails() {
        Finding f = Findings.oneToOneLowest(threeRatios().cmp("ratio", "r1", "r2", 0.8, 0.7, null, null)
                .cmp("ratio", "r1", "r4", 0.5, 0.4, null, null).cmp("ratio", "r2", "r4", 0.3, 0.2, null, null).study());
        assertEquals(Boolean.FALSE, f.holds(), f.evidence());
        assertTrue(f.evidence().contains("The lowest mean is 1:4"), f.evidence());
    }

    @Test
    void oneToOneLowestWithinItsSpreadCannotBeTold() {
        // 1:1's pairs 0.85 and 0.35 (mean 0.6, sd 0.35); 1:2 (0.8) and 1:4 (0.55) are within that of it
        Finding f = Findings.oneToOneLowest(threeRatios().cmp("ratio", "r1", "r2", 0.9, 0.8, null, null)
                .cmp("ratio", "r1", "r4", 0.4, 0.3, null, null).cmp("ratio", "r2", "r4", 0.8, 0.7, null, null).study());
        assertNull(f.holds(), f.evidence());
    }

    @Test
    void oneToOneLowestWithoutARatioOneSaeIsNull() {
        R r = new R().sae("r2", 2, 38, -2.6).sae("r4", 4, 36, -2.8).cmp("ratio", "r2", "r4", 0.8, 0.7, null, null);
        assertNull(Findings.oneToOneLowest(r.study()).holds());
        assertNull(Findings.oneToOneLowest(new R().study()).holds());
    }

    // (c) far above the random baseline

    @Test
    void aboveRandomHolds() {
        Finding f = Findings.aboveRandom(threeRatios().cmp("seed", "r2", "r4", 0.7, 0.72, 0.8, 0.82)
                .cmp("ratio", "r1", "r2", 0.6, 0.5, 0.7, 0.6)
                .cmp("random", "r2", "random-init(r2)", 0.15, 0.16, 0.4, 0.41).study());
        assertEquals(Boolean.TRUE, f.holds(), f.evidence());
        assertTrue(f.evidence().contains("is below the seed's 0.20"), f.evidence());
        assertTrue(f.evidence().contains("is within 0.1 of the seed's 0.4"), f.evidence());
    }

    @Test
    void aboveRandomFailsWhenTrainedPairsAreNearTheBaseline() {
        Finding f = Findings.aboveRandom(threeRatios().cmp("seed", "r2", "r4", 0.2, 0.21, 0.45, 0.44)
                .cmp("random", "r2", "random-init(r2)", 0.15, 0.16, 0.4, 0.41).study());
        assertEquals(Boolean.FALSE, f.holds(), f.evidence());
        assertTrue(f.evidence().contains("not far above"), f.evidence());
        // Far above in MMCS but not in correlation: does not hold either.
        Finding g = Findings.aboveRandom(threeRatios().cmp("seed", "r2", "r4", 0.7, 0.7, 0.42, 0.42)
                .cmp("random", "r2", "random-init(r2)", 0.15, 0.16, 0.4, 0.41).study());
        assertEquals(Boolean.FALSE, g.holds(), g.evidence());
    }

    @Test
    void aboveRandomWithoutABaselineIsNull() {
        Finding f = Findings.aboveRandom(threeRatios().cmp("seed", "r2", "r4", 0.7, 0.72, 0.8, 0.82).study());
        assertNull(f.holds());
        assertTrue(f.evidence().contains("No random-init baseline"), f.evidence());
    }

    // (d) frequencies centred near 1e-2..1e-3

    @Test
    void frequencyCentreHolds() {
        Finding f = Findings.frequencyCentre(new R().sae("a", 1, 40, -2.5).sae("b", 2, 40, -2.2).sae("c", 4, 40, -1.5).study());
        assertEquals(Boolean.TRUE, f.holds(), f.evidence());
        assertTrue(f.evidence().contains("2 of 3"), f.evidence());
    }

    @Test
    void frequencyCentreFails() {
        Finding f = Findings.frequencyCentre(new R().sae("a", 1, 40, -1.0).sae("b", 2, 40, -1.5).sae("c", 4, 40, -2.5).study());
        assertEquals(Boolean.FALSE, f.holds(), f.evidence());
    }

    @Test
    void frequencyCentreUsesTheHistogramWhenTheMedianIsMissing() {
        R r = new R().sae("a", 1, 40, null);
        JsonObject h = new JsonObject();
        h.addProperty("lo", -6.0);
        h.addProperty("hi", 0.0);
        JsonArray counts = new JsonArray();
        for (int i = 0; i < 6; i++) counts.add(i == 3 ? 100 : 0); // all in [-3, -2)
        h.add("counts", counts);
        r.saes.get(0).getAsJsonObject().add("log10_freq_hist", h);
        Finding f = Findings.frequencyCentre(r.study());
        assertEquals(Boolean.TRUE, f.holds(), f.evidence());
        assertTrue(f.evidence().contains("-2.5"), f.evidence());
    }

    @Test
    void frequencyCentreWithoutDataIsNull() {
        assertNull(Findings.frequencyCentre(new R().sae("a", 1, 40, null).study()).holds());
        assertNull(Findings.frequencyCentre(new R().study()).holds());
    }

    // (e) larger SAEs sparser

    @Test
    void largerSparserHolds() {
        // L0 about constant while d_sae grows: L0 / d_sae falls.
        Finding f = Findings.largerSparser(threeRatios().sae("r8", 8, 35, -3.0).study());
        assertEquals(Boolean.TRUE, f.holds(), f.evidence());
        assertTrue(f.evidence().contains("L0 / d_sae"), f.evidence());
        assertTrue(f.evidence().contains("3 of 3 steps"), f.evidence());
    }

    @Test
    void largerSparserWithinTheSeedSpreadCannotBeTold() {
        // sweep L0/d_sae 0.4, 0.19, 0.09, 0.044: the last step (0.046) is within the seeds' spread (sd 0.06)
        R r = threeRatios().sae("r8", 8, 35, -3.0).sae("s1", 4, 36, -2.8).sae("s2", 4, 70, -2.8)
                .cmp("ratio", "r1", "r2", 0.8, 0.6, null, null).cmp("ratio", "r2", "r4", 0.8, 0.6, null, null)
                .cmp("ratio", "r4", "r8", 0.8, 0.6, null, null).cmp("seed", "s1", "s2", 0.8, 0.8, null, null);
        Finding f = Findings.largerSparser(r.study());
        assertNull(f.holds(), f.evidence());
        assertTrue(f.evidence().contains("Seed spread"), f.evidence());
    }

    @Test
    void largerSparserFails() {
        Finding f = Findings.largerSparser(new R().sae("r1", 1, 10, -2.0).sae("r2", 2, 40, -2.0).sae("r4", 4, 160, -2.0).study());
        assertEquals(Boolean.FALSE, f.holds(), f.evidence());
        assertTrue(f.evidence().contains("0 of 2 steps"), f.evidence());
    }

    @Test
    void largerSparserUsesTheRatioSweepWhenThereIsOne() {
        // The sweep (r1, r2) gets sparser; a third SAE outside the sweep would contradict it.
        R r = new R().sae("r1", 1, 40, -2.0).sae("r2", 2, 40, -2.0).sae("big", 4, 4000, -1.0).cmp("ratio", "r1", "r2", 0.8, 0.6, null, null);
        assertEquals(Boolean.TRUE, Findings.largerSparser(r.study()).holds());
    }

    @Test
    void largerSparserWithOneRatioIsNull() {
        assertNull(Findings.largerSparser(new R().sae("a", 4, 40, -2.0).sae("b", 4, 38, -2.0).study()).holds());
        assertNull(Findings.largerSparser(new R().study()).holds());
    }

    /** A TopK study: its sweep is at one L0 by construction (so said), and "larger SAEs sparser" is not told from it. */
    @Test
    void topKStudyLabelsItsSweepAndLeavesSparsityOpen() {
        R results = new R().sae("r1", 1, 32, -2.5).sae("r2", 2, 32, -2.6).sae("r4", 4, 32, -2.8)
                .cmp("ratio", "r1", "r2", 0.8, 0.6, null, null).cmp("ratio", "r2", "r4", 0.8, 0.6, null, null).topK(32);
        var fs = Findings.evaluate(results.json);
        assertTrue(fs.get(2).claim().endsWith("(TopK, k 32: at one L0 by construction)"), fs.get(2).claim());
        assertEquals(Boolean.TRUE, fs.get(2).holds(), fs.get(2).evidence());
        Finding sparser = Findings.largerSparser(results.study());
        assertNull(sparser.holds(), sparser.evidence());
        assertTrue(sparser.evidence().contains("by construction"), sparser.evidence());
        assertEquals(Boolean.TRUE, Findings.largerSparser(new R().sae("r1", 1, 32, -2.5).sae("r2", 2, 32, -2.6)
                .sae("r4", 4, 32, -2.8).study()).holds(), "the same numbers from a ReLU study: the active fraction falls");
    }

    @Test
    void matchedL0ComparisonsGetTheirOwnVerdicts() {
        // at one lambda small -> large is higher; at matched L0 it is lower in both pairs
        R results = threeRatios().cmp("ratio", "r1", "r2", 0.8, 0.6, null, null).cmp("ratio", "r2", "r4", 0.8, 0.6, null, null)
                .cmp(Findings.MATCHED, "r1", "r2", 0.5, 0.7, null, null).cmp(Findings.MATCHED, "r2", "r4", 0.5, 0.75, null, null);
        var fs = Findings.evaluate(results.json);
        assertEquals(9, fs.size());
        Finding lambda = fs.get(2), matched = fs.get(3);
        assertTrue(lambda.claim().endsWith("(at one lambda)") && matched.claim().endsWith("(at matched L0)"), matched.claim());
        assertEquals(Boolean.TRUE, lambda.holds(), lambda.evidence());
        assertEquals(Boolean.FALSE, matched.holds(), matched.evidence());
        assertTrue(fs.get(5).claim().startsWith("1:1 SAEs score lowest") && fs.get(5).claim().endsWith("(at matched L0)"));
    }

    @Test
    void matchedFindingsNeedTheSaesToHaveMatchedL0() {
        // threeRatios: L0 40, 38, 36 (within 1.25x): the verdict stands; with an L0 of 20 beside 40 it cannot be told
        R close = threeRatios().cmp(Findings.MATCHED, "r1", "r2", 0.5, 0.7, null, null).cmp(Findings.MATCHED, "r2", "r4", 0.5, 0.75, null, null);
        Finding f = Findings.smallToLarge(close.study(), Findings.MATCHED, "");
        assertEquals(Boolean.FALSE, f.holds(), f.evidence());
        assertTrue(f.evidence().contains("Held-out L0 of the matched SAEs: 36 to 40"), f.evidence());
        R apart = new R().sae("r1", 1, 40, -2.5).sae("r2", 2, 20, -2.6).sae("r4", 4, 36, -2.8)
                .cmp(Findings.MATCHED, "r1", "r2", 0.5, 0.7, null, null).cmp(Findings.MATCHED, "r2", "r4", 0.5, 0.75, null, null);
        Finding g = Findings.smallToLarge(apart.study(), Findings.MATCHED, "");
        assertNull(g.holds(), g.evidence());
        assertTrue(g.evidence().contains("not matched closely enough"), g.evidence());
    }

    @Test
    void smallToLargeWithinTheSpreadCannotBeTold() {
        // differences +0.2 and -0.1: mean 0.05, spread 0.21
        Finding f = Findings.smallToLarge(threeRatios().cmp("ratio", "r1", "r2", 0.8, 0.6, null, null)
                .cmp("ratio", "r2", "r4", 0.6, 0.7, null, null).study());
        assertNull(f.holds(), f.evidence());
        assertTrue(f.evidence().contains("within the spread"), f.evidence());
        Finding below = Findings.smallToLarge(threeRatios().cmp("ratio", "r1", "r2", 0.5, 0.7, null, null)
                .cmp("ratio", "r2", "r4", 0.6, 0.75, null, null).study());
        assertEquals(Boolean.FALSE, below.holds(), below.evidence());
    }

    @Test
    void evaluateOnEmptyResultsGivesSevenUnknowns() {
        var fs = Findings.evaluate(new JsonObject());
        assertEquals(7, fs.size());
        fs.forEach(f -> assertNull(f.holds(), f.claim()));
    }
}
