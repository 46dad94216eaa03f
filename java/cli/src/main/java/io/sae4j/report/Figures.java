package io.sae4j.report;

import io.sae4j.report.Analysis.Baseline;
import io.sae4j.report.Analysis.CurvePoint;
import io.sae4j.report.Analysis.RatioMatrix;
import io.sae4j.report.Analysis.Sparsity;
import io.sae4j.report.StudyResults.Hist;
import io.sae4j.report.StudyResults.Sae;
import io.sae4j.report.StudyResults.TrainPoint;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapSeries;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The report's figures, each drawn with XChart from {@link Analysis} and encoded as PNG. A figure
 * whose data are missing is not drawn (its builder returns null) and the page says "not run" at
 * its anchor instead.
 */
final class Figures {
    /** A rendered figure: its HTML anchor, PNG file name under figures/, title, caption and bytes. */
    record Figure(String anchor, String file, String title, String caption, byte[] png, int width, int height) {}

    static final String HEATMAP = "fig-mmcs-heatmap", MMCS_VS_RATIO = "fig-mmcs-vs-ratio", CORR_VS_RATIO = "fig-corr-vs-ratio",
            FREQ_RATIO = "fig-freq-ratio", FREQ_LAYER = "fig-freq-layer", SPARSITY = "fig-sparsity",
            TRAIN_LOSS = "fig-train-loss", TRAIN_L0 = "fig-train-l0", TRAIN_FVU = "fig-train-fvu",
            THRESHOLD_CURVE = "fig-threshold-curve", FRONTIER = "fig-frontier";

    private Figures() {}

    /** Builds one figure; may throw on data XChart cannot draw. */
    private interface Builder {
        Figure build() throws IOException;
    }

    /**
     * Every figure the data allow, keyed by anchor, in page order. A figure that fails to draw is
     * left out and the reason is put in failures under its anchor, so one bad series cannot sink
     * the whole report.
     */
    static Map<String, Figure> all(StudyResults r, Map<String, String> failures) {
        Map<String, Figure> out = new LinkedHashMap<>();
        put(out, failures, HEATMAP, () -> heatmap(r));
        put(out, failures, MMCS_VS_RATIO, () -> vsRatio(r, false));
        put(out, failures, CORR_VS_RATIO, () -> vsRatio(r, true));
        put(out, failures, FREQ_RATIO, () -> frequencies(FREQ_RATIO, "Feature frequency per ratio", Analysis.saesIn(r, "ratio"),
                s -> Analysis.ratioLabel(s.ratio()), "the SAEs of the ratio sweep (those in \"ratio\" comparisons), one line per ratio"));
        put(out, failures, FREQ_LAYER, () -> frequencies(FREQ_LAYER, "Feature frequency per layer", Analysis.saesIn(r, "layer"),
                s -> "layer " + Html.num(s.layer()), "the SAEs of the layer comparisons, one line per layer"));
        put(out, failures, SPARSITY, () -> sparsity(r));
        put(out, failures, FRONTIER, () -> frontier(r));
        put(out, failures, THRESHOLD_CURVE, () -> thresholdCurve(r));
        put(out, failures, TRAIN_LOSS, () -> training(r, TRAIN_LOSS, "Training loss", "loss", TrainPoint::loss, true));
        put(out, failures, TRAIN_L0, () -> training(r, TRAIN_L0, "Training L0", "L0 (mean active latents per token)", TrainPoint::l0, false));
        put(out, failures, TRAIN_FVU, () -> training(r, TRAIN_FVU, "Training FVU", "FVU (fraction of variance unexplained)", TrainPoint::fvu, false));
        return out;
    }

    static Figure heatmap(StudyResults r) throws IOException {
        RatioMatrix m = Analysis.ratioMatrix(r);
        int k = m.ratios().size();
        List<String> xs = new ArrayList<>(), ys = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            xs.add(Analysis.ratioLabel(m.ratios().get(i)));
            ys.add(Analysis.ratioLabel(m.ratios().get(k - 1 - i)));
        }
        List<Number[]> cells = new ArrayList<>();
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                double v = m.mmcs()[i][j];
                if (!Double.isFinite(v)) continue;
                cells.add(new Number[] {j, k - 1 - i, v});
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        if (cells.isEmpty()) return null;
        HeatMapChart c = Charts.heatMap("MMCS(A \u2192 B) over ratio pairs", "ratio of B (searched for each A feature's best match)",
                "ratio of A (averaged over A's features)");
        HeatMapSeries s = c.addSeries("MMCS", xs, ys, cells);
        // Rounded outward to 0.01 so the colour legend's end labels stay short.
        s.setMin(Math.floor(lo * 100) / 100);
        s.setMax(Math.max(Math.ceil(hi * 100) / 100, Math.floor(lo * 100) / 100 + 0.01));
        c.getStyler().setShowValue(true).setValueFont(new Font(Font.SANS_SERIF, Font.BOLD, 14)).setValueFontColor(Color.BLACK)
                .setHeatMapValueDecimalPattern("0.000").setDrawBorder(true)
                .setRangeColors(new Color[] {new Color(0xFFFFD9), new Color(0xC7E9B4), new Color(0x7FCDBB), new Color(0x41B6C4)});
        return new Figure(HEATMAP, "mmcs_heatmap.png", "MMCS heatmap over ratio pairs",
                "Cell (row A, column B) = MMCS(A \u2192 B): the mean over A's features of the highest decoder cosine with any "
                        + "feature of B, averaged over the \"ratio\" comparisons that give it. Each pair fills both directions; "
                        + "right of the diagonal is small \u2192 large, left of it large \u2192 small. Same-ratio pairs are not "
                        + "\"ratio\" comparisons, so the diagonal is empty.", Charts.png(c), Charts.WIDTH, Charts.HEIGHT);
    }

    /** Shared fraction against the threshold, one line per kind of comparison (mean over its pairs). */
    static Figure thresholdCurve(StudyResults r) throws IOException {
        XYChart c = Charts.xy("Matched pairs above a threshold", "decoder cosine threshold",
                "fraction of matched pairs at or above it", Page.CROSS_KINDS.size() + 1);
        int series = 0;
        for (String kind : List.of("ratio", "seed", "dataset", "layer", "model", "random")) {
            List<double[]> curves = new ArrayList<>();
            double[] t = null;
            for (StudyResults.Comparison cmp : r.ofKind(kind))
                if (cmp.curveThresholds().length > 0 && cmp.curveThresholds().length == cmp.curveDecoder().length) {
                    t = cmp.curveThresholds();
                    curves.add(cmp.curveDecoder());
                }
            if (curves.isEmpty()) continue;
            List<Double> x = new ArrayList<>(), y = new ArrayList<>();
            for (int i = 0; i < t.length; i++) {
                double sum = 0;
                int n = 0;
                for (double[] cv : curves)
                    if (i < cv.length && Double.isFinite(cv[i])) {
                        sum += cv[i];
                        n++;
                    }
                if (n > 0) {
                    x.add(t[i]);
                    y.add(sum / n);
                }
            }
            if (!x.isEmpty()) Charts.styleSeries(c.addSeries(kind + " (" + curves.size() + ")", x, y), series++, true);
        }
        if (series == 0) return null;
        c.getStyler().setYAxisMin(0.0).setYAxisMax(1.0).setXAxisMin(0.0).setXAxisMax(1.0);
        c.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
        return new Figure(THRESHOLD_CURVE, "threshold_curve.png", "Matched pairs above a threshold",
                "For each kind of comparison (pairs in brackets), the mean over its pairs of the fraction of one-to-one "
                        + "matched decoder pairs (exact matching, signed cosine) whose cosine is at or above the threshold; "
                        + "0.7 is the threshold of the shared fraction in the tables. A kind whose curve stays above the "
                        + "random-init line to high thresholds shares features beyond chance.", Charts.png(c), Charts.WIDTH,
                Charts.HEIGHT);
    }

    /** MMCS (or activation correlation) of consecutive-ratio pairs against the larger ratio, with baselines. */
    static Figure vsRatio(StudyResults r, boolean corr) throws IOException {
        List<CurvePoint> pts = Analysis.consecutiveCurve(r);
        List<Double> x = new ArrayList<>(), s2l = new ArrayList<>(), xl = new ArrayList<>(), l2s = new ArrayList<>();
        for (CurvePoint p : pts) {
            double a = corr ? p.corrS2L() : p.mmcsS2L(), b = corr ? p.corrL2S() : p.mmcsL2S();
            if (Double.isFinite(a)) { x.add(Charts.log2(p.largeRatio())); s2l.add(a); }
            if (Double.isFinite(b)) { xl.add(Charts.log2(p.largeRatio())); l2s.add(b); }
        }
        if (x.isEmpty() && xl.isEmpty()) return null;
        String metric = corr ? "activation correlation" : "MMCS";
        XYChart c = Charts.xy((corr ? "Activation correlation" : "MMCS") + " vs ratio (consecutive ratios)",
                "larger ratio of the pair (log scale)", corr ? "mean max Pearson r" : "MMCS (mean max decoder cosine)", 4);
        int i = 0;
        if (!x.isEmpty()) Charts.styleSeries(c.addSeries("smaller \u2192 larger", x, s2l), i++, true);
        if (!xl.isEmpty()) Charts.styleSeries(c.addSeries("larger \u2192 smaller", xl, l2s), i++, true);
        Baseline random = Analysis.baseline(r, "random"), crossLayer = Analysis.baseline(r, "cross_layer");
        List<Double> allX = new ArrayList<>(x);
        allX.addAll(xl);
        for (Baseline b : List.of(random, crossLayer)) {
            Map<Double, Double> byRatio = corr ? b.corrByRatio() : b.mmcsByRatio();
            if (byRatio.size() >= 2) byRatio.keySet().forEach(k -> allX.add(Charts.log2(k)));
        }
        Charts.ratioAxis(c, allX);
        double x0 = c.getStyler().getXAxisMin(), x1 = c.getStyler().getXAxisMax();
        double yMin = Math.min(0, Math.min(Charts.min(s2l.isEmpty() ? l2s : s2l), Charts.min(l2s.isEmpty() ? s2l : l2s)));
        String bl = baseline(c, random, corr, "random-init baseline", Charts.BASELINE_RANDOM, x0, x1)
                + baseline(c, crossLayer, corr, "cross-layer baseline", Charts.BASELINE_LAYER, x0, x1);
        c.getStyler().setYAxisMin(yMin).setYAxisMax(1.0);
        c.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
        return new Figure(corr ? CORR_VS_RATIO : MMCS_VS_RATIO, corr ? "corr_vs_ratio.png" : "mmcs_vs_ratio.png",
                (corr ? "Activation correlation" : "MMCS") + " vs ratio",
                "For each ratio L, the \"ratio\" comparisons between L and the next smaller ratio compared with it (the "
                        + "consecutive ratio, e.g. 1:4 with 1:8), averaged, plotted at x = L. \"smaller \u2192 larger\" is the "
                        + metric + " from the SAE with fewer latents to the one with more. " + bl, Charts.png(c), Charts.WIDTH, Charts.HEIGHT);
    }

    /** Draws a baseline: points per ratio when it spans several ratios, else a horizontal line at its mean. */
    private static String baseline(XYChart c, Baseline b, boolean corr, String name, Color color, double x0, double x1) {
        Map<Double, Double> byRatio = corr ? b.corrByRatio() : b.mmcsByRatio();
        Analysis.Mean mean = corr ? b.corr() : b.mmcs();
        if (mean.n() == 0) return "No " + name + " was measured. ";
        if (byRatio.size() >= 2) {
            List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
            byRatio.forEach((k, v) -> { xs.add(Charts.log2(k)); ys.add(v); });
            XYSeries s = c.addSeries(name, xs, ys);
            Charts.styleBaseline(s, color);
            s.setMarker(SeriesMarkers.DIAMOND);
            return "The " + name + " (dashed) is its mean of both directions per ratio of the trained SAE. ";
        }
        Charts.styleBaseline(c.addSeries(name + " (mean)", List.of(x0, x1), List.of(mean.mean(), mean.mean())), color);
        return "The " + name + " (dashed) is drawn at its mean over both directions of " + mean.n() + " comparison(s), "
                + Html.num(mean.mean()) + ". ";
    }

    static Figure frequencies(String anchor, String title, List<Sae> saes, Function<Sae, String> label, String what) throws IOException {
        List<Sae> usable = saes.stream().filter(s -> s.hist().usable()).toList();
        if (usable.isEmpty()) return null;
        Map<String, Sae> byLabel = Analysis.labelled(usable, label);
        XYChart c = Charts.xy(title, "log10(feature frequency per token)", "fraction of live features", byLabel.size());
        c.getStyler().setXAxisMin(usable.stream().mapToDouble(s -> s.hist().lo()).min().orElse(0))
                .setXAxisMax(usable.stream().mapToDouble(s -> s.hist().hi()).max().orElse(0));
        c.getStyler().setYAxisMin(0.0);
        int i = 0;
        for (Map.Entry<String, Sae> e : byLabel.entrySet()) {
            Hist h = e.getValue().hist();
            double total = h.total();
            List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
            for (int b = 0; b < h.bins(); b++) {
                xs.add(h.centre(b));
                ys.add(Double.isFinite(h.counts()[b]) ? h.counts()[b] / total : 0.0);
            }
            Charts.styleSeries(c.addSeries(e.getKey(), xs, ys), i++, false);
        }
        return new Figure(anchor, anchor.substring(4).replace('-', '_') + ".png", title,
                "Histogram of log10 feature frequency (fraction of tokens on which a feature fires) over live features, "
                        + "normalised per SAE so that SAEs of different sizes compare; " + what + ". Dead features are not in it.",
                Charts.png(c), Charts.WIDTH, Charts.HEIGHT);
    }

    static Figure sparsity(StudyResults r) throws IOException {
        List<Sparsity> ps = Analysis.sparsityPerRatio(r);
        List<Double> x1 = new ArrayList<>(), y1 = new ArrayList<>(), x2 = new ArrayList<>(), y2 = new ArrayList<>();
        for (Sparsity p : ps) {
            if (p.activeFraction() > 0) { x1.add(Charts.log2(p.ratio())); y1.add(Math.log10(p.activeFraction())); }
            if (Double.isFinite(p.medianLog10Freq())) { x2.add(Charts.log2(p.ratio())); y2.add(p.medianLog10Freq()); }
        }
        if (x1.isEmpty() && x2.isEmpty()) return null;
        XYChart c = Charts.xy("Sparsity vs ratio", "ratio (log scale)", "log10(fraction of tokens)", 2);
        List<Double> allX = new ArrayList<>(x1);
        allX.addAll(x2);
        Charts.ratioAxis(c, allX);
        if (!x1.isEmpty()) Charts.styleSeries(c.addSeries("log10(L0 / d_sae)", x1, y1), 0, true);
        if (!x2.isEmpty()) Charts.styleSeries(c.addSeries("median log10 frequency (live features)", x2, y2), 1, true);
        c.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNE);
        return new Figure(SPARSITY, "sparsity_vs_ratio.png", "Sparsity vs ratio",
                "For the ratio-sweep SAEs (every SAE when there is no sweep), averaged per ratio: L0 / d_sae is the mean "
                        + "fraction of latents active on a token, i.e. the mean feature frequency over all latents (dead included); "
                        + "the median is over live features only.", Charts.png(c), Charts.WIDTH, Charts.HEIGHT);
    }

    /** L0 against FVU on the held-out tokens, one marker per SAE of the ratio sweep (one lambda: one point per ratio). */
    static Figure frontier(StudyResults r) throws IOException {
        List<Sae> sweep = Analysis.sweepOrAll(r).stream().filter(s -> Double.isFinite(s.l0()) && Double.isFinite(s.fvu())).toList();
        if (sweep.isEmpty()) return null;
        XYChart c = Charts.xy("Sparsity against fidelity", "L0 (mean active latents per token, held-out)", "FVU (held-out)", sweep.size());
        int i = 0;
        for (Sae s : sweep)
            Charts.styleSeries(c.addSeries(Analysis.ratioLabel(s.ratio()) + (sweep.size() > 6 ? " " + s.name() : ""),
                    List.of(s.l0()), List.of(s.fvu())), i++, true);
        c.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNE);
        return new Figure(FRONTIER, "frontier.png", "Sparsity against fidelity",
                "Each SAE of the ratio sweep on the held-out tokens: lower and further left is better. " + (Findings.topK(r) > 0
                        ? "They are TopK SAEs with one k, so they sit at one L0 and differ in FVU."
                        : "They share one L1 coefficient, so they sit at different L0; the study's matched-L0 sweep (when run) is "
                        + "compared separately, in the findings marked \"at matched L0\"."), Charts.png(c), Charts.WIDTH, Charts.HEIGHT);
    }

    static Figure training(StudyResults r, String anchor, String title, String yTitle, ToDoubleFunction<TrainPoint> metric,
                           boolean logIfWide) throws IOException {
        List<Sae> withCurves = r.saes.stream().filter(s -> s.training().stream().anyMatch(t -> Double.isFinite(metric.applyAsDouble(t)))).toList();
        if (withCurves.isEmpty()) return null;
        boolean byTokens = withCurves.stream().flatMap(s -> s.training().stream()).allMatch(t -> Double.isFinite(t.tokens()));
        double lo = Double.POSITIVE_INFINITY, hi = 0;
        for (Sae s : withCurves) for (TrainPoint t : s.training()) {
            double v = metric.applyAsDouble(t);
            if (Double.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
        }
        boolean log = logIfWide && lo > 0 && hi / lo >= 20;
        Map<String, Sae> byLabel = Analysis.labelled(withCurves, s -> String.valueOf(s.name()));
        XYChart c = Charts.xy(title, byTokens ? "tokens" : "step", yTitle + (log ? " (log scale)" : ""), byLabel.size());
        // A log axis is drawn as log10(y) on a linear one: XChart labels only whole decades of a log axis.
        if (log) c.setCustomYAxisTickLabelsFormatter(Charts::pow10Tick);
        c.setCustomXAxisTickLabelsFormatter(Charts::si);
        double xMax = withCurves.stream().flatMap(s -> s.training().stream()).mapToDouble(t -> byTokens ? t.tokens() : t.step())
                .filter(Double::isFinite).max().orElse(0);
        c.getStyler().setXAxisMin(0.0);
        if (xMax > 0) c.getStyler().setXAxisMax(Charts.niceCeil(xMax));
        int i = 0;
        for (Map.Entry<String, Sae> e : byLabel.entrySet()) {
            List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
            for (TrainPoint t : e.getValue().training()) {
                double x = byTokens ? t.tokens() : t.step(), y = metric.applyAsDouble(t);
                if (Double.isFinite(x) && Double.isFinite(y) && (!log || y > 0)) { xs.add(x); ys.add(log ? Math.log10(y) : y); }
            }
            if (!xs.isEmpty()) Charts.styleSeries(c.addSeries(e.getKey(), xs, ys), i++, xs.size() == 1);
        }
        return new Figure(anchor, anchor.substring(4).replace('-', '_') + ".png", title,
                "One line per SAE, against " + (byTokens ? "training tokens seen" : "training step") + "."
                        + (log ? " Log-scale y." : ""), Charts.png(c), Charts.WIDTH, Charts.HEIGHT);
    }

    private static void put(Map<String, Figure> out, Map<String, String> failures, String anchor, Builder b) {
        try {
            Figure f = b.build();
            if (f != null) out.put(f.anchor(), f);
        } catch (Exception | LinkageError | java.awt.AWTError | InternalError e) { // a missing font or display library, too
            failures.put(anchor, "the figure could not be drawn (" + e + ")");
        }
    }
}
