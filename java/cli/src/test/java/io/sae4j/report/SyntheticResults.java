package io.sae4j.report;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A realistic study result built from a seeded Random: a ratio sweep 1..32 on one layer, a second
 * seed, a second dataset, four layers, three models, random-init and cross-layer baselines, training
 * curves, top features whose contexts hold HTML special characters, and a few null values.
 */
final class SyntheticResults {
    static final int[] RATIOS = {1, 2, 4, 8, 16, 32};
    static final int BINS = 30, CURVE_POINTS = 20, D_IN = 384;

    final JsonObject json = new JsonObject();
    final List<String> names = new ArrayList<>();
    int comparisons;
    private final Random rnd;
    private final JsonArray saes = new JsonArray(), comps = new JsonArray();

    SyntheticResults(long seed) {
        rnd = new Random(seed);
        json.addProperty("title", "sae4j universality study");
        json.addProperty("created", "2026-11-25T13:40:00Z");
        json.addProperty("wall_time_s", 612.3);
        json.addProperty("machine", "cpu: avx512, 2 threads, OpenBLAS core Cooperlake");
        JsonObject cfg = new JsonObject();
        cfg.addProperty("tokens", 2_000_000);
        cfg.addProperty("corpus", "WordNet 3.1 glosses <split A/B>");
        JsonArray ratios = new JsonArray();
        for (int r : RATIOS) ratios.add(r);
        cfg.add("ratios", ratios);
        JsonObject trainer = new JsonObject();
        trainer.addProperty("lr", 4e-4);
        trainer.addProperty("l1", 5.0);
        cfg.add("trainer", trainer);
        cfg.add("note", JsonNull.INSTANCE);
        json.add("config", cfg);

        String[] sweep = new String[RATIOS.length];
        for (int i = 0; i < RATIOS.length; i++) sweep[i] = sae("minilm", "all-MiniLM-L6-v2", 3, RATIOS[i], 42, "A");
        String seed2 = sae("minilm", "all-MiniLM-L6-v2", 3, 4, 43, "A");
        String dataB = sae("minilm", "all-MiniLM-L6-v2", 3, 4, 42, "B");
        String[] layers = new String[4];
        for (int l = 0; l < 3; l++) layers[l] = sae("minilm", "all-MiniLM-L6-v2", l, 4, 42, "A");
        layers[3] = sweep[2];
        String q = sae("minilm-q", "all-MiniLM-L6-v2-q", 3, 4, 42, "A");
        String bge = sae("bge", "bge-small-en-v1.5", 3, 4, 42, "A");
        json.add("saes", saes);

        for (int i = 0; i < RATIOS.length; i++) for (int j = i + 1; j < RATIOS.length; j++) {
            double penalty = i == 0 ? 0.12 : 0; // the 1:1 SAE matches worst
            comparison("ratio", sweep[i], sweep[j], 0.78 - penalty + noise(), 0.58 - penalty - 0.02 * (j - i) + noise(),
                    0.82 - penalty + noise(), 0.66 - penalty + noise(), j == 5 && i == 0);
        }
        comparison("seed", sweep[2], seed2, 0.74 + noise(), 0.73 + noise(), 0.85, 0.84, false);
        comparison("dataset", sweep[2], dataB, 0.70 + noise(), 0.69 + noise(), 0.81, 0.80, false);
        for (int l = 0; l < 3; l++) comparison("layer", layers[l], layers[l + 1], 0.45 + noise(), 0.44 + noise(), 0.55, 0.54, false);
        comparison("model", sweep[2], q, 0.71 + noise(), 0.70 + noise(), 0.80, 0.79, false);
        comparison("model", sweep[2], bge, 0.25 + noise(), 0.24 + noise(), Double.NaN, Double.NaN, true);
        for (String s : sweep) comparison("random", s, "random-init(" + s + ")", 0.15 + noise(), 0.14 + noise(), 0.40 + noise(), 0.39 + noise(), false);
        comparison("cross_layer", layers[0], layers[3], 0.22 + noise(), 0.21 + noise(), 0.45, 0.44, false);
        comparison("cross_layer", layers[1], layers[3], 0.25 + noise(), 0.25 + noise(), 0.47, 0.46, false);
        json.add("comparisons", comps);

        JsonArray top = new JsonArray();
        for (String s : new String[] {sweep[0], sweep[2]}) for (int f = 0; f < 3; f++) top.add(topFeature(s, 17 + 100 * f));
        json.add("top_features", top);
        JsonArray pairs = new JsonArray();
        pairs.add(pair("seed", sweep[2], seed2));
        pairs.add(pair("model", sweep[2], q));
        json.add("matched_pairs", pairs);
    }

    private double noise() {
        return rnd.nextGaussian() * 0.01;
    }

    private String sae(String short_, String model, int layer, int ratio, int seed, String dataset) {
        String name = short_ + "-L" + layer + "-mlp_out-r" + ratio + "-s" + seed + "-" + dataset;
        JsonObject o = new JsonObject();
        o.addProperty("name", name);
        o.addProperty("model", model);
        o.addProperty("layer", layer);
        o.addProperty("site", "mlp_out");
        o.addProperty("ratio", ratio);
        o.addProperty("seed", seed);
        o.addProperty("dataset", dataset);
        o.addProperty("d_in", D_IN);
        o.addProperty("d_sae", D_IN * ratio);
        double lr = Math.log(ratio) / Math.log(2);
        double l0 = 45 - 2.5 * lr + rnd.nextGaussian();
        double fvu = 0.3 - 0.03 * lr + 0.01 * rnd.nextGaussian();
        if (names.size() == 4) o.add("mse", JsonNull.INSTANCE); // NaN written as null
        else o.addProperty("mse", fvu * 0.6);
        o.addProperty("fvu", fvu);
        o.addProperty("l0", l0);
        o.addProperty("dead_fraction", 0.002 * lr);
        double centre = -2.2 - 0.2 * lr + 0.05 * rnd.nextGaussian();
        JsonObject hist = new JsonObject();
        hist.addProperty("lo", -6.0);
        hist.addProperty("hi", 0.0);
        JsonArray counts = new JsonArray();
        double live = D_IN * ratio * 0.99;
        for (int b = 0; b < BINS; b++) {
            double x = -6 + (b + 0.5) * 0.2, z = (x - centre) / 0.6;
            counts.add(Math.round(live * 0.2 * Math.exp(-z * z / 2) / (0.6 * Math.sqrt(2 * Math.PI))));
        }
        hist.add("counts", counts);
        o.add("log10_freq_hist", hist);
        o.addProperty("median_log10_freq", centre);
        JsonArray training = new JsonArray();
        for (int t = 1; t <= CURVE_POINTS; t++) {
            JsonObject p = new JsonObject();
            p.addProperty("step", t * 100);
            p.addProperty("tokens", t * 100 * 4096);
            p.addProperty("loss", 5 * Math.exp(-t / 4.0) + 0.1 + 0.01 * rnd.nextDouble());
            p.addProperty("mse", 3 * Math.exp(-t / 4.0) + 0.05);
            p.addProperty("l0", l0 + 150 * Math.exp(-t / 2.0));
            if (t == 7) p.add("fvu", JsonNull.INSTANCE);
            else p.addProperty("fvu", fvu + 0.6 * Math.exp(-t / 2.0)); // settled by half of training
            p.addProperty("dead_fraction", 0.0);
            training.add(p);
        }
        o.add("training", training);
        saes.add(o);
        names.add(name);
        return name;
    }

    private void comparison(String kind, String a, String b, double mab, double mba, double cab, double cba, boolean nulls) {
        JsonObject c = new JsonObject();
        c.addProperty("kind", kind);
        c.addProperty("a", a);
        c.addProperty("b", b);
        c.addProperty("mmcs_ab", mab);
        c.addProperty("mmcs_ba", mba);
        if (nulls) c.add("hungarian_mean", JsonNull.INSTANCE); else c.addProperty("hungarian_mean", (mab + mba) / 2 - 0.1);
        if (nulls) c.add("shared_frac", JsonNull.INSTANCE); else c.addProperty("shared_frac", Math.max(0, mab - 0.3));
        if (Double.isNaN(cab)) c.add("corr_ab", JsonNull.INSTANCE); else c.addProperty("corr_ab", cab);
        if (Double.isNaN(cba)) c.add("corr_ba", JsonNull.INSTANCE); else c.addProperty("corr_ba", cba);
        c.addProperty("dead_a", rnd.nextInt(6));
        c.addProperty("dead_b", rnd.nextInt(6));
        c.addProperty("mmcs_ab_live", Math.min(1, mab + 0.05));
        c.addProperty("mmcs_ba_live", Math.min(1, mba + 0.05));
        if (kind.equals("seed")) { // as the study measures seed pairs: also at 75% of training, settled
            c.addProperty("mmcs_ab_mid", mab - 0.004);
            c.addProperty("mmcs_ba_mid", mba - 0.004);
        }
        c.addProperty("pw_mcc", (mab + mba) / 2 - 0.08);
        c.addProperty("shared_frac_encdec", Math.max(0, mab - 0.35));
        JsonObject curve = new JsonObject();
        com.google.gson.JsonArray t = new com.google.gson.JsonArray(), dec = new com.google.gson.JsonArray();
        for (int i = 1; i <= 19; i++) { // a falling fraction, lower for lower MMCS
            t.add(i * 0.05);
            dec.add(Math.max(0, Math.min(1, 1.5 * mab - i * 0.05)));
        }
        curve.add("thresholds", t);
        curve.add("decoder", dec);
        c.add("threshold_curve", curve);
        comps.add(c);
        comparisons++;
    }

    private JsonObject topFeature(String sae, int feature) {
        JsonObject f = new JsonObject();
        f.addProperty("sae", sae);
        f.addProperty("feature", feature);
        f.addProperty("frequency", 0.012);
        f.addProperty("max_activation", 3.2);
        f.add("examples", examples(feature));
        return f;
    }

    private JsonArray examples(int salt) {
        String[][] texts = {
            {"if a < b && c > \"d\" then [chased] it's", "chased"},
            {"the dog [chased] the cat", "chased"},
            {"Tom & Jerry <script>alert('x')</script> [ran]", "ran"},
            {"a rough ##ish word [ish]", "##ish"},
            {"no brackets here: pursued, quickly", "pursued"},
            {"token missing from context", "absent"},
            {"comma, \"quoted\" [text]\nnew line", "text"},
            {"[x] marks <the> spot", "x"}};
        JsonArray a = new JsonArray();
        for (int i = 0; i < texts.length; i++) {
            JsonObject e = new JsonObject();
            e.addProperty("context", texts[i][0]);
            e.addProperty("token", texts[i][1]);
            e.addProperty("activation", 3.1 - 0.2 * i - 0.001 * salt);
            a.add(e);
        }
        return a;
    }

    private JsonObject pair(String kind, String a, String b) {
        JsonObject p = new JsonObject();
        p.addProperty("kind", kind);
        p.addProperty("a", a);
        p.addProperty("b", b);
        p.addProperty("feature_a", 17);
        p.addProperty("feature_b", 203);
        p.addProperty("cosine", 0.93);
        p.add("examples_a", examples(1));
        p.add("examples_b", examples(2));
        return p;
    }
}
