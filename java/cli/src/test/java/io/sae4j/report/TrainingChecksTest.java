package io.sae4j.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;

/** The report's checks of the SAEs themselves: converged training, few dead latents. */
class TrainingChecksTest {
    /** An SAE whose training log goes from (l0, fvu) at step 300 ... to the given values at step 400. */
    static JsonObject sae(String name, double ratio, double dead, double l0At300, double fvuAt300, double l0End, double fvuEnd) {
        JsonObject o = new JsonObject();
        o.addProperty("name", name);
        o.addProperty("ratio", ratio);
        o.addProperty("d_sae", 384 * ratio);
        o.addProperty("dead_fraction", dead);
        JsonArray t = new JsonArray();
        double[][] pts = {{100, 90, 0.9}, {200, 60, 0.6}, {300, l0At300, fvuAt300}, {400, l0End, fvuEnd}};
        for (double[] p : pts) {
            JsonObject r = new JsonObject();
            r.addProperty("step", p[0]);
            r.addProperty("l0", p[1]);
            r.addProperty("fvu", p[2]);
            t.add(r);
        }
        o.add("training", t);
        return o;
    }

    static StudyResults results(JsonObject... saes) {
        JsonObject r = new JsonObject();
        JsonArray a = new JsonArray();
        for (JsonObject s : saes) a.add(s);
        r.add("saes", a);
        JsonObject cfg = new JsonObject();
        cfg.addProperty("resampleEvery", 25);
        r.add("config", cfg);
        return StudyResults.of(r);
    }

    @Test
    void convergedComparesTheLastQuarterWithTheOneBefore() {
        Finding ok = TrainingChecks.converged(results(sae("a", 1, 0, 20.5, 0.40, 20, 0.395), sae("b", 2, 0, 10.4, 0.3, 10, 0.3)));
        assertEquals(Boolean.TRUE, ok.holds(), ok.evidence());
        // L0 52 -> 45 is 15.6%: still moving; FVU 0.02 apart is too
        Finding moving = TrainingChecks.converged(results(sae("a", 1, 0, 20.5, 0.40, 20, 0.395), sae("b", 2, 0, 52, 0.3, 45, 0.3),
                sae("c", 4, 0, 10, 0.32, 10, 0.30)));
        assertEquals(Boolean.FALSE, moving.holds(), moving.evidence());
        assertTrue(moving.evidence().contains("1 of 3 SAEs pass"), moving.evidence());
        assertTrue(moving.evidence().contains("b (L0 15.56%") && moving.evidence().contains("c (L0 0%, FVU 0.02"), moving.evidence());
        assertNull(TrainingChecks.converged(results()).holds());
    }

    /**
     * A log every 25 steps to 400 whose FVU cycles over three intervals (+0.02, -0.01, -0.01 around
     * a level: the intervals at 300 and 400 differ by 0.03), then falls by `drift` over the last quarter.
     */
    static JsonObject noisy(String name, double drift) {
        JsonObject o = sae(name, 8, 0, 0, 0, 0, 0);
        JsonArray t = new JsonArray();
        for (int step = 25; step <= 400; step += 25) {
            JsonObject r = new JsonObject();
            r.addProperty("step", step);
            r.addProperty("l0", 32);
            r.addProperty("fvu", 0.2 + (step / 25 % 3 == 0 ? 0.02 : -0.01) - (step > 300 ? drift * (step - 300) / 100 : 0));
            t.add(r);
        }
        o.add("training", t);
        return o;
    }

    /**
     * The check compares quarter means, not single intervals: an FVU that only alternates between
     * intervals passes (its 75% and final intervals alone differ by 0.03), a real fall does not.
     */
    @Test
    void quarterMeansAverageOutIntervalNoise() {
        Finding noise = TrainingChecks.converged(results(noisy("n", 0)));
        assertEquals(Boolean.TRUE, noise.holds(), noise.evidence());
        Finding falling = TrainingChecks.converged(results(noisy("f", 0.04)));
        assertEquals(Boolean.FALSE, falling.holds(), falling.evidence());
        assertTrue(falling.evidence().contains("in the quarter to step 300") && falling.evidence().contains("quarter to 400"),
                falling.evidence());
        // a record without an FVU (batches that did not vary) inside a quarter: the others still decide
        JsonObject withNaN = noisy("f", 0.04);
        withNaN.getAsJsonArray("training").get(13).getAsJsonObject().addProperty("fvu", Double.NaN);
        Finding stillFalling = TrainingChecks.converged(results(withNaN));
        assertEquals(Boolean.FALSE, stillFalling.holds(), stillFalling.evidence());
    }

    /** Results of two settled SAEs a and b and their seed comparison, MMCS 0.84 both ways (none at 75% yet). */
    static JsonObject seedPair() {
        JsonObject r = new JsonObject();
        JsonArray saes = new JsonArray(), comps = new JsonArray();
        saes.add(sae("a", 8, 0, 20.5, 0.40, 20, 0.395));
        saes.add(sae("b", 8, 0, 20.5, 0.40, 20, 0.395));
        r.add("saes", saes);
        JsonObject c = new JsonObject();
        c.addProperty("kind", "seed");
        c.addProperty("a", "a");
        c.addProperty("b", "b");
        c.addProperty("mmcs_ab", 0.84);
        c.addProperty("mmcs_ba", 0.84);
        comps.add(c);
        r.add("comparisons", comps);
        return r;
    }

    /** Seed pairs compared but none measured at 75% of training: the MMCS part is unknown, not settled. */
    @Test
    void seedPairsWithoutTheirMidPointLeaveTheCheckOpen() {
        JsonObject r = seedPair();
        Finding f = TrainingChecks.converged(StudyResults.of(r));
        assertNull(f.holds(), f.evidence());
    }

    @Test
    void seedPairsWhoseMmcsStillMovesFailTheCheck() {
        JsonObject r = seedPair();
        JsonObject c = r.getAsJsonArray("comparisons").get(0).getAsJsonObject();
        c.addProperty("mmcs_ab_mid", 0.80);
        c.addProperty("mmcs_ba_mid", 0.80);
        Finding f = TrainingChecks.converged(StudyResults.of(r));
        assertEquals(Boolean.FALSE, f.holds(), f.evidence());
        assertTrue(f.evidence().contains("0.8 \u2192 0.84") && f.evidence().contains("still moving"), f.evidence());
        c.addProperty("mmcs_ab_mid", 0.835);
        c.addProperty("mmcs_ba_mid", 0.835);
        assertEquals(Boolean.TRUE, TrainingChecks.converged(StudyResults.of(r)).holds());
    }

    @Test
    void fewDeadNamesTheSaesOverTheLimitAndTheRemedy() {
        Finding ok = TrainingChecks.fewDead(results(sae("a", 1, 0.0, 1, 1, 1, 1), sae("b", 32, 0.1, 1, 1, 1, 1)));
        assertEquals(Boolean.TRUE, ok.holds(), ok.evidence());
        assertTrue(ok.evidence().contains("resampled every 25 steps"), ok.evidence());
        Finding over = TrainingChecks.fewDead(results(sae("a", 1, 0.02, 1, 1, 1, 1), sae("b", 32, 0.135, 1, 1, 1, 1)));
        assertEquals(Boolean.FALSE, over.holds(), over.evidence());
        assertTrue(over.evidence().contains("1:32 13.5%") && over.evidence().contains("Over the limit: b (13.5%)"), over.evidence());
        assertTrue(!over.evidence().contains("AuxK"), over.evidence());
        StudyResults withAuxK = results(sae("a", 1, 0.0, 1, 1, 1, 1));
        withAuxK.config.addProperty("auxK", 0.125);
        Finding aux = TrainingChecks.fewDead(withAuxK);
        assertTrue(aux.evidence().contains("trained with AuxK at coefficient 0.125"), aux.evidence());
    }
}
