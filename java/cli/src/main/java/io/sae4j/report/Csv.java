package io.sae4j.report;

import io.sae4j.report.Analysis.RatioMatrix;
import io.sae4j.report.StudyResults.Comparison;
import io.sae4j.report.StudyResults.Example;
import io.sae4j.report.StudyResults.Hist;
import io.sae4j.report.StudyResults.MatchedPair;
import io.sae4j.report.StudyResults.Sae;
import io.sae4j.report.StudyResults.TopFeature;
import io.sae4j.report.StudyResults.TrainPoint;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Every number of the report as CSV (RFC 4180 quoting, UTF-8, full precision, empty cell for a
 * missing or NaN value): saes, comparisons, training, frequencies, the ratio-pair MMCS matrix, top
 * features and matched pairs. Files are written even when their section is empty (header only).
 */
final class Csv {
    static final String SAES = "name,model,layer,site,ratio,seed,dataset,d_in,d_sae,mse,fvu,l0,dead_fraction,median_log10_freq,l0_over_d_sae";
    static final String COMPARISONS = "kind,a,b,mmcs_ab,mmcs_ba,hungarian_mean,shared_frac,corr_ab,corr_ba,dead_a,dead_b,"
            + "mmcs_ab_live,mmcs_ba_live,pw_mcc,shared_frac_encdec";
    static final String TRAINING = "sae,step,tokens,loss,mse,l0,fvu,dead_fraction";
    static final String FREQUENCIES = "sae,bin,log10_freq_lo,log10_freq_hi,count";
    static final String TOP_FEATURES = "sae,feature,frequency,max_activation,rank,token,activation,context";
    static final String MATCHED_PAIRS = "kind,a,b,feature_a,feature_b,cosine,side,rank,token,activation,context";

    private Csv() {}

    static void writeAll(StudyResults r, Path dir) throws IOException {
        Files.createDirectories(dir);
        try (Writer w = open(dir.resolve("saes.csv"), SAES)) {
            for (Sae s : r.saes)
                line(w, s.name(), s.model(), s.layer(), s.site(), s.ratio(), s.seed(), s.dataset(), s.dIn(), s.dSae(), s.mse(), s.fvu(),
                        s.l0(), s.deadFraction(), s.medianLog10Freq(), s.activeFraction());
        }
        try (Writer w = open(dir.resolve("comparisons.csv"), COMPARISONS)) {
            for (Comparison c : r.comparisons)
                line(w, c.kind(), c.a(), c.b(), c.mmcsAb(), c.mmcsBa(), c.hungarianMean(), c.sharedFrac(), c.corrAb(), c.corrBa(), c.deadA(), c.deadB(),
                        c.mmcsAbLive(), c.mmcsBaLive(), c.pwMcc(), c.sharedFracEncdec());
        }
        try (Writer w = open(dir.resolve("training.csv"), TRAINING)) {
            for (Sae s : r.saes) for (TrainPoint t : s.training())
                line(w, s.name(), t.step(), t.tokens(), t.loss(), t.mse(), t.l0(), t.fvu(), t.deadFraction());
        }
        try (Writer w = open(dir.resolve("frequencies.csv"), FREQUENCIES)) {
            for (Sae s : r.saes) {
                Hist h = s.hist();
                for (int i = 0; i < h.bins(); i++) line(w, s.name(), (double) i, h.binLo(i), h.binHi(i), h.counts()[i]);
            }
        }
        RatioMatrix m = Analysis.ratioMatrix(r);
        try (Writer w = open(dir.resolve("mmcs_ratio_matrix.csv"), "ratio_a,ratio_b,mmcs_a_to_b,n_comparisons")) {
            for (int i = 0; i < m.ratios().size(); i++) for (int j = 0; j < m.ratios().size(); j++)
                if (m.n()[i][j] > 0) line(w, m.ratios().get(i), m.ratios().get(j), m.mmcs()[i][j], (double) m.n()[i][j]);
        }
        try (Writer w = open(dir.resolve("top_features.csv"), TOP_FEATURES)) {
            for (TopFeature f : r.topFeatures) {
                int k = 0;
                for (Example e : f.examples()) line(w, f.sae(), f.feature(), f.frequency(), f.maxActivation(), (double) ++k, e.token(), e.activation(), e.context());
                if (f.examples().isEmpty()) line(w, f.sae(), f.feature(), f.frequency(), f.maxActivation(), null, null, null, null);
            }
        }
        try (Writer w = open(dir.resolve("matched_pairs.csv"), MATCHED_PAIRS)) {
            for (MatchedPair p : r.matchedPairs) {
                pairSide(w, p, "a", p.examplesA());
                pairSide(w, p, "b", p.examplesB());
                if (p.examplesA().isEmpty() && p.examplesB().isEmpty())
                    line(w, p.kind(), p.a(), p.b(), p.featureA(), p.featureB(), p.cosine(), null, null, null, null, null);
            }
        }
    }

    private static void pairSide(Writer w, MatchedPair p, String side, List<Example> ex) throws IOException {
        int k = 0;
        for (Example e : ex) line(w, p.kind(), p.a(), p.b(), p.featureA(), p.featureB(), p.cosine(), side, (double) ++k, e.token(), e.activation(), e.context());
    }

    private static Writer open(Path p, String header) throws IOException {
        Writer w = Files.newBufferedWriter(p, StandardCharsets.UTF_8);
        w.write(header);
        w.write('\n');
        return w;
    }

    /** One row: Strings quoted when needed, Doubles at full precision (integers without ".0"), null and NaN empty. */
    private static void line(Writer w, Object... cells) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < cells.length; i++) {
            if (i > 0) b.append(',');
            Object c = cells[i];
            if (c instanceof Double d) b.append(number(d));
            else if (c != null) b.append(quote(c.toString()));
        }
        w.write(b.append('\n').toString());
    }

    static String number(double x) {
        if (!Double.isFinite(x)) return "";
        if (x == Math.rint(x) && Math.abs(x) < 1e15) return Long.toString((long) x);
        return Double.toString(x);
    }

    static String quote(String s) {
        boolean needs = s.indexOf(',') >= 0 || s.indexOf('"') >= 0 || s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0
                || (!s.isEmpty() && (s.charAt(0) == ' ' || s.charAt(s.length() - 1) == ' '));
        return needs ? '"' + s.replace("\"", "\"\"") + '"' : s;
    }
}
