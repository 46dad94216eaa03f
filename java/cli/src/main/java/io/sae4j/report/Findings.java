package io.sae4j.report;

import com.google.gson.JsonObject;
import io.sae4j.report.Analysis.Mean;
import io.sae4j.report.Analysis.Oriented;
import io.sae4j.report.Analysis.Sparsity;
import io.sae4j.report.StudyResults.Comparison;
import io.sae4j.report.StudyResults.Sae;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Checks the seed study's observations against the numbers of a study run, with the definitions
 * written into each finding's evidence:
 * (a) MMCS small -> large above large -> small; (b) 1:1 SAEs score lowest; (c) trained pairs far
 * above the random-init baseline; (d) feature frequencies centred near 1e-2..1e-3; (e) larger SAEs
 * sparser. Each finding holds (true), does not hold (false) or cannot be told (null).
 */
public final class Findings {
    /** How far above the random baseline (absolute, in MMCS or r) trained pairs must be, on average, to be "far above". */
    static final double FAR_ABOVE = 0.1;
    /** Spearman rho between ratio and L0/d_sae at or below which "larger SAEs are sparser" holds. */
    static final double SPARSER_RHO = -0.8;

    private Findings() {}

    public static List<Finding> evaluate(JsonObject results) {
        StudyResults r = StudyResults.of(results);
        List<Finding> out = new ArrayList<>(List.of(TrainingChecks.converged(r), TrainingChecks.fewDead(r), smallToLarge(r),
                oneToOneLowest(r), aboveRandom(r), frequencyCentre(r), largerSparser(r)));
        if (!r.ofKind(MATCHED).isEmpty()) { // the same observations between SAEs trained to one L0
            out.add(3, smallToLarge(r, MATCHED, " (at matched L0)"));
            out.add(5, oneToOneLowest(r, MATCHED, " (at matched L0)"));
        }
        return out;
    }

    /** Comparisons of the ratio sweep trained to one target L0 (the study's matched-sparsity sweep). */
    static final String MATCHED = "ratio_matched_l0";
    /** Matched means the held-out L0 of the matched SAEs lie within this factor of each other. */
    static final double MATCHED_L0_SPREAD = 1.25;

    /** A finding made on the matched sweep, whose verdict stands only if the SAEs' L0 did match. */
    static Finding checkMatched(StudyResults r, String kind, Finding f) {
        if (!kind.equals(MATCHED) || f.holds() == null) return f;
        List<Double> l0 = Analysis.saesIn(r, kind).stream().map(Sae::l0).filter(Double::isFinite).toList();
        if (l0.isEmpty()) return f;
        double lo = Charts.min(l0), hi = Charts.max(l0);
        String note = " Held-out L0 of the matched SAEs: " + Html.num(lo) + " to " + Html.num(hi) + ".";
        if (hi <= MATCHED_L0_SPREAD * lo) return new Finding(f.claim(), f.holds(), f.evidence() + note, f.figureAnchor());
        return new Finding(f.claim(), null, f.evidence() + note + " They differ by more than " + Html.num(MATCHED_L0_SPREAD)
                + "x, so they are not matched closely enough to tell (the verdict on these numbers alone: " + verdict(f.holds()) + ").",
                f.figureAnchor());
    }

    static Finding smallToLarge(StudyResults r) {
        return smallToLarge(r, "ratio", sweepLabel(r));
    }

    /** TopK's k of the study (its config's "k"), 0 for ReLU SAEs with L1. */
    static int topK(StudyResults r) {
        com.google.gson.JsonElement k = r.config == null ? null : r.config.get("k");
        return k != null && k.isJsonPrimitive() ? k.getAsInt() : 0;
    }

    /** How the ratio sweep's SAEs were trained, for the findings made on it. */
    static String sweepLabel(StudyResults r) {
        return topK(r) > 0 ? " (TopK, k " + topK(r) + ": at one L0 by construction)" : " (at one lambda)";
    }

    /**
     * (a) over "ratio" pairs of different sizes, MMCS small -> large minus large -> small: mean and
     * spread over the pairs, on all latents and on live latents. Holds when the mean difference
     * exceeds its spread, does not hold when it is below minus the spread, else cannot be told.
     */
    static Finding smallToLarge(StudyResults r, String kind, String where) {
        String claim = "MMCS from the smaller SAE to the larger is higher than from the larger to the smaller" + where;
        List<Double> diff = new ArrayList<>(), diffLive = new ArrayList<>();
        int higher = 0;
        for (Oriented o : Analysis.oriented(r, kind)) {
            if (!Double.isFinite(o.mmcsS2L()) || !Double.isFinite(o.mmcsL2S())) continue;
            diff.add(o.mmcsS2L() - o.mmcsL2S());
            if (o.mmcsS2L() > o.mmcsL2S()) higher++;
            boolean smallIsA = o.small().name().equals(o.c().a());
            double s2l = smallIsA ? o.c().mmcsAbLive() : o.c().mmcsBaLive(), l2s = smallIsA ? o.c().mmcsBaLive() : o.c().mmcsAbLive();
            diffLive.add(s2l - l2s);
        }
        if (diff.isEmpty()) return new Finding(claim, null, "No \"" + kind + "\" comparison with both MMCS directions between SAEs of different sizes.", Figures.HEATMAP);
        Analysis.Spread all = Analysis.Spread.of(diff), live = Analysis.Spread.of(diffLive);
        Boolean holds = all.sign();
        String ev = String.format("Difference MMCS small \u2192 large minus large \u2192 small over %d \"" + kind + "\" pairs, all latents: %s; "
                + "small \u2192 large is the higher in %d of %d pairs. ", diff.size(), all.text(), higher, diff.size());
        ev += live.n() > 0 ? "Live latents only (those that fire on the held-out tokens): " + live.text() + (live.sign() == holds
                ? ", the same verdict. " : ", a different verdict (" + verdict(live.sign()) + "). ") : "Live-latent MMCS was not measured. ";
        return checkMatched(r, kind, new Finding(claim, holds, ev + "Verdict on all latents: " + verdict(holds)
                + " (holds when the mean difference exceeds its spread; within the spread it cannot be told).", Figures.HEATMAP));
    }

    static String verdict(Boolean b) {
        return b == null ? "within the spread" : b ? "holds" : "does not hold";
    }

    /**
     * (b) the ratio-1 SAEs' MMCS (both directions, all their "ratio" pairs) is the lowest of all
     * ratios: holds when every other ratio's mean is above 1:1's by more than the spread of 1:1's
     * values, does not hold when one is below it by more than that, else cannot be told. (Each other
     * ratio's values include its pairs with 1:1, so their spreads are wide by construction.)
     */
    static Finding oneToOneLowest(StudyResults r) {
        return oneToOneLowest(r, "ratio", sweepLabel(r));
    }

    static Finding oneToOneLowest(StudyResults r, String kind, String where) {
        String claim = "1:1 SAEs score lowest (lowest mean MMCS with the other sizes)" + where;
        TreeMap<Double, Analysis.Spread> per = Analysis.mmcsSpreadPerRatio(r, kind);
        if (!per.containsKey(1.0) || per.size() < 2)
            return new Finding(claim, null, per.containsKey(1.0) ? "Only ratio 1:1 has \"" + kind + "\" comparisons."
                    : "No ratio-1 SAE takes part in a \"" + kind + "\" comparison.", Figures.HEATMAP);
        Analysis.Spread one = per.get(1.0);
        boolean allAbove = true, oneBelow = false;
        StringBuilder list = new StringBuilder();
        for (Map.Entry<Double, Analysis.Spread> e : per.entrySet()) {
            list.append(list.length() == 0 ? "" : "; ").append(Analysis.ratioLabel(e.getKey())).append(' ').append(e.getValue().text());
            if (e.getKey() == 1.0) continue;
            double margin = nanToZero(one.sd());
            double gap = e.getValue().mean() - one.mean();
            if (!(gap > margin)) allAbove = false;
            if (gap < -margin) oneBelow = true;
        }
        Boolean holds = allAbove ? Boolean.TRUE : oneBelow ? Boolean.FALSE : null;
        Map.Entry<Double, Analysis.Spread> lowest = per.entrySet().stream().min(Map.Entry.comparingByValue(
                java.util.Comparator.comparingDouble(Analysis.Spread::mean))).orElseThrow();
        return checkMatched(r, kind, new Finding(claim, holds, "MMCS per ratio over the \"" + kind + "\" comparisons involving that ratio (each pair's mean of "
                + "both directions: its heatmap row and column), mean \u00b1 sd over the pairs: " + list + ". The lowest mean is " + Analysis.ratioLabel(lowest.getKey())
                + ". Verdict: " + verdict(holds) + " (1:1 must be below every other ratio by more than its own spread).",
                Figures.HEATMAP));
    }

    private static double nanToZero(double x) {
        return Double.isFinite(x) ? x : 0;
    }

    /** (c) trained "seed" and "ratio" pairs vs the "random" kind, in MMCS and in activation correlation. */
    static Finding aboveRandom(StudyResults r) {
        String claim = "Trained pairs are far above the random-init baseline (seed: MMCS near 0.15, below 0.20; correlation near 0.4)";
        List<Comparison> trained = new ArrayList<>(r.ofKind("seed"));
        trained.addAll(r.ofKind("ratio"));
        List<Comparison> random = r.ofKind("random");
        Gap mmcs = gap(trained, random, false), corr = gap(trained, random, true);
        if (mmcs == null && corr == null)
            return new Finding(claim, null, random.isEmpty() ? "No random-init baseline was measured."
                    : trained.isEmpty() ? "No trained \"seed\" or \"ratio\" pair was compared." : "The numbers to compare are missing.",
                    Figures.MMCS_VS_RATIO);
        boolean holds = (mmcs == null || mmcs.far()) && (corr == null || corr.far());
        List<Double> seedMmcs = r.ofKind("seed").stream().map(Comparison::mmcsMean).toList();
        String ev = "Trained = \"seed\" and \"ratio\" comparisons (mean of both directions per pair); far above = a mean at least "
                + Html.num(FAR_ABOVE) + " above the baseline's mean and every trained pair above the highest baseline value. "
                + "MMCS: " + (mmcs == null ? "not measured" : mmcs.text()) + ". Correlation: " + (corr == null ? "not measured" : corr.text()) + ".";
        if (mmcs != null) ev += " The random MMCS baseline " + (mmcs.baseline() < 0.2 ? "is" : "is not") + " below the seed's 0.20";
        if (corr != null) ev += (mmcs != null ? "; the" : " The") + " random correlation baseline "
                + (Math.abs(corr.baseline() - 0.4) <= 0.1 ? "is" : "is not") + " within 0.1 of the seed's 0.4";
        if (!seedMmcs.isEmpty()) ev += ". Seed pairs alone (MMCS, mean of both directions): " + Analysis.Spread.of(seedMmcs).text();
        return new Finding(claim, holds, ev + ".", Figures.MMCS_VS_RATIO);
    }

    /** Trained vs baseline on one metric: whether far above, the baseline's mean, and the numbers in words. */
    private record Gap(boolean far, double baseline, String text) {}

    private static Gap gap(List<Comparison> trained, List<Comparison> random, boolean corr) {
        List<Double> t = trained.stream().map(c -> corr ? c.corrMean() : c.mmcsMean()).filter(Double::isFinite).toList();
        List<Double> b = random.stream().map(c -> corr ? c.corrMean() : c.mmcsMean()).filter(Double::isFinite).toList();
        if (t.isEmpty() || b.isEmpty()) return null;
        double tm = Mean.of(t).mean(), bm = Mean.of(b).mean(), tMin = Charts.min(t), bMax = Charts.max(b);
        boolean far = tm - bm >= FAR_ABOVE && tMin > bMax;
        return new Gap(far, bm, String.format("trained mean %s (lowest %s, %d pairs) vs random %s (highest %s, %d), gap %s%s",
                Html.num(tm), Html.num(tMin), t.size(), Html.num(bm), Html.num(bMax), b.size(), Html.num(tm - bm),
                far ? "" : tm > bm ? " \u2014 above, but not far above" : " \u2014 not above"));
    }

    /** (d) median log10 frequency in [-3, -2] for more than half of the SAEs. */
    static Finding frequencyCentre(StudyResults r) {
        String claim = "Feature frequencies centre around 1e-2..1e-3 per token";
        List<Double> medians = r.saes.stream().map(Sae::medianLog10Freq).filter(Double::isFinite).toList();
        if (medians.isEmpty()) return new Finding(claim, null, "No SAE has a median log10 frequency or a frequency histogram.", Figures.FREQ_RATIO);
        long inside = medians.stream().filter(m -> m >= -3 && m <= -2).count();
        boolean holds = inside * 2 > medians.size();
        List<Double> sorted = medians.stream().sorted().toList();
        double mid = sorted.size() % 2 == 1 ? sorted.get(sorted.size() / 2) : (sorted.get(sorted.size() / 2 - 1) + sorted.get(sorted.size() / 2)) / 2;
        return new Finding(claim, holds, String.format("The median log10 frequency of live features is between -3 and -2 for %d of %d SAEs "
                + "(\"most\" = more than half); the medians range from %s to %s, median of medians %s (%s per token); mean \u00b1 sd %s.",
                inside, medians.size(), Html.num(sorted.get(0)), Html.num(sorted.get(sorted.size() - 1)), Html.num(mid),
                Html.num(Math.pow(10, mid)), Analysis.Spread.of(medians).text()), Figures.FREQ_RATIO);
    }

    /** (e) L0 / d_sae falls with ratio over the ratio sweep (Spearman rho of per-ratio means). */
    static Finding largerSparser(StudyResults r) {
        String claim = "More latents give sparser features (larger SAEs are sparser)";
        List<Sparsity> ps = Analysis.sparsityPerRatio(r).stream().filter(p -> Double.isFinite(p.activeFraction())).toList();
        if (ps.size() < 2) return new Finding(claim, null, "Fewer than two ratios with both L0 and d_sae.", Figures.SPARSITY);
        if (topK(r) > 0)
            return new Finding(claim, null, "Not a finding about features here: the study trained TopK SAEs, whose L0 is k = " + topK(r)
                    + " at every ratio, so L0 / d_sae falls as 1 / d_sae by construction. A ReLU study (config k 0) tests it.",
                    Figures.SPARSITY);
        double[] x = ps.stream().mapToDouble(Sparsity::ratio).toArray(), y = ps.stream().mapToDouble(Sparsity::activeFraction).toArray();
        double rho = Analysis.spearman(x, y);
        int down = 0;
        StringBuilder list = new StringBuilder();
        for (int i = 0; i < ps.size(); i++) {
            if (i > 0 && y[i] < y[i - 1]) down++;
            list.append(i == 0 ? "" : ", ").append(Analysis.ratioLabel(x[i])).append(' ').append(Html.num(y[i]));
        }
        Boolean holds = Double.isFinite(rho) && rho <= SPARSER_RHO;
        String ev = "Measure: L0 / d_sae (mean fraction of latents active per token, i.e. mean feature frequency), averaged per ratio over "
                + "the ratio-sweep SAEs: " + list + ". It falls in " + down + " of " + (ps.size() - 1) + " steps; Spearman rho with ratio "
                + Html.num(rho) + " (holds at rho \u2264 " + Html.num(SPARSER_RHO) + ").";
        // the seeds' spread of the same measure at one ratio: a step smaller than it is not told apart from seed noise
        Analysis.Spread seeds = Analysis.Spread.of(Analysis.saesIn(r, "seed").stream().map(Sae::activeFraction).toList());
        if (seeds.n() > 1 && Double.isFinite(seeds.sd())) {
            double smallest = Double.POSITIVE_INFINITY;
            for (int i = 1; i < y.length; i++) smallest = Math.min(smallest, y[i - 1] - y[i]);
            ev += " Seed spread of L0 / d_sae at one ratio (" + seeds.n() + " seeds): sd " + Html.num(seeds.sd()) + "; the smallest "
                    + "step between adjacent ratios is " + Html.num(smallest) + ".";
            if (holds && !(smallest > seeds.sd())) {
                holds = null;
                ev += " A step within the seed spread: the trend cannot be told at every step.";
            }
        }
        double[] med = ps.stream().mapToDouble(Sparsity::medianLog10Freq).toArray();
        double rhoMed = Analysis.spearman(x, med);
        if (Double.isFinite(rhoMed)) ev += " The median log10 frequency of live features has rho " + Html.num(rhoMed) + " with ratio.";
        return new Finding(claim, holds, ev, Figures.SPARSITY);
    }
}
