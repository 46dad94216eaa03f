package io.sae4j.metrics;

import io.sae4j.backend.Backend;
import io.sae4j.backend.VectorSet;
import io.sae4j.sae.SparseAutoencoder;
import java.util.Arrays;

/**
 * One-to-one matching of two SAEs' latents (DESIGN.md, Metrics), exact at any size
 * ({@link ExactMatching}):
 *
 * @param hungarianMean mean decoder cosine of the matching maximising the summed signed cosine
 *     over the smaller side (as sae_overlap)
 * @param sharedFrac fraction of those pairs with cosine >= threshold
 * @param pwMcc mean |cos| of the matching maximising summed |cos| (PW-MCC, Song et al. 2025)
 * @param sharedFracEncdec fraction of the smaller side's latents whose decoder match and encoder
 *     match (two independent signed matchings) both reach the threshold; NaN without encoders
 * @param certified every matching was proven optimal for the float32 cosine matrices
 * @param gap largest proven bound on (optimal mean - found mean) over the matchings; 0 when certified
 * @param curveThresholds 0.05, 0.10, ..., 0.95; curveDecoder: sharedFrac at each; curveShared:
 *     sharedFracEncdec at each (NaN without encoders)
 * @param decoderMatch the signed decoder matching itself (a's latent -> b's, -1 where a is the larger side)
 */
public record LatentMatching(double hungarianMean, double sharedFrac, double pwMcc, double sharedFracEncdec,
        boolean certified, double gap, double threshold, double[] curveThresholds, double[] curveDecoder,
        double[] curveShared, ExactMatching.Matched decoderMatch) {

    /** Thresholds of the curve: 0.05 to 0.95 in steps of 0.05. */
    public static double[] thresholdGrid() {
        double[] t = new double[19];
        for (int i = 0; i < t.length; i++) t[i] = Math.round((i + 1) * 5) / 100.0;
        return t;
    }

    /** Decoder and encoder directions of both SAEs, which share a backend. */
    public static LatentMatching of(SparseAutoencoder a, SparseAutoencoder b, double threshold) {
        if (a.dIn() != b.dIn()) throw new IllegalArgumentException("SAEs have different d_in: " + a.dIn() + " vs " + b.dIn());
        if (a.backend() != b.backend()) throw new IllegalArgumentException("SAEs must share one backend");
        int d = a.dIn();
        return of(a.backend(), VectorSet.rows(a.wDecBuf(), a.dSae(), d), VectorSet.rows(b.wDecBuf(), b.dSae(), d),
                VectorSet.rows(a.wEncT(), a.dSae(), d), VectorSet.rows(b.wEncT(), b.dSae(), d), threshold);
    }

    /**
     * Decoder directions of a (n1) and b (n2); encoder directions (encA, encB, the same counts) may
     * be null, leaving sharedFracEncdec NaN.
     */
    public static LatentMatching of(Backend be, VectorSet decA, VectorSet decB, VectorSet encA, VectorSet encB,
            double threshold) {
        if (!(threshold >= -1 && threshold <= 1)) throw new IllegalArgumentException("threshold must be in [-1, 1], got " + threshold);
        if ((encA == null) != (encB == null)) throw new IllegalArgumentException("encoder directions: give both or neither");
        if (encA != null && (encA.count() != decA.count() || encB.count() != decB.count()))
            throw new IllegalArgumentException("encoder directions: " + encA.count() + " and " + encB.count()
                    + " vectors for " + decA.count() + " and " + decB.count() + " latents");
        ExactMatching dec = ExactMatching.of(be, decA, decB);
        ExactMatching.Matched signed = dec.solve(false), absolute = dec.solve(true);
        ExactMatching.Matched enc = encA == null ? null : ExactMatching.of(be, encA, encB).solve(false);
        double[] t = thresholdGrid(), curveDec = new double[t.length], curveShared = new double[t.length];
        for (int i = 0; i < t.length; i++) {
            curveDec[i] = signed.fractionAtLeast(t[i]);
            curveShared[i] = enc == null ? Double.NaN : bothAtLeast(signed, enc, (int) decB.count(), t[i]);
        }
        boolean certified = signed.certified() && absolute.certified() && (enc == null || enc.certified());
        double gap = Math.max(Math.max(signed.gap(), absolute.gap()), enc == null ? 0 : enc.gap());
        return new LatentMatching(signed.meanMatched(), signed.fractionAtLeast(threshold), absolute.meanMatched(),
                enc == null ? Double.NaN : bothAtLeast(signed, enc, (int) decB.count(), threshold), certified, gap, threshold,
                t, curveDec, curveShared, signed);
    }

    /**
     * Fraction of the smaller side's latents whose matches in both matchings reach t. Both
     * matchings cover the smaller side entirely; when a is the larger, b's latents are looked up
     * through the inverse of each matching.
     */
    static double bothAtLeast(ExactMatching.Matched dec, ExactMatching.Matched enc, int n2, double t) {
        int n1 = dec.rowToCol().length;
        if (n1 <= n2) {
            int hits = 0;
            for (int i = 0; i < n1; i++) if (dec.cosine()[i] >= t && enc.cosine()[i] >= t) hits++;
            return (double) hits / n1;
        }
        float[] decOfB = byColumn(dec, n2), encOfB = byColumn(enc, n2);
        int hits = 0;
        for (int j = 0; j < n2; j++) if (decOfB[j] >= t && encOfB[j] >= t) hits++;
        return (double) hits / n2;
    }

    private static float[] byColumn(ExactMatching.Matched m, int n2) {
        float[] c = new float[n2];
        Arrays.fill(c, Float.NaN);
        for (int i = 0; i < m.rowToCol().length; i++) if (m.rowToCol()[i] >= 0) c[m.rowToCol()[i]] = m.cosine()[i];
        return c;
    }
}
