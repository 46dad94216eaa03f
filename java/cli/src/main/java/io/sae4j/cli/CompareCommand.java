package io.sae4j.cli;

import com.google.gson.GsonBuilder;
import io.sae4j.io.SaeFile;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.Backend;
import io.sae4j.backend.Backends;
import io.sae4j.backend.VectorSet;
import io.sae4j.io.NpyReader;
import io.sae4j.io.SaeFiles;
import io.sae4j.io.SaeLensFormat;
import io.sae4j.metrics.DecoderSimilarity;
import io.sae4j.metrics.ActivationPass;
import io.sae4j.metrics.LatentMatching;
import io.sae4j.sae.SparseAutoencoder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Compares SAE directories. Two: decoder MMCS both ways, exact one-to-one matching at any size
 * (signed: hungarian_mean, shared_frac; |cos|: pw_mcc; decoder and encoder: shared_frac_encdec;
 * hungarian_certified, hungarian_gap; threshold_curve) and, given activations, MMCS over live
 * latents, activation correlation, dead latents, L0 and FVU of each. Prints a table; --json writes
 * those keys (mmcs_ab, mmcs_ba, hungarian_mean, shared_frac, threshold, pw_mcc, shared_frac_encdec,
 * hungarian_certified, hungarian_gap, threshold_curve; with --acts mmcs_ab_live, mmcs_ba_live,
 * corr_ab, corr_ba, dead_a, dead_b, l0_a, l0_b, fvu_a, fvu_b, tokens). The activation metrics come
 * from one streamed pass over the tokens (exact correlation from the sparse latents), so memory
 * does not grow with --tokens. Three or more: the same keys for
 * every pair ("pairs") and the fraction of the first SAE's latents whose decoder match reaches the
 * threshold in every other SAE ("matched_in_all_frac").
 */
@Command(name = "compare", mixinStandardHelpOptions = true, description = "Compare two or more SAEs of any format sae4j reads (sae4j/SAELens, sparsify, dictionary_learning, OpenAI .pt).")
final class CompareCommand implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    DeviceOption device = new DeviceOption();

    @Parameters(arity = "2..*", description = "SAEs: directories (sae4j/SAELens, sparsify, dictionary_learning) or OpenAI .pt files.")
    List<Path> dirs;

    @Option(names = "--acts", description = "Activations .npy for live-latent MMCS, correlation, L0, FVU and dead latents.")
    Path acts;

    @Option(names = "--tokens", defaultValue = "65536", description = "Tokens of --acts to use, from its start, or 'all' "
            + "(default ${DEFAULT-VALUE}); streamed, so memory does not grow with it.")
    String tokens;

    @Option(names = "--threshold", defaultValue = "0.7", description = "Cosine at which a matched pair counts as shared (default ${DEFAULT-VALUE}).")
    double threshold;

    @Option(names = "--json", description = "Write the numbers to this JSON file.")
    Path json;

    @Option(names = "--truth", description = "Ground-truth features (features, d) .npy, e.g. from synth: also prints "
            + "each SAE's recovery (MMCS from the true features to its decoder rows); not part of the JSON.")
    Path truth;

    private Double recoveryA, recoveryB; // set by --truth (two SAEs)

    @Override
    public Integer call() throws Exception {
        if (!(threshold >= -1 && threshold <= 1)) throw new IllegalArgumentException("--threshold must be in [-1, 1], got " + threshold);
        List<SaeFile> files = new ArrayList<>();
        for (Path dir : dirs) {
            SaeFile f = SaeFiles.read(dir);
            if (!files.isEmpty() && f.dIn() != files.get(0).dIn())
                throw new IllegalArgumentException(dir + " has d_in " + f.dIn() + " but " + dirs.get(0) + " has d_in "
                        + files.get(0).dIn());
            files.add(f);
        }
        if (truth != null && files.size() != 2) throw new IllegalArgumentException("--truth needs exactly two SAEs, got " + files.size());
        int d = files.get(0).dIn();
        Map<String, Object> res = new LinkedHashMap<>();
        try (Backend be = device.open(); Resources live = new Resources()) {
            List<FloatBuf> dec = new ArrayList<>(), enc = new ArrayList<>();
            for (SaeFile f : files) {
                dec.add(live.add(be.upload(f.wDec())));
                enc.add(live.add(be.upload(f.wEnc())));
            }
            List<Map<String, Object>> pairs = new ArrayList<>();
            double[] bestInOthers = null; // per latent of the first SAE: the lowest matched cosine over the others
            for (int x = 0; x < files.size(); x++)
                for (int y = x + 1; y < files.size(); y++) {
                    Map<String, Object> pair = new LinkedHashMap<>();
                    if (files.size() > 2) {
                        pair.put("a", dirs.get(x).toString());
                        pair.put("b", dirs.get(y).toString());
                    }
                    LatentMatching match = pair(be, files.get(x), dec.get(x), enc.get(x), files.get(y), dec.get(y), enc.get(y),
                            d, pair);
                    if (acts != null) activations(be, files.get(x), files.get(y), d, pair);
                    pairs.add(pair);
                    if (x == 0) bestInOthers = lowest(bestInOthers, match.decoderMatch().cosine());
                }
            if (files.size() == 2) {
                res.putAll(pairs.get(0));
                if (truth != null) recovery(be, dec.get(0), files.get(0).dSae(), dec.get(1), files.get(1).dSae(), d);
            } else {
                res.put("saes", dirs.stream().map(Path::toString).toList());
                res.put("threshold", threshold);
                int hits = 0;
                for (double c : bestInOthers) if (c >= threshold) hits++;
                res.put("matched_in_all_frac", (double) hits / bestInOthers.length);
                res.put("pairs", pairs);
            }
        }
        print(res);
        if (json != null) {
            // strict JSON: an undefined number (e.g. correlation with every feature dead) is null
            SaeLensFormat.writeAtomically(json, new GsonBuilder().setPrettyPrinting().serializeNulls().create()
                    .toJson(strict(res)) + "\n");
        }
        return 0;
    }

    /** Decoder MMCS and the exact matchings of one pair into out; returns the matching. */
    private LatentMatching pair(Backend be, SaeFile fa, FloatBuf decA, FloatBuf encA, SaeFile fb,
            FloatBuf decB, FloatBuf encB, int d, Map<String, Object> out) {
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
    private static double[] lowest(double[] so_far, float[] cosine) {
        double[] out = so_far == null ? new double[cosine.length] : so_far;
        for (int i = 0; i < cosine.length; i++) {
            double c = Float.isNaN(cosine[i]) ? Double.NEGATIVE_INFINITY : cosine[i];
            out[i] = so_far == null ? c : Math.min(out[i], c);
        }
        return out;
    }

    /** The --tokens count for an activations file of `available` rows. */
    private long tokenCount(long available) {
        long n;
        if (tokens.equalsIgnoreCase("all")) n = available;
        else {
            try {
                n = Long.parseLong(tokens.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--tokens must be a whole number or 'all', got '" + tokens + "'");
            }
            if (n < 2) throw new IllegalArgumentException("--tokens must be >= 2 (or 'all'), got " + n);
        }
        return Math.min(n, available);
    }

    /**
     * Activation metrics of one pair over the tokens, in one streamed pass: live-latent MMCS, exact
     * correlation both ways, dead latents, L0 and FVU. On a backend without the exact correlation the
     * pass runs on the CPU backend.
     */
    private void activations(Backend be, SaeFile fa, SaeFile fb, int d, Map<String, Object> res)
            throws Exception {
        try (NpyReader r = NpyReader.open(acts)) {
            if (r.cols() != d) throw new IllegalArgumentException(acts + ": rows have width " + r.cols() + ", the SAEs d_in " + d);
            long n = tokenCount(r.rows());
            if (n < 2) throw new IllegalArgumentException(acts + ": needs at least 2 rows, has " + r.rows());
            Backend on = be.supportsCoactivation() ? be : null;
            if (on == null) System.err.println("sae4j compare: " + be.describe() + " has no exact correlation; the activation pass runs on the CPU");
            try (Backend cpu = on == null ? Backends.select("cpu").backend() : null;
                 SparseAutoencoder sa = fa.toModel(on != null ? on : cpu); SparseAutoencoder sb = fb.toModel(on != null ? on : cpu);
                 Progress bar = new Progress("activations", n, "tokens")) {
                ActivationPass p = ActivationPass.run(sa, sb, (start, count, into) -> r.read(start, count, into, 0), n,
                        acts.toString(), bar::update);
                DecoderSimilarity.Mmcs m = DecoderSimilarity.mmcsLive(be, fa.wDec(), fa.dSae(), p.a().live(), fb.wDec(), fb.dSae(),
                        p.b().live(), d);
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
                res.put("tokens", n);
            }
        }
    }

    /** The result with non-finite numbers (also inside arrays, maps and lists) as null. */
    private static Object strict(Object v) {
        if (v instanceof Double dv) return Double.isFinite(dv) ? dv : null;
        if (v instanceof double[] arr) {
            List<Object> out = new ArrayList<>();
            for (double x : arr) out.add(strict(x));
            return out;
        }
        if (v instanceof Map<?, ?> map) {
            Map<Object, Object> out = new LinkedHashMap<>();
            map.forEach((k, x) -> out.put(k, strict(x)));
            return out;
        }
        if (v instanceof List<?> list) return list.stream().map(CompareCommand::strict).toList();
        return v;
    }

    /** Closes what was added, last first. */
    private static final class Resources implements AutoCloseable {
        private final List<AutoCloseable> open = new ArrayList<>();

        <T extends AutoCloseable> T add(T r) {
            open.add(r);
            return r;
        }

        @Override
        public void close() throws Exception {
            for (int i = open.size() - 1; i >= 0; i--) open.get(i).close();
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
        if (res.containsKey("pairs")) {
            for (int i = 0; i < dirs.size(); i++) System.out.println((char) ('A' + Math.min(i, 25)) + ": " + dirs.get(i));
            System.out.printf(Locale.ROOT, "  latents of A matched at >= %.2f in every other SAE: %.4f%n", threshold,
                    (Double) res.get("matched_in_all_frac"));
            for (Object p : (List<?>) res.get("pairs")) {
                Map<?, ?> pair = (Map<?, ?>) p;
                System.out.println("pair " + pair.get("a") + " / " + pair.get("b") + ":");
                printKeys(pair);
            }
            return;
        }
        System.out.println("A: " + dirs.get(0));
        System.out.println("B: " + dirs.get(1));
        printKeys(res);
        if (recoveryA != null)
            System.out.printf(Locale.ROOT, "  ground-truth recovery (MMCS truth -> SAE): A %.4f, B %.4f%n", recoveryA, recoveryB);
    }

    private static void printKeys(Map<?, ?> res) {
        for (Map.Entry<?, ?> e : res.entrySet()) {
            Object v = e.getValue();
            if (e.getKey().equals("a") || e.getKey().equals("b")) continue;
            String s;
            if (v instanceof Double dv) s = String.format(Locale.ROOT, "%.4f", dv);
            else if (v instanceof Map<?, ?> curve) { // threshold_curve: one line per series
                double[] t = (double[]) curve.get("thresholds");
                StringBuilder b = new StringBuilder("at");
                for (double x : t) b.append(String.format(Locale.ROOT, " %.2f", x));
                for (String series : new String[] {"decoder", "shared_encdec"}) {
                    b.append(String.format(Locale.ROOT, "%n  %-16s %s", "  " + series, ""));
                    for (double x : (double[]) curve.get(series)) b.append(String.format(Locale.ROOT, " %.2f", x));
                }
                s = b.toString();
            } else s = String.valueOf(v);
            System.out.printf("  %-20s %s%n", e.getKey(), s);
        }
    }
}
