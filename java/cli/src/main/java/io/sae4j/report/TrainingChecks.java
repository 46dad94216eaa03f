package io.sae4j.report;

import io.sae4j.report.StudyResults.Sae;
import io.sae4j.report.StudyResults.TrainPoint;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * Whether the SAEs a study concludes from are fit to conclude from: trained until their figures
 * stopped moving, and with few dead latents. Both are findings of the report, beside the seed
 * study's observations.
 */
final class TrainingChecks {
    /**
     * The training figures compared are means over the third and the last quarter of training
     * (records after 50% up to 75%, and after 75%); the seed pairs' MMCS is compared at 75% and at
     * the end. One interval of the log against another was noise: with several passes over the
     * data, an interval's FVU depends on where in a pass its batches fall (0.01-0.02 between
     * neighbouring 25-step intervals of the TopK study, benchmarks/RESULTS.md).
     */
    static final double MID = 0.75, FROM = 0.5;
    /** Converged: L0 within 5% (relative), FVU and the seed pairs' MMCS within 0.01 (absolute) of their earlier values. */
    static final double L0_REL = 0.05, FVU_ABS = 0.01, MMCS_ABS = 0.01;
    /** At most this fraction of an SAE's latents may be dead on the held-out tokens. */
    static final double DEAD_MAX = 0.10;

    /** The report's table of SAEs (its section id), which has every dead fraction. */
    static final String SAE_TABLE = "saes";

    private TrainingChecks() {}

    /**
     * One SAE's figures over the third quarter of its training (mid) and the last (end): means of
     * the training log's interval means, each point's step the last of its quarter.
     */
    record Convergence(Sae sae, TrainPoint mid, TrainPoint end) {
        double l0Change() { return Math.abs(end.l0() - mid.l0()) / Math.max(end.l0(), 1e-12); }
        double fvuChange() { return Math.abs(end.fvu() - mid.fvu()); }
        boolean converged() { return l0Change() <= L0_REL && fvuChange() <= FVU_ABS; }
    }

    /** The SAE's convergence figures, or null without records in both quarters. */
    static Convergence convergence(Sae s) {
        List<TrainPoint> t = s.training();
        if (t == null || t.size() < 2) return null;
        double last = t.get(t.size() - 1).step();
        TrainPoint mid = quarterMean(t, FROM * last, MID * last), end = quarterMean(t, MID * last, last);
        if (mid == null || end == null) return null;
        return new Convergence(s, mid, end);
    }

    /**
     * Mean L0 and mean FVU of the records with from < step <= to, each over its finite values (a
     * record's FVU is NaN when its batches did not vary), at that quarter's last step; null when
     * either has no finite value there.
     */
    private static TrainPoint quarterMean(List<TrainPoint> t, double from, double to) {
        double l0 = 0, fvu = 0, step = Double.NaN;
        int nl0 = 0, nfvu = 0;
        for (TrainPoint p : t)
            if (p.step() > from && p.step() <= to) {
                step = p.step();
                if (Double.isFinite(p.l0())) {
                    l0 += p.l0();
                    nl0++;
                }
                if (Double.isFinite(p.fvu())) {
                    fvu += p.fvu();
                    nfvu++;
                }
            }
        if (nl0 == 0 || nfvu == 0) return null;
        return new TrainPoint(step, Double.NaN, Double.NaN, Double.NaN, l0 / nl0, fvu / nfvu, Double.NaN);
    }

    static Finding converged(StudyResults r) {
        String claim = "Every SAE had stopped changing when training ended (mean L0 and FVU over the last quarter of training within "
                + Html.num(100 * L0_REL) + "% and " + Html.num(FVU_ABS) + " of the quarter before; the seed pairs' MMCS within "
                + Html.num(MMCS_ABS) + " of its value at " + Html.num(100 * MID) + "% of training)";
        List<Convergence> all = new ArrayList<>();
        List<String> unchecked = new ArrayList<>();
        for (Sae s : r.saes) {
            Convergence c = convergence(s);
            if (c == null) unchecked.add(s.name());
            else all.add(c);
        }
        if (all.isEmpty()) return new Finding(claim, null, "No SAE has a training curve to check.", Figures.TRAIN_L0);
        List<Convergence> moving = all.stream().filter(c -> !c.converged()).toList();
        Convergence worstL0 = all.stream().max(java.util.Comparator.comparingDouble(Convergence::l0Change)).orElseThrow();
        Convergence worstFvu = all.stream().max(java.util.Comparator.comparingDouble(Convergence::fvuChange)).orElseThrow();
        StringBuilder ev = new StringBuilder(String.format("%d of %d SAEs pass. Largest L0 change: %s%% (%s, mean L0 %s in the quarter to "
                        + "step %s, %s in the quarter to %s); largest FVU change: %s (%s). Figures are means of the training log's interval "
                        + "means.", all.size() - moving.size(), all.size(),
                Html.num(100 * worstL0.l0Change()), worstL0.sae().name(), Html.num(worstL0.mid().l0()), Html.num(worstL0.mid().step()),
                Html.num(worstL0.end().l0()), Html.num(worstL0.end().step()), Html.num(worstFvu.fvuChange()), worstFvu.sae().name()));
        if (!moving.isEmpty()) {
            ev.append(" Still moving: ");
            for (int i = 0; i < moving.size(); i++)
                ev.append(i == 0 ? "" : ", ").append(moving.get(i).sae().name()).append(" (L0 ")
                        .append(Html.num(100 * moving.get(i).l0Change())).append("%, FVU ").append(Html.num(moving.get(i).fvuChange())).append(')');
            ev.append(". More steps (the study config's \"steps\") would move its conclusions.");
        }
        ev.append(" Every SAE's figures are in the SAE table.");
        if (!unchecked.isEmpty())
            ev.append(" Without finite L0 and FVU records in both quarters: ").append(String.join(", ", unchecked)).append('.');
        if (Findings.topK(r) > 0)
            ev.append(" These are TopK SAEs: their L0 is k by construction, so FVU is what this part of the check tests.");
        boolean seedsSettled = true;
        List<String> seedPairs = new ArrayList<>();
        for (StudyResults.Comparison c : r.ofKind("seed")) {
            if (!Double.isFinite(c.mmcsMidMean()) || !Double.isFinite(c.mmcsMean())) continue;
            double change = Math.abs(c.mmcsMean() - c.mmcsMidMean());
            seedsSettled &= change <= MMCS_ABS;
            seedPairs.add(c.a() + " / " + c.b() + " " + Html.num(c.mmcsMidMean()) + " \u2192 " + Html.num(c.mmcsMean()));
        }
        ev.append(seedPairs.isEmpty() ? " No seed pair was measured at " + Html.num(100 * MID) + "% of training."
                : " Seed-pair MMCS at " + Html.num(100 * MID) + "% \u2192 end: " + String.join("; ", seedPairs)
                + (seedsSettled ? " (settled)." : " (still moving)."));
        boolean seedsUnmeasured = seedPairs.isEmpty() && !r.ofKind("seed").isEmpty(); // seed pairs, none measured at 75%
        Boolean holds = !moving.isEmpty() || !seedsSettled ? Boolean.FALSE
                : unchecked.isEmpty() && !seedsUnmeasured ? Boolean.TRUE : null;
        return new Finding(claim, holds, ev.toString(), Figures.TRAIN_L0);
    }

    static Finding fewDead(StudyResults r) {
        String claim = "At most " + Html.num(100 * DEAD_MAX) + "% of each SAE's latents are dead (never fire on the held-out tokens)";
        TreeMap<Double, Double> worstPerRatio = new TreeMap<>();
        List<String> over = new ArrayList<>();
        for (Sae s : r.saes) {
            if (!Double.isFinite(s.deadFraction())) continue;
            worstPerRatio.merge(s.ratio(), s.deadFraction(), Math::max);
            if (s.deadFraction() > DEAD_MAX) over.add(s.name() + " (" + Html.num(100 * s.deadFraction()) + "%)");
        }
        if (worstPerRatio.isEmpty()) return new Finding(claim, null, "No SAE has a dead fraction.", SAE_TABLE);
        StringBuilder ev = new StringBuilder("Largest dead fraction per ratio: ");
        worstPerRatio.forEach((k, v) -> ev.append(ev.charAt(ev.length() - 2) == ':' ? "" : ", ").append(Analysis.ratioLabel(k)).append(' ')
                .append(Html.num(100 * v)).append('%'));
        Object resample = r.config == null ? null : r.config.get("resampleEvery");
        ev.append(". Dead latents were ").append(resample == null || "0".equals(resample.toString()) ? "not resampled"
                : "resampled every " + resample + " steps in the first half of training (Anthropic 2023; cfg.json's \"resampled\" counts them)");
        com.google.gson.JsonElement auxK = r.config == null ? null : r.config.get("auxK");
        if (auxK != null && auxK.isJsonPrimitive() && auxK.getAsJsonPrimitive().isNumber() && auxK.getAsDouble() > 0)
            ev.append("; the TopK SAEs trained with AuxK at coefficient ").append(Html.num(auxK.getAsDouble())).append(" (Gao et al. 2024: dead latents,"
                    + " those silent over a pass of the training tokens, learn to reconstruct the residual)");
        ev.append(over.isEmpty() ? "." : ". Over the limit: " + String.join(", ", over) + ".");
        return new Finding(claim, over.isEmpty(), ev.toString(), SAE_TABLE);
    }
}
