package io.sae4j.study;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.sae4j.harvest.HarvestModel;
import io.sae4j.backend.VectorSet;
import io.sae4j.io.NpyReader;
import io.sae4j.io.SaeLensFormat;
import io.sae4j.metrics.ActivationCorrelation;
import io.sae4j.metrics.ActivationPass;
import io.sae4j.metrics.DecoderSimilarity;
import io.sae4j.metrics.FeatureActivity;
import io.sae4j.metrics.LatentMatching;
import io.sae4j.sae.SparseAutoencoder;
import io.sae4j.sae.TrainingRun;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The study's measurements: every SAE on the held-out tokens of its model and layer (half A), then
 * the comparisons (ratio sweep pairs, seeds, datasets, models, cross-layer and random-init
 * baselines), top-activating examples and matched pairs, as the results object the report reads.
 * Statistics and correlations stream over all held-out tokens ({@link ActivationPass}); examples
 * come from the first {@link #EXAMPLE_TOKENS} of them.
 */
final class Evaluation {
    static final double THRESHOLD = 0.7;
    /** Held-out tokens whose dense latents are kept for the top-activating examples. */
    static final int EXAMPLE_TOKENS = 8192;
    /** The comparisons of the matched-sparsity sweep (the report's findings read this kind). */
    static final String MATCHED_KIND = "ratio_matched_l0";
    private final Study study;
    private final Map<String, SparseAutoencoder> models = new LinkedHashMap<>();
    private final Map<String, FeatureActivity> acts = new LinkedHashMap<>(); // examples' tokens
    private final Map<String, ActivationPass.Side> stats = new LinkedHashMap<>(); // all held-out tokens
    private final Map<String, NpyReader> readers = new LinkedHashMap<>(); // held-out activations per model/layer

    Evaluation(Study study) {
        this.study = study;
    }

    JsonObject evaluate(HarvestModel main, long s0) throws IOException {
        StudyConfig c = study.config();
        Map<String, float[]> heldout = new LinkedHashMap<>();
        JsonArray saes = new JsonArray(), comparisons = new JsonArray();
        try {
            study.log("evaluate " + study.saes().size() + " SAEs on " + c.heldoutTokens() + " held-out tokens");
            int exampleTokens = Math.min(EXAMPLE_TOKENS, c.heldoutTokens());
            for (Study.Sae s : study.saes().values()) {
                String key = s.model().key() + "/" + s.layer();
                float[] x = heldout.containsKey(key) ? heldout.get(key) : study.heldout(s.model(), s.layer(), exampleTokens);
                heldout.put(key, x);
                study.log("evaluate " + (models.size() + 1) + "/" + study.saes().size() + ": " + s.name());
                SparseAutoencoder m = study.load(s);
                models.put(s.name(), m);
                acts.put(s.name(), FeatureActivity.measure(m, x, exampleTokens, "held-out " + key));
                stats.put(s.name(), ActivationPass.measure(input(s, m), c.heldoutTokens(), "held-out " + key));
                saes.add(saeEntry(s));
            }
            Study.Sae ref = find(main, c.layer(), c.ratio(), s0, "A");
            // ratio sweep: every pair, smaller first
            List<Study.Sae> sweep = study.saes().values().stream()
                    .filter(s -> s.group().equals("main") && s.seed() == s0).sorted(Comparator.comparingInt(Study.Sae::ratio)).toList();
            for (int i = 0; i < sweep.size(); i++)
                for (int j = i + 1; j < sweep.size(); j++) comparisons.add(compare("ratio", sweep.get(i), sweep.get(j)));
            // every pair of seeds at the main ratio: the spread of seed-to-seed agreement needs more than one pair
            List<Study.Sae> seeds = study.saes().values().stream()
                    .filter(s -> s.group().equals("main") && s.ratio() == c.ratio()).sorted(Comparator.comparingLong(Study.Sae::seed)).toList();
            Map<String, SparseAutoencoder> atMid = new LinkedHashMap<>(); // each seed's SAE at 75% of training, read once
            try {
                for (Study.Sae s : seeds) atMid.put(s.name(), study.loadAtMidStep(s));
                for (int i = 0; i < seeds.size(); i++)
                    for (int j = i + 1; j < seeds.size(); j++) {
                        JsonObject cmp = compare("seed", seeds.get(i), seeds.get(j));
                        addMidTraining(cmp, atMid.get(seeds.get(i).name()), atMid.get(seeds.get(j).name()));
                        comparisons.add(cmp);
                    }
            } finally {
                atMid.values().stream().filter(Objects::nonNull).forEach(SparseAutoencoder::close);
            }
            // the matched-sparsity sweep: every pair, smaller first (decoder matching only, as for the random baseline)
            List<Study.Sae> matched = study.saes().values().stream().filter(s -> s.group().equals(Study.MATCHED_GROUP))
                    .sorted(Comparator.comparingInt(Study.Sae::ratio)).toList();
            for (int i = 0; i < matched.size(); i++)
                for (int j = i + 1; j < matched.size(); j++) comparisons.add(compare(MATCHED_KIND, matched.get(i), matched.get(j)));
            for (Study.Sae s : study.saes().values()) {
                if (s == ref) continue;
                if (s.group().startsWith("dataset-")) comparisons.add(compare("dataset", ref, s)); // WordNet B, Europarl
                if (s.group().startsWith("layer-")) { // the layer sweep, which is also the cross-layer baseline
                    comparisons.add(compare("layer", ref, s));
                    JsonObject base = comparisons.get(comparisons.size() - 1).getAsJsonObject().deepCopy();
                    base.addProperty("kind", "cross_layer");
                    comparisons.add(base);
                }
                if (s.group().startsWith("model-")) {
                    JsonObject cmp = compare("model", ref, s);
                    if (!sameTokens(ref.model(), s.model())) // rows are different tokens: r means nothing
                        for (String k : new String[] {"corr_ab", "corr_ba"}) cmp.add(k, JsonNull.INSTANCE);
                    comparisons.add(cmp);
                }
            }
            study.log("compare: " + comparisons.size() + " pairs done; random-init baselines next");
            for (Study.Sae s : sweep) comparisons.add(randomBaseline(s));

            JsonObject results = new JsonObject();
            results.addProperty("title", "sae4j universality study");
            results.addProperty("created", Instant.now().toString());
            results.addProperty("machine", study.backend().describe());
            results.add("config", JsonParser.parseString(c.toJson()));
            results.add("saes", saes);
            results.add("comparisons", comparisons);
            Examples ex = new Examples(study, models, acts);
            results.add("top_features", ex.topFeatures(ref, 6));
            JsonArray pairs = new JsonArray();
            study.saes().values().stream().filter(s -> s.group().equals("main") && s.ratio() == c.ratio() && s.seed() != s0)
                    .findFirst().ifPresent(s -> pairs.addAll(ex.matchedPairs("seed", ref, s, 3)));
            study.saes().values().stream().filter(s -> s.group().startsWith("model-")).findFirst()
                    .ifPresent(s -> pairs.addAll(ex.matchedPairs("model", ref, s, 3)));
            results.add("matched_pairs", pairs);
            return results;
        } finally {
            acts.values().forEach(FeatureActivity::close);
            models.values().forEach(SparseAutoencoder::close);
            for (NpyReader r : readers.values()) r.close();
        }
    }

    /** An SAE with its held-out activations, read in blocks from the harvest (opened once per model and layer). */
    private ActivationPass.Input input(Study.Sae s, SparseAutoencoder m) throws IOException {
        String key = s.model().key() + "/" + s.layer();
        NpyReader r = readers.get(key);
        if (r == null) {
            r = study.heldoutReader(s.model(), s.layer());
            readers.put(key, r);
        }
        NpyReader reader = r;
        long start = study.heldoutStart(s.model());
        return new ActivationPass.Input(m, (first, count, into) -> reader.read(start + first, count, into, 0));
    }

    private boolean sameTokens(HarvestModel a, HarvestModel b) throws IOException {
        return Arrays.equals(study.tokens(a).id, study.tokens(b).id);
    }

    private Study.Sae find(HarvestModel m, int layer, int ratio, long seed, String dataset) {
        return study.saes().values().stream()
                .filter(s -> s.model().key().equals(m.key()) && s.layer() == layer && s.ratio() == ratio && s.seed() == seed
                        && s.dataset().equals(dataset))
                .findFirst().orElseThrow(() -> new IllegalStateException("no SAE " + m.key() + " L" + layer + " r" + ratio));
    }

    private JsonObject saeEntry(Study.Sae s) throws IOException {
        ActivationPass.Side a = stats.get(s.name());
        SparseAutoencoder m = models.get(s.name());
        JsonObject o = new JsonObject();
        o.addProperty("name", s.name());
        o.addProperty("model", s.model().displayName());
        o.addProperty("layer", s.layer());
        o.addProperty("site", study.config().site());
        o.addProperty("ratio", s.ratio());
        o.addProperty("seed", s.seed());
        o.addProperty("dataset", s.dataset());
        o.addProperty("d_in", m.dIn());
        o.addProperty("d_sae", m.dSae());
        num(o, "mse", a.mse());
        num(o, "fvu", a.fvu());
        num(o, "l0", a.l0());
        num(o, "dead_fraction", (double) a.dead() / m.dSae());
        o.addProperty("eval_tokens", study.config().heldoutTokens());
        JsonObject hist = new JsonObject();
        hist.addProperty("lo", -6.0);
        hist.addProperty("hi", 0.0);
        JsonArray counts = new JsonArray();
        for (int v : FeatureActivity.log10Histogram(a.frequency(), -6, 0, 24)) counts.add(v);
        hist.add("counts", counts);
        o.add("log10_freq_hist", hist);
        double[] live = Arrays.stream(a.frequency()).filter(f -> f > 0).map(Math::log10).sorted().toArray();
        num(o, "median_log10_freq", live.length > 0 ? live[live.length / 2] : Double.NaN);
        o.add("training", trainingCurve(s));
        return o;
    }

    private JsonArray trainingCurve(Study.Sae s) throws IOException {
        JsonArray rows = new JsonArray();
        Path log = study.out().resolve("saes").resolve(s.group()).resolve(TrainingRun.LOG);
        if (!Files.exists(log)) return rows;
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        // step,tokens,sae,name,lr,l1_coefficient,loss,mse,l1,l0,fvu,dead_fraction
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",");
            if (f.length < 12 || !f[3].equals(s.name())) continue;
            JsonObject r = new JsonObject();
            r.addProperty("step", Long.parseLong(f[0]));
            r.addProperty("tokens", Long.parseLong(f[1]));
            num(r, "loss", Double.parseDouble(f[6]));
            num(r, "mse", Double.parseDouble(f[7]));
            num(r, "l0", Double.parseDouble(f[9]));
            num(r, "fvu", Double.parseDouble(f[10]));
            num(r, "dead_fraction", Double.parseDouble(f[11]));
            rows.add(r);
        }
        return rows;
    }

    private JsonObject compare(String kind, Study.Sae a, Study.Sae b) throws IOException {
        SparseAutoencoder ma = models.get(a.name()), mb = models.get(b.name());
        return comparison(kind, a.name(), b.name(), input(a, ma), input(b, mb));
    }

    /** The pair's decoder MMCS at 75% of training (mmcs_ab_mid, mmcs_ba_mid), when both SAEs were written there (else null). */
    private static void addMidTraining(JsonObject cmp, SparseAutoencoder a, SparseAutoencoder b) {
        if (a == null || b == null) return;
        DecoderSimilarity.Mmcs m = DecoderSimilarity.mmcs(a, b);
        num(cmp, "mmcs_ab_mid", m.ab());
        num(cmp, "mmcs_ba_mid", m.ba());
    }

    private JsonObject randomBaseline(Study.Sae s) throws IOException {
        SparseAutoencoder m = models.get(s.name());
        try (SparseAutoencoder r = DecoderSimilarity.randomLike(m, 999_999)) {
            ActivationPass.Input in = input(s, m);
            return comparison("random", s.name(), "random-init(" + s.name() + ")", in, new ActivationPass.Input(r, in.rows()));
        }
    }

    /** A pair's comparison (see {@link #compute}), saved under comparisons/ and reused while the pair is unchanged. */
    private JsonObject comparison(String kind, String na, String nb, ActivationPass.Input ia, ActivationPass.Input ib)
            throws IOException {
        // a study that is run again (resumed, or with one more SAE) reuses comparisons of unchanged SAEs
        Path saved = study.out().resolve("comparisons").resolve((kind + "-" + na + "-" + nb).replaceAll("[^A-Za-z0-9._-]", "_") + ".json");
        String key = savedKey(kind, na, nb, ia.sae(), ib.sae());
        JsonObject done = readSaved(saved, key);
        if (done != null) {
            study.log("compare (" + kind + "): " + na + " with " + nb + ": saved");
            return done;
        }
        study.log("compare (" + kind + "): " + na + " with " + nb);
        JsonObject o = compute(kind, na, nb, ia, ib);
        JsonObject file = new JsonObject();
        file.addProperty("key", key);
        file.add("comparison", o);
        Files.createDirectories(saved.getParent());
        SaeLensFormat.writeAtomically(saved, file.toString());
        return o;
    }

    /** Bump when a comparison's keys or their meaning change: saved ones are then computed again. */
    private static final String SAVED_VERSION = "1";

    /** What a saved comparison was computed from: this code, the pair, the held-out token count, both SAEs' weights. */
    private String savedKey(String kind, String na, String nb, SparseAutoencoder a, SparseAutoencoder b) {
        MessageDigest sha = sha256();
        sha.update((SAVED_VERSION + "|" + kind + "|" + na + "|" + nb + "|" + study.config().heldoutTokens() + "|" + THRESHOLD)
                .getBytes(StandardCharsets.UTF_8));
        sha.update(weightsDigest(na, a));
        sha.update(weightsDigest(nb, b));
        return HexFormat.of().formatHex(sha.digest());
    }

    private final Map<String, byte[]> weightDigests = new LinkedHashMap<>();

    /** SHA-256 of an SAE's parameters, once per SAE name (a random baseline is a function of its SAE). */
    private byte[] weightsDigest(String name, SparseAutoencoder sae) {
        return weightDigests.computeIfAbsent(name, k -> {
            float[] p = sae.backend().download(sae.parameters());
            MessageDigest sha = sha256();
            ByteBuffer bytes = ByteBuffer.allocate(4 << 20).order(ByteOrder.LITTLE_ENDIAN); // 1M floats at a time
            for (int i = 0; i < p.length; i += 1 << 20) {
                int n = Math.min(1 << 20, p.length - i);
                bytes.clear();
                bytes.asFloatBuffer().put(p, i, n);
                bytes.limit(4 * n);
                sha.update(bytes);
            }
            return sha.digest();
        });
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }

    /** The saved comparison when it was computed from the same key; null (compute it again) otherwise, or if unreadable. */
    private static JsonObject readSaved(Path saved, String key) {
        if (!Files.isRegularFile(saved)) return null;
        try {
            JsonObject o = JsonParser.parseString(Files.readString(saved, StandardCharsets.UTF_8)).getAsJsonObject();
            return key.equals(o.get("key").getAsString()) ? o.getAsJsonObject("comparison") : null;
        } catch (IOException | RuntimeException e) {
            return null; // a damaged file costs a recomputation, nothing else
        }
    }

    /** Decoder agreement, and over all held-out tokens in one pass live-latent MMCS and the exact correlation. */
    private JsonObject compute(String kind, String na, String nb, ActivationPass.Input ia, ActivationPass.Input ib)
            throws IOException {
        SparseAutoencoder a = ia.sae(), b = ib.sae();
        ActivationPass pass = ActivationPass.run(ia, ib, study.config().heldoutTokens(), "held-out tokens", null);
        JsonObject o = new JsonObject();
        o.addProperty("kind", kind);
        o.addProperty("a", na);
        o.addProperty("b", nb);
        DecoderSimilarity.Mmcs m = DecoderSimilarity.mmcs(a, b);
        num(o, "mmcs_ab", m.ab());
        num(o, "mmcs_ba", m.ba());
        DecoderSimilarity.Mmcs live = a.dIn() != b.dIn() ? new DecoderSimilarity.Mmcs(Double.NaN, Double.NaN, null)
                : DecoderSimilarity.mmcsLive(a.backend(), a.decoderWeights(), a.dSae(), pass.a().live(), b.decoderWeights(),
                        b.dSae(), pass.b().live(), a.dIn());
        num(o, "mmcs_ab_live", live.ab());
        num(o, "mmcs_ba_live", live.ba());
        // Against a random-init SAE every cosine is near the noise floor, the hardest case for exact
        // matching (1:32 encoders: minutes): the baseline matches decoders only (enc+dec shared stays null).
        // So does the matched-sparsity sweep, whose findings rest on decoder MMCS: it keeps the study's time.
        LatentMatching h = kind.equals("random") || kind.equals(MATCHED_KIND)
                ? LatentMatching.of(a.backend(), VectorSet.rows(a.wDecBuf(), a.dSae(), a.dIn()),
                        VectorSet.rows(b.wDecBuf(), b.dSae(), b.dIn()), null, null, THRESHOLD)
                : LatentMatching.of(a, b, THRESHOLD);
        num(o, "hungarian_mean", h.hungarianMean());
        num(o, "shared_frac", h.sharedFrac());
        num(o, "pw_mcc", h.pwMcc());
        num(o, "shared_frac_encdec", h.sharedFracEncdec());
        o.addProperty("hungarian_certified", h.certified());
        num(o, "hungarian_gap", h.gap());
        JsonObject curve = new JsonObject();
        curve.add("thresholds", array(h.curveThresholds()));
        curve.add("decoder", array(h.curveDecoder()));
        curve.add("shared_encdec", array(h.curveShared()));
        o.add("threshold_curve", curve);
        ActivationCorrelation c = pass.correlation();
        num(o, "corr_ab", c.corrAB());
        num(o, "corr_ba", c.corrBA());
        o.addProperty("dead_a", c.deadA());
        o.addProperty("dead_b", c.deadB());
        return o;
    }

    private static JsonArray array(double[] v) {
        JsonArray a = new JsonArray();
        for (double x : v) {
            if (Double.isFinite(x)) a.add(x);
            else a.add(JsonNull.INSTANCE);
        }
        return a;
    }

    static void num(JsonObject o, String key, double v) {
        if (Double.isFinite(v)) o.addProperty(key, v);
        else o.add(key, JsonNull.INSTANCE);
    }
}
