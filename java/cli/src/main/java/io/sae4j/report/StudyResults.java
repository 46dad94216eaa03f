package io.sae4j.report;

import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The study's results JSON read into plain records, once, so that figures, tables, CSV and findings
 * all see the same numbers. Every number that is missing or null in the JSON is NaN here; every
 * missing text is null; missing arrays are empty lists.
 */
final class StudyResults {
    /** Histogram of log10 feature frequency: counts of live features in equal-width bins over [lo, hi]. */
    record Hist(double lo, double hi, double[] counts) {
        int bins() { return counts.length; }
        double width() { return (hi - lo) / counts.length; }
        double binLo(int i) { return lo + i * width(); }
        double binHi(int i) { return lo + (i + 1) * width(); }
        double centre(int i) { return lo + (i + 0.5) * width(); }
        boolean usable() { return counts.length > 0 && Double.isFinite(lo) && Double.isFinite(hi) && hi > lo && total() > 0; }

        double total() {
            double t = 0;
            for (double c : counts) if (Double.isFinite(c)) t += c;
            return t;
        }

        /** The median of log10 frequency, interpolated linearly inside the bin that holds it. */
        double median() {
            if (!usable()) return Double.NaN;
            double half = total() / 2, seen = 0;
            for (int i = 0; i < counts.length; i++) {
                double c = Double.isFinite(counts[i]) ? counts[i] : 0;
                if (c > 0 && seen + c >= half) return binLo(i) + (half - seen) / c * width();
                seen += c;
            }
            return hi;
        }
    }

    record TrainPoint(double step, double tokens, double loss, double mse, double l0, double fvu, double deadFraction) {}

    record Sae(String name, String model, double layer, String site, double ratio, double seed, String dataset,
               double dIn, double dSae, double mse, double fvu, double l0, double deadFraction, Hist hist,
               double medianLog10Freq, List<TrainPoint> training) {
        /** L0 / d_sae: the mean fraction of latents active on a token (the mean feature frequency). */
        double activeFraction() { return l0 / dSae; }
    }

    record Comparison(String kind, String a, String b, double mmcsAb, double mmcsBa, double hungarianMean,
                      double sharedFrac, double corrAb, double corrBa, double deadA, double deadB, double mmcsAbLive,
                      double mmcsBaLive, double pwMcc, double sharedFracEncdec, double[] curveThresholds,
                      double[] curveDecoder, double mmcsAbMid, double mmcsBaMid) {
        double mmcsMean() { return mean2(mmcsAb, mmcsBa); }
        /** MMCS (both directions) of the same pair at 75% of training; NaN where not measured. */
        double mmcsMidMean() { return mean2(mmcsAbMid, mmcsBaMid); }
        double corrMean() { return mean2(corrAb, corrBa); }
    }

    record Example(String context, String token, double activation) {}

    record TopFeature(String sae, double feature, double frequency, double maxActivation, List<Example> examples) {}

    record MatchedPair(String kind, String a, String b, double featureA, double featureB, double cosine,
                       List<Example> examplesA, List<Example> examplesB) {}

    final String title, created, machine;
    final double wallTimeS;
    final JsonObject config;
    final List<Sae> saes = new ArrayList<>();
    final List<Comparison> comparisons = new ArrayList<>();
    final List<TopFeature> topFeatures = new ArrayList<>();
    final List<MatchedPair> matchedPairs = new ArrayList<>();
    private final Map<String, Sae> byName = new LinkedHashMap<>();

    private StudyResults(JsonObject r) {
        title = Json.str(r, "title");
        created = Json.str(r, "created");
        machine = Json.str(r, "machine");
        wallTimeS = Json.num(r, "wall_time_s");
        config = Json.obj(r, "config");
        for (JsonObject s : Json.objects(r, "saes")) {
            Sae sae = sae(s);
            saes.add(sae);
            if (sae.name() != null) byName.putIfAbsent(sae.name(), sae);
        }
        for (JsonObject c : Json.objects(r, "comparisons")) {
            comparisons.add(new Comparison(Json.str(c, "kind"), Json.str(c, "a"), Json.str(c, "b"),
                    Json.num(c, "mmcs_ab"), Json.num(c, "mmcs_ba"), Json.num(c, "hungarian_mean"), Json.num(c, "shared_frac"),
                    Json.num(c, "corr_ab"), Json.num(c, "corr_ba"), Json.num(c, "dead_a"), Json.num(c, "dead_b"),
                    Json.num(c, "mmcs_ab_live"), Json.num(c, "mmcs_ba_live"), Json.num(c, "pw_mcc"), Json.num(c, "shared_frac_encdec"),
                    Json.nums(Json.obj(c, "threshold_curve"), "thresholds"), Json.nums(Json.obj(c, "threshold_curve"), "decoder"),
                    Json.num(c, "mmcs_ab_mid"), Json.num(c, "mmcs_ba_mid")));
        }
        for (JsonObject f : Json.objects(r, "top_features")) {
            topFeatures.add(new TopFeature(Json.str(f, "sae"), Json.num(f, "feature"), Json.num(f, "frequency"),
                    Json.num(f, "max_activation"), examples(f, "examples")));
        }
        for (JsonObject m : Json.objects(r, "matched_pairs")) {
            matchedPairs.add(new MatchedPair(Json.str(m, "kind"), Json.str(m, "a"), Json.str(m, "b"),
                    Json.num(m, "feature_a"), Json.num(m, "feature_b"), Json.num(m, "cosine"),
                    examples(m, "examples_a"), examples(m, "examples_b")));
        }
    }

    static StudyResults of(JsonObject results) {
        return new StudyResults(results == null ? new JsonObject() : results);
    }

    /** The SAE with this name; a baseline name "random-init(X)" resolves to X. Null when unknown. */
    Sae sae(String name) {
        if (name == null) return null;
        Sae s = byName.get(name);
        if (s == null && name.startsWith("random-init(") && name.endsWith(")"))
            s = byName.get(name.substring("random-init(".length(), name.length() - 1));
        return s;
    }

    /** Comparisons of one kind, in input order. */
    List<Comparison> ofKind(String kind) {
        List<Comparison> out = new ArrayList<>();
        for (Comparison c : comparisons) if (kind.equals(c.kind())) out.add(c);
        return Collections.unmodifiableList(out);
    }

    private static Sae sae(JsonObject s) {
        double dIn = Json.num(s, "d_in"), dSae = Json.num(s, "d_sae"), ratio = Json.num(s, "ratio");
        if (Double.isNaN(ratio) && dIn > 0 && dSae > 0) ratio = dSae / dIn;
        if (Double.isNaN(dSae) && ratio > 0 && dIn > 0) dSae = ratio * dIn;
        JsonObject h = Json.obj(s, "log10_freq_hist");
        Hist hist = h == null ? new Hist(Double.NaN, Double.NaN, new double[0])
                : new Hist(Json.num(h, "lo"), Json.num(h, "hi"), Json.nums(h, "counts"));
        double median = Json.num(s, "median_log10_freq");
        if (Double.isNaN(median)) median = hist.median();
        List<TrainPoint> training = new ArrayList<>();
        for (JsonObject t : Json.objects(s, "training")) {
            training.add(new TrainPoint(Json.num(t, "step"), Json.num(t, "tokens"), Json.num(t, "loss"), Json.num(t, "mse"),
                    Json.num(t, "l0"), Json.num(t, "fvu"), Json.num(t, "dead_fraction")));
        }
        return new Sae(Json.str(s, "name"), Json.str(s, "model"), Json.num(s, "layer"), Json.str(s, "site"), ratio,
                Json.num(s, "seed"), Json.str(s, "dataset"), dIn, dSae, Json.num(s, "mse"), Json.num(s, "fvu"),
                Json.num(s, "l0"), Json.num(s, "dead_fraction"), hist, median, training);
    }

    private static List<Example> examples(JsonObject o, String key) {
        List<Example> out = new ArrayList<>();
        for (JsonObject e : Json.objects(o, key))
            out.add(new Example(Json.str(e, "context"), Json.str(e, "token"), Json.num(e, "activation")));
        return out;
    }

    /** Mean of the finite values among a and b; NaN when neither is. */
    static double mean2(double a, double b) {
        boolean fa = Double.isFinite(a), fb = Double.isFinite(b);
        return fa && fb ? (a + b) / 2 : fa ? a : fb ? b : Double.NaN;
    }
}
