package io.sae4j.metrics;

import io.sae4j.backend.Backend;
import io.sae4j.backend.Backends;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.VectorSet;
import io.sae4j.io.SaeFile;
import io.sae4j.sae.SparseAutoencoder;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * Everything {@code sae4j compare} reports, as one ordered map (the CLI prints it and writes it as
 * JSON): for two SAEs the pair's keys; for three or more every pair under "pairs" and the fraction
 * of the first SAE's latents matched above the threshold in every other one.
 * <p>Pair keys: mmcs_ab, mmcs_ba, hungarian_mean, shared_frac, threshold, pw_mcc,
 * shared_frac_encdec, hungarian_certified, hungarian_gap, threshold_curve; with activations also
 * mmcs_ab_live, mmcs_ba_live, corr_ab, corr_ba, dead_a, dead_b, l0_a, l0_b, fvu_a, fvu_b, tokens.
 */
public final class Comparison {
    private Comparison() {}

    /**
     * The activations the SAEs are run on: the first {@code tokens} rows that {@code rows} reads.
     * {@code progress} (may be null) receives the rows done over all pairs' passes so far (out of
     * tokens x pairs).
     */
    public record Activations(ActivationPass.Rows rows, long tokens, String what, LongConsumer progress) {
        public Activations {
            if (tokens < 2) throw new IllegalArgumentException(what + ": needs at least 2 rows, got " + tokens);
        }
    }

    /**
     * @param threshold   cosine at which a matched pair counts as shared (0.7 in the literature)
     * @param activations activations for the activation keys, or null for directions only
     * @param notes       receives one-line remarks (e.g. a pass moved to the CPU backend)
     */
    public record Options(double threshold, Activations activations, Consumer<String> notes) {
        public Options {
            if (!(threshold >= -1 && threshold <= 1)) throw new IllegalArgumentException("threshold must be in [-1, 1], got " + threshold);
            if (notes == null) notes = s -> {};
        }

        public static Options defaults() {
            return new Options(0.7, null, null);
        }

        public Options withActivations(Activations a) {
            return new Options(threshold, a, notes);
        }
    }

    /** Compares two or more SAEs of one d_in; {@code names} label them in the result for three or more. */
    public static Map<String, Object> of(Backend be, List<SaeFile> saes, List<String> names, Options options) throws IOException {
        if (saes.size() < 2) throw new IllegalArgumentException("compare needs two or more SAEs, got " + saes.size());
        if (names.size() != saes.size()) throw new IllegalArgumentException("one name per SAE");
        int d = saes.get(0).dIn();
        for (int i = 1; i < saes.size(); i++)
            if (saes.get(i).dIn() != d)
                throw new IllegalArgumentException(names.get(i) + " has d_in " + saes.get(i).dIn() + " but " + names.get(0)
                        + " has d_in " + d);
        List<FloatBuf> dec = new ArrayList<>(), enc = new ArrayList<>();
        try {
            for (SaeFile f : saes) {
                dec.add(be.upload(f.wDec()));
                enc.add(be.upload(f.wEnc()));
            }
            List<Map<String, Object>> pairs = new ArrayList<>();
            double[] lowest = null; // per latent of the first SAE: its lowest matched cosine over the others
            for (int x = 0; x < saes.size(); x++)
                for (int y = x + 1; y < saes.size(); y++) {
                    Map<String, Object> pair = new LinkedHashMap<>();
                    if (saes.size() > 2) {
                        pair.put("a", names.get(x));
                        pair.put("b", names.get(y));
                    }
                    LatentMatching m = directions(be, saes.get(x), dec.get(x), enc.get(x), saes.get(y), dec.get(y), enc.get(y),
                            options.threshold(), pair);
                    if (options.activations() != null) activations(be, saes.get(x), saes.get(y), options, pairs.size(), pair);
                    pairs.add(pair);
                    if (x == 0) lowest = lowest(lowest, m.decoderMatch().cosine());
                }
            if (saes.size() == 2) return pairs.get(0);
            Map<String, Object> res = new LinkedHashMap<>();
            res.put("saes", List.copyOf(names));
            res.put("threshold", options.threshold());
            int hits = 0;
            for (double c : lowest) if (c >= options.threshold()) hits++;
            res.put("matched_in_all_frac", (double) hits / lowest.length);
            res.put("pairs", pairs);
            return res;
        } finally {
            for (FloatBuf b : dec) b.close();
            for (FloatBuf b : enc) b.close();
        }
    }

    /** Decoder MMCS and the exact matchings of one pair into out; returns the matching. */
    private static LatentMatching directions(Backend be, SaeFile fa, FloatBuf decA, FloatBuf encA, SaeFile fb, FloatBuf decB,
                                             FloatBuf encB, double threshold, Map<String, Object> out) {
        int d = fa.dIn();
        DecoderSimilarity.Mmcs m = DecoderSimilarity.mmcs(be, decA, fa.dSae(), decB, fb.dSae(), d);
        out.put("mmcs_ab", m.ab());
        out.put("mmcs_ba", m.ba());
        // W_enc is (d_in, d_sae): each latent's encoder direction is a column
        LatentMatching h = LatentMatching.of(be, VectorSet.rows(decA, fa.dSae(), d), VectorSet.rows(decB, fb.dSae(), d),
                VectorSet.columns(encA, fa.dSae(), d), VectorSet.columns(encB, fb.dSae(), d), threshold);
        out.put("hungarian_mean", h.hungarianMean());
        out.put("shared_frac", h.sharedFrac());
        out.put("threshold", threshold);
        out.put("pw_mcc", h.pwMcc());
        out.put("shared_frac_encdec", h.sharedFracEncdec());
        out.put("hungarian_certified", h.certified());
        out.put("hungarian_gap", h.gap());
        Map<String, Object> curve = new LinkedHashMap<>();
        curve.put("thresholds", h.curveThresholds());
        curve.put("decoder", h.curveDecoder());
        curve.put("shared_encdec", h.curveShared());
        out.put("threshold_curve", curve);
        return h;
    }

    /** Element-wise minimum of the matched cosines (NaN, unmatched, counts as not reaching anything). */
    private static double[] lowest(double[] soFar, float[] cosine) {
        double[] out = soFar == null ? new double[cosine.length] : soFar;
        for (int i = 0; i < cosine.length; i++) {
            double c = Float.isNaN(cosine[i]) ? Double.NEGATIVE_INFINITY : cosine[i];
            out[i] = soFar == null ? c : Math.min(out[i], c);
        }
        return out;
    }

    /**
     * Activation keys of one pair in one streamed pass: live-latent MMCS, exact correlation both
     * ways, dead latents, L0 and FVU. On a backend without the exact correlation the pass runs on
     * the CPU backend (said through the notes).
     */
    private static void activations(Backend be, SaeFile fa, SaeFile fb, Options options, int pairIndex,
                                    Map<String, Object> res) throws IOException {
        Activations acts = options.activations();
        for (SaeFile f : List.of(fa, fb))
            if (f.forwardRefusal() != null) { // its directions are compared; its activations cannot be
                options.notes().accept("activation keys left out for " + f.source() + ": " + f.forwardRefusal());
                return;
            }
        long before = pairIndex * acts.tokens();
        LongConsumer progress = acts.progress() == null ? null : rows -> acts.progress().accept(before + rows);
        Backend on = be.supportsCoactivation() ? be : null;
        if (on == null) options.notes().accept(be.describe() + " has no exact correlation; the activation pass runs on the CPU");
        try (Backend cpu = on == null ? Backends.select("cpu").backend() : null;
             SparseAutoencoder sa = fa.toModel(on != null ? on : cpu); SparseAutoencoder sb = fb.toModel(on != null ? on : cpu)) {
            ActivationPass p = ActivationPass.run(sa, sb, acts.rows(), acts.tokens(), acts.what(), progress);
            DecoderSimilarity.Mmcs m = DecoderSimilarity.mmcsLive(be, fa.wDec(), fa.dSae(), p.a().live(), fb.wDec(), fb.dSae(),
                    p.b().live(), fa.dIn());
            res.put("mmcs_ab_live", m.ab());
            res.put("mmcs_ba_live", m.ba());
            res.put("corr_ab", p.correlation().corrAB());
            res.put("corr_ba", p.correlation().corrBA());
            res.put("dead_a", p.a().dead());
            res.put("dead_b", p.b().dead());
            res.put("l0_a", p.a().l0());
            res.put("l0_b", p.b().l0());
            res.put("fvu_a", p.a().fvu());
            res.put("fvu_b", p.b().fvu());
            res.put("tokens", acts.tokens());
        }
    }
}
