package io.sae4j.cli;

import com.google.gson.GsonBuilder;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.Backend;
import io.sae4j.io.NpyReader;
import io.sae4j.io.SaeLensFormat;
import io.sae4j.metrics.ActivationCorrelation;
import io.sae4j.metrics.DecoderSimilarity;
import io.sae4j.metrics.FeatureActivity;
import io.sae4j.metrics.Hungarian;
import io.sae4j.sae.SparseAutoencoder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Compares two SAE directories: decoder MMCS both ways, Hungarian matching and, given activations,
 * activation correlation, dead latents, L0 and FVU of each. Prints a table; --json writes exactly
 * the keys mmcs_ab, mmcs_ba, hungarian_mean, shared_frac, threshold (and with --acts corr_ab,
 * corr_ba, dead_a, dead_b, l0_a, l0_b, fvu_a, fvu_b).
 */
@Command(name = "compare", mixinStandardHelpOptions = true, description = "Compare two SAEs (SAELens directories).")
final class CompareCommand implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    DeviceOption device = new DeviceOption();

    @Parameters(index = "0", description = "SAE directory A.")
    Path a;

    @Parameters(index = "1", description = "SAE directory B.")
    Path b;

    @Option(names = "--acts", description = "Activations .npy for correlation, L0, FVU and dead latents.")
    Path acts;

    @Option(names = "--tokens", defaultValue = "8192", description = "Tokens of --acts to use, from its start (default ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--threshold", defaultValue = "0.7", description = "Cosine at which a matched pair counts as shared (default ${DEFAULT-VALUE}).")
    double threshold;

    @Option(names = "--json", description = "Write the numbers to this JSON file.")
    Path json;

    @Option(names = "--truth", description = "Ground-truth features (features, d) .npy, e.g. from synth: also prints "
            + "each SAE's recovery (MMCS from the true features to its decoder rows); not part of the JSON.")
    Path truth;

    private Double recoveryA, recoveryB; // set by --truth

    @Override
    public Integer call() throws Exception {
        if (!(threshold >= -1 && threshold <= 1)) throw new IllegalArgumentException("--threshold must be in [-1, 1], got " + threshold);
        SaeLensFormat.SaeFile fa = SaeLensFormat.read(a), fb = SaeLensFormat.read(b);
        if (fa.dIn() != fb.dIn())
            throw new IllegalArgumentException(a + " has d_in " + fa.dIn() + " but " + b + " has d_in " + fb.dIn());
        int d = fa.dIn();
        Map<String, Object> res = new LinkedHashMap<>();
        try (Backend be = device.open(); FloatBuf wa = be.upload(fa.wDec()); FloatBuf wb = be.upload(fb.wDec())) {
            DecoderSimilarity.Mmcs m = DecoderSimilarity.mmcs(be, wa, fa.dSae(), wb, fb.dSae(), d);
            res.put("mmcs_ab", m.ab());
            res.put("mmcs_ba", m.ba());
            if (Math.max(fa.dSae(), fb.dSae()) <= DecoderSimilarity.HUNGARIAN_MAX) {
                Hungarian.Result h = DecoderSimilarity.hungarian(be, wa, fa.dSae(), wb, fb.dSae(), d, threshold);
                res.put("hungarian_mean", h.meanMatched());
                res.put("shared_frac", h.fractionAtLeast());
            } else {
                System.err.println("sae4j compare: Hungarian matching skipped: more than " + DecoderSimilarity.HUNGARIAN_MAX
                        + " latents a side (null in JSON)");
                res.put("hungarian_mean", null);
                res.put("shared_frac", null);
            }
            res.put("threshold", threshold);
            if (acts != null) activations(be, fa, fb, d, res);
            if (truth != null) recovery(be, wa, fa.dSae(), wb, fb.dSae(), d);
        }
        print(res);
        if (json != null) {
            // strict JSON: an undefined number (e.g. correlation with every feature dead) is null
            res.replaceAll((k, v) -> v instanceof Double dv && !Double.isFinite(dv) ? null : v);
            SaeLensFormat.writeAtomically(json, new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(res) + "\n");
        }
        return 0;
    }

    private void activations(Backend be, SaeLensFormat.SaeFile fa, SaeLensFormat.SaeFile fb, int d,
                             Map<String, Object> res) throws Exception {
        float[] x;
        int n;
        try (NpyReader r = NpyReader.open(acts)) {
            if (r.cols() != d) throw new IllegalArgumentException(acts + ": rows have width " + r.cols() + ", the SAEs d_in " + d);
            if (tokens < 2) throw new IllegalArgumentException("--tokens must be >= 2, got " + tokens);
            n = (int) Math.min(tokens, r.rows());
            if ((long) n * d > Integer.MAX_VALUE - 8)
                throw new IllegalArgumentException("--tokens " + n + " x d_in " + d + " exceeds one Java array; use fewer tokens");
            x = new float[n * d];
            r.read(0, n, x, 0);
        }
        try (SparseAutoencoder sa = fa.toModel(be); SparseAutoencoder sb = fb.toModel(be);
             FeatureActivity ta = FeatureActivity.measure(sa, x, n, acts.toString());
             FeatureActivity tb = FeatureActivity.measure(sb, x, n, acts.toString())) {
            ActivationCorrelation c = ActivationCorrelation.of(ta, tb);
            res.put("corr_ab", c.corrAB());
            res.put("corr_ba", c.corrBA());
            res.put("dead_a", c.deadA());
            res.put("dead_b", c.deadB());
            res.put("l0_a", ta.l0());
            res.put("l0_b", tb.l0());
            res.put("fvu_a", ta.fvu());
            res.put("fvu_b", tb.fvu());
        }
    }

    private void recovery(Backend be, FloatBuf wa, int ma, FloatBuf wb, int mb, int d) throws Exception {
        try (NpyReader r = NpyReader.open(truth)) {
            if (r.cols() != d) throw new IllegalArgumentException(truth + ": features have width " + r.cols() + ", the SAEs d_in " + d);
            if (r.rows() > Integer.MAX_VALUE / d) throw new IllegalArgumentException(truth + ": too many features");
            int n = (int) r.rows();
            try (FloatBuf t = be.upload(r.readAll())) {
                recoveryA = DecoderSimilarity.mmcs(be, t, n, wa, ma, d).ab();
                recoveryB = DecoderSimilarity.mmcs(be, t, n, wb, mb, d).ab();
            }
        }
    }

    private void print(Map<String, Object> res) {
        System.out.println("A: " + a);
        System.out.println("B: " + b);
        for (Map.Entry<String, Object> e : res.entrySet()) {
            Object v = e.getValue();
            String s = v instanceof Double dv ? String.format(Locale.ROOT, "%.4f", dv) : String.valueOf(v);
            System.out.printf("  %-16s %s%n", e.getKey(), s);
        }
        if (recoveryA != null)
            System.out.printf(Locale.ROOT, "  ground-truth recovery (MMCS truth -> SAE): A %.4f, B %.4f%n", recoveryA, recoveryB);
    }
}
