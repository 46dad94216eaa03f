package io.sae4j.report;

import io.sae4j.report.StudyResults.Comparison;
import io.sae4j.report.StudyResults.Sae;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.ToDoubleFunction;

/**
 * Numbers derived from the results that more than one part of the report needs (figures, tables,
 * CSV and findings): the ratio-pair MMCS matrix, comparisons oriented from the smaller SAE to the
 * larger, the consecutive-ratio curve, baselines and per-ratio sparsity. Non-finite inputs are
 * left out of every mean, and each mean carries how many values went into it.
 */
final class Analysis {
    private Analysis() {}

    /** A mean with its count; mean is NaN when n is 0. */
    record Mean(double mean, int n) {
        static Mean of(List<Double> xs) {
            double s = 0;
            int n = 0;
            for (double x : xs) if (Double.isFinite(x)) { s += x; n++; }
            return new Mean(n == 0 ? Double.NaN : s / n, n);
        }
    }

    /** Mean and sample standard deviation (the spread) of the finite values; sd is NaN below two values. */
    record Spread(double mean, double sd, int n) {
        static Spread of(List<Double> xs) {
            List<Double> v = xs.stream().filter(Double::isFinite).toList();
            double m = Mean.of(v).mean(), ss = 0;
            for (double x : v) ss += (x - m) * (x - m);
            return new Spread(m, v.size() > 1 ? Math.sqrt(ss / (v.size() - 1)) : Double.NaN, v.size());
        }

        /** true above the spread, false below minus it, null within it (or without a spread). */
        Boolean sign() {
            if (!(sd >= 0) || n < 2) return null;
            return mean > sd ? Boolean.TRUE : mean < -sd ? Boolean.FALSE : null;
        }

        String text() {
            return Html.num(mean) + " \u00b1 " + Html.num(sd) + " (sd over " + n + ")";
        }
    }

    /** MMCS(row ratio -> column ratio), averaged over the "ratio" comparisons that give it. */
    record RatioMatrix(List<Double> ratios, double[][] mmcs, int[][] n) {
        boolean isEmpty() { return ratios.isEmpty(); }
    }

    /** A "ratio" comparison turned so that "small" is the SAE with fewer latents. */
    record Oriented(Comparison c, Sae small, Sae large, double mmcsS2L, double mmcsL2S, double corrS2L, double corrL2S) {}

    /** One point of the MMCS/correlation-vs-ratio curve: pairs (smallRatio, largeRatio). */
    record CurvePoint(double smallRatio, double largeRatio, double mmcsS2L, double mmcsL2S, double corrS2L,
                      double corrL2S, int n) {}

    /** A baseline's mean per ratio (of SAE a) and over all its comparisons. */
    record Baseline(String kind, TreeMap<Double, Double> mmcsByRatio, TreeMap<Double, Double> corrByRatio,
                    Mean mmcs, Mean corr) {
        boolean isEmpty() { return mmcs.n() == 0 && corr.n() == 0; }
    }

    /** Per-ratio sparsity of the ratio-sweep SAEs. */
    record Sparsity(double ratio, double activeFraction, double medianLog10Freq, double l0, int n) {}

    /** The SAEs that take part in comparisons of this kind, sorted by ratio, layer, then name. */
    static List<Sae> saesIn(StudyResults r, String kind) {
        Set<Sae> set = new LinkedHashSet<>();
        for (Comparison c : r.ofKind(kind)) {
            Sae a = r.sae(c.a()), b = r.sae(c.b());
            if (a != null) set.add(a);
            if (b != null && !"random".equals(kind)) set.add(b);
        }
        List<Sae> out = new ArrayList<>(set);
        out.sort(Comparator.comparingDouble((Sae s) -> nanLast(s.ratio())).thenComparingDouble(s -> nanLast(s.layer()))
                .thenComparing(s -> String.valueOf(s.name())));
        return out;
    }

    /** The SAEs of the ratio sweep: those in "ratio" comparisons, or every SAE when there are none. */
    static List<Sae> sweepOrAll(StudyResults r) {
        List<Sae> s = saesIn(r, "ratio");
        return s.isEmpty() ? r.saes : s;
    }

    static RatioMatrix ratioMatrix(StudyResults r) {
        TreeSet<Double> ratios = new TreeSet<>();
        for (Comparison c : r.ofKind("ratio")) {
            Sae a = r.sae(c.a()), b = r.sae(c.b());
            if (a == null || b == null || !Double.isFinite(a.ratio()) || !Double.isFinite(b.ratio())) continue;
            if (Double.isFinite(c.mmcsAb()) || Double.isFinite(c.mmcsBa())) { ratios.add(a.ratio()); ratios.add(b.ratio()); }
        }
        List<Double> rs = new ArrayList<>(ratios);
        int k = rs.size();
        double[][] sum = new double[k][k];
        int[][] n = new int[k][k];
        for (Comparison c : r.ofKind("ratio")) {
            Sae a = r.sae(c.a()), b = r.sae(c.b());
            if (a == null || b == null) continue;
            int i = rs.indexOf(a.ratio()), j = rs.indexOf(b.ratio());
            if (i < 0 || j < 0) continue;
            if (Double.isFinite(c.mmcsAb())) { sum[i][j] += c.mmcsAb(); n[i][j]++; }
            if (Double.isFinite(c.mmcsBa())) { sum[j][i] += c.mmcsBa(); n[j][i]++; }
        }
        double[][] mean = new double[k][k];
        for (int i = 0; i < k; i++) for (int j = 0; j < k; j++) mean[i][j] = n[i][j] == 0 ? Double.NaN : sum[i][j] / n[i][j];
        return new RatioMatrix(rs, mean, n);
    }

    /** The "ratio" comparisons whose SAEs differ in size (d_sae, else ratio), oriented small -> large. */
    static List<Oriented> oriented(StudyResults r) {
        return oriented(r, "ratio");
    }

    /** As {@link #oriented(StudyResults)} over the comparisons of one kind ("ratio", or "ratio_matched_l0"). */
    static List<Oriented> oriented(StudyResults r, String kind) {
        List<Oriented> out = new ArrayList<>();
        for (Comparison c : r.ofKind(kind)) {
            Sae a = r.sae(c.a()), b = r.sae(c.b());
            if (a == null || b == null) continue;
            double sa = size(a), sb = size(b);
            if (!Double.isFinite(sa) || !Double.isFinite(sb) || sa == sb) continue;
            out.add(sa < sb ? new Oriented(c, a, b, c.mmcsAb(), c.mmcsBa(), c.corrAb(), c.corrBa())
                    : new Oriented(c, b, a, c.mmcsBa(), c.mmcsAb(), c.corrBa(), c.corrAb()));
        }
        return out;
    }

    /**
     * For each ratio L above the smallest, the comparisons between L and the next smaller ratio that
     * was compared with L (the consecutive ratio when every pair was compared), averaged; x = L.
     */
    static List<CurvePoint> consecutiveCurve(StudyResults r) {
        TreeMap<Double, List<Oriented>> byLarge = new TreeMap<>();
        for (Oriented o : oriented(r)) {
            if (Double.isFinite(o.small().ratio()) && Double.isFinite(o.large().ratio()) && o.small().ratio() < o.large().ratio())
                byLarge.computeIfAbsent(o.large().ratio(), x -> new ArrayList<>()).add(o);
        }
        List<CurvePoint> out = new ArrayList<>();
        for (Map.Entry<Double, List<Oriented>> e : byLarge.entrySet()) {
            double small = e.getValue().stream().mapToDouble(o -> o.small().ratio()).max().orElse(Double.NaN);
            List<Oriented> ps = e.getValue().stream().filter(o -> o.small().ratio() == small).toList();
            out.add(new CurvePoint(small, e.getKey(), mean(ps, Oriented::mmcsS2L).mean(), mean(ps, Oriented::mmcsL2S).mean(),
                    mean(ps, Oriented::corrS2L).mean(), mean(ps, Oriented::corrL2S).mean(), ps.size()));
        }
        return out;
    }

    /** Baseline comparisons of a kind ("random", "cross_layer"): the mean of both directions. */
    static Baseline baseline(StudyResults r, String kind) {
        TreeMap<Double, List<Double>> m = new TreeMap<>(), c = new TreeMap<>();
        List<Double> all = new ArrayList<>(), allCorr = new ArrayList<>();
        for (Comparison x : r.ofKind(kind)) {
            Sae a = r.sae(x.a());
            double ratio = a == null ? Double.NaN : a.ratio();
            all.add(x.mmcsMean());
            allCorr.add(x.corrMean());
            if (Double.isFinite(ratio)) {
                m.computeIfAbsent(ratio, k -> new ArrayList<>()).add(x.mmcsMean());
                c.computeIfAbsent(ratio, k -> new ArrayList<>()).add(x.corrMean());
            }
        }
        return new Baseline(kind, means(m), means(c), Mean.of(all), Mean.of(allCorr));
    }

    /**
     * Mean MMCS per ratio over every "ratio" comparison that involves an SAE of that ratio, both
     * directions (so each ratio's value is the mean of its heatmap row and column).
     */
    static TreeMap<Double, Mean> mmcsPerRatio(StudyResults r) {
        TreeMap<Double, Mean> out = new TreeMap<>();
        mmcsValuesPerRatio(r, "ratio").forEach((k, v) -> { Mean x = Mean.of(v); if (x.n() > 0) out.put(k, x); });
        return out;
    }

    /** As {@link #mmcsPerRatio}, with the spread of the values behind each mean. */
    static TreeMap<Double, Spread> mmcsSpreadPerRatio(StudyResults r, String kind) {
        TreeMap<Double, Spread> out = new TreeMap<>();
        mmcsValuesPerRatio(r, kind).forEach((k, v) -> { Spread x = Spread.of(v); if (x.n() > 0) out.put(k, x); });
        return out;
    }

    /** The MMCS (mean of both directions) of every "ratio" comparison each ratio takes part in. */
    private static TreeMap<Double, List<Double>> mmcsValuesPerRatio(StudyResults r, String kind) {
        TreeMap<Double, List<Double>> m = new TreeMap<>();
        for (Comparison c : r.ofKind(kind)) {
            Sae a = r.sae(c.a()), b = r.sae(c.b());
            for (Sae s : new Sae[] {a, b}) {
                if (s == null || !Double.isFinite(s.ratio())) continue;
                List<Double> l = m.computeIfAbsent(s.ratio(), k -> new ArrayList<>());
                l.add(c.mmcsMean()); // one value per pair: its two directions differ systematically (small -> large is higher)
            }
        }
        return m;
    }

    /** Sparsity per ratio over the ratio-sweep SAEs (every SAE when there is no sweep). */
    static List<Sparsity> sparsityPerRatio(StudyResults r) {
        TreeMap<Double, List<Sae>> by = new TreeMap<>();
        for (Sae s : sweepOrAll(r)) if (Double.isFinite(s.ratio())) by.computeIfAbsent(s.ratio(), k -> new ArrayList<>()).add(s);
        List<Sparsity> out = new ArrayList<>();
        by.forEach((ratio, ss) -> out.add(new Sparsity(ratio, mean(ss, Sae::activeFraction).mean(),
                mean(ss, Sae::medianLog10Freq).mean(), mean(ss, Sae::l0).mean(), ss.size())));
        return out;
    }

    /** Spearman rank correlation of paired finite values (average ranks for ties); NaN under 2 pairs. */
    static double spearman(double[] x, double[] y) {
        List<double[]> ps = new ArrayList<>();
        for (int i = 0; i < Math.min(x.length, y.length); i++)
            if (Double.isFinite(x[i]) && Double.isFinite(y[i])) ps.add(new double[] {x[i], y[i]});
        if (ps.size() < 2) return Double.NaN;
        double[] rx = ranks(ps, 0), ry = ranks(ps, 1);
        double mx = 0, my = 0;
        for (int i = 0; i < rx.length; i++) { mx += rx[i]; my += ry[i]; }
        mx /= rx.length;
        my /= ry.length;
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < rx.length; i++) {
            sxy += (rx[i] - mx) * (ry[i] - my);
            sxx += (rx[i] - mx) * (rx[i] - mx);
            syy += (ry[i] - my) * (ry[i] - my);
        }
        return sxx == 0 || syy == 0 ? Double.NaN : sxy / Math.sqrt(sxx * syy);
    }

    static <T> Mean mean(List<T> xs, ToDoubleFunction<T> f) {
        List<Double> v = new ArrayList<>();
        for (T x : xs) v.add(f.applyAsDouble(x));
        return Mean.of(v);
    }

    /** The number of latents used to order two SAEs: d_sae, else the ratio. */
    static double size(Sae s) {
        return Double.isFinite(s.dSae()) ? s.dSae() : s.ratio();
    }

    /** "1:4" for ratio 4; "1:0.5" for 0.5; "?" when unknown. */
    static String ratioLabel(double ratio) {
        return Double.isFinite(ratio) ? "1:" + Html.num(ratio) : "?";
    }

    private static TreeMap<Double, Double> means(TreeMap<Double, List<Double>> m) {
        TreeMap<Double, Double> out = new TreeMap<>();
        m.forEach((k, v) -> { Mean x = Mean.of(v); if (x.n() > 0) out.put(k, x.mean()); });
        return out;
    }

    private static double[] ranks(List<double[]> ps, int col) {
        Integer[] idx = new Integer[ps.size()];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        java.util.Arrays.sort(idx, Comparator.comparingDouble(i -> ps.get(i)[col]));
        double[] rank = new double[idx.length];
        for (int i = 0; i < idx.length; ) {
            int j = i;
            while (j + 1 < idx.length && ps.get(idx[j + 1])[col] == ps.get(idx[i])[col]) j++;
            for (int t = i; t <= j; t++) rank[idx[t]] = (i + j) / 2.0 + 1;
            i = j + 1;
        }
        return rank;
    }

    private static double nanLast(double x) {
        return Double.isNaN(x) ? Double.MAX_VALUE : x;
    }

    /** Group helper used by the figures: SAEs keyed by a label, in the given order. */
    static Map<String, Sae> labelled(List<Sae> saes, java.util.function.Function<Sae, String> label) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (Sae s : saes) counts.merge(label.apply(s), 1, Integer::sum);
        Map<String, Sae> out = new LinkedHashMap<>();
        for (Sae s : saes) {
            String l = label.apply(s);
            if (counts.get(l) > 1) l = l + " (" + s.name() + ")";
            out.putIfAbsent(l, s);
        }
        return out;
    }
}
