package io.sae4j.metrics;

import io.sae4j.backend.CosineMax;
import io.sae4j.backend.CosineMaxima;
import io.sae4j.backend.VectorSet;

/**
 * Activation correlation of two SAEs over the same tokens (DESIGN.md): Pearson r between feature
 * activation vectors f^A_i and f^B_j; corrAB = mean over A's live features of max_j r, corrBA the
 * same from B's side. Features that never fired in the sample are left out of the means and counted
 * in deadA / deadB; they are also skipped in the other side's maxima. Computed as the cosine of
 * centred columns by the blockwise kernel, so the m1 x m2 correlation matrix is never formed. (A
 * feature that fires on every token with one value has no defined r either: it is left out of the
 * means too, but not counted as dead.)
 */
public record ActivationCorrelation(double corrAB, double corrBA, int deadA, int deadB) {
    public static ActivationCorrelation of(FeatureActivity a, FeatureActivity b) {
        if (a.tokens() != b.tokens())
            throw new IllegalArgumentException("activations over different token counts: " + a.tokens() + " vs " + b.tokens());
        if (a.sae().backend() != b.sae().backend()) throw new IllegalArgumentException("SAEs must share one backend");
        int n = a.tokens(), m1 = a.sae().dSae(), m2 = b.sae().dSae();
        CosineMax c;
        try (CosineMaxima out = new CosineMaxima(a.sae().backend(), m1, m2)) {
            a.sae().backend().cosineMax(VectorSet.columns(a.latents(), m1, n), VectorSet.columns(b.latents(), m2, n),
                    true, out);
            c = out.toHost();
        }
        return new ActivationCorrelation(liveMean(c.rowMax(), a.frequency()), liveMean(c.colMax(), b.frequency()),
                a.dead(), b.dead());
    }

    private static double liveMean(float[] max, double[] freq) {
        double s = 0;
        int k = 0;
        for (int i = 0; i < max.length; i++)
            if (freq[i] > 0 && Float.isFinite(max[i])) {
                s += max[i];
                k++;
            }
        return k > 0 ? s / k : Double.NaN;
    }
}
