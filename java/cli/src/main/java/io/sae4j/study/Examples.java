package io.sae4j.study;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.sae4j.backend.CosineMax;
import io.sae4j.metrics.DecoderSimilarity;
import io.sae4j.metrics.FeatureActivity;
import io.sae4j.sae.SparseAutoencoder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * What features mean: for chosen features of an SAE, the held-out tokens that activate them most,
 * each with its text around it; and for features matched across two SAEs (by decoder cosine), both
 * lists side by side. Features are chosen among those firing on 0.1%..10% of tokens (neither dead
 * nor dense), by mean activation when firing.
 */
final class Examples {
    static final int PER_FEATURE = 8, RADIUS = 50;
    private final Study study;
    private final Map<String, SparseAutoencoder> models;
    private final Map<String, FeatureActivity> acts;

    Examples(Study study, Map<String, SparseAutoencoder> models, Map<String, FeatureActivity> acts) {
        this.study = study;
        this.models = models;
        this.acts = acts;
    }

    private float[] latents(Study.Sae s) {
        FeatureActivity a = acts.get(s.name());
        return a.sae().backend().download(a.latents());
    }

    /** Feature indices worth showing, best first. */
    private List<Integer> interesting(Study.Sae s, float[] f) {
        int m = models.get(s.name()).dSae(), n = acts.get(s.name()).tokens();
        double[] freq = acts.get(s.name()).frequency();
        double[] meanWhenOn = new double[m];
        for (int t = 0; t < n; t++)
            for (int i = 0; i < m; i++) meanWhenOn[i] += f[t * m + i];
        return IntStream.range(0, m).filter(i -> freq[i] >= 1e-3 && freq[i] <= 0.1).boxed()
                .sorted(Comparator.comparingDouble(i -> -meanWhenOn[i] / (freq[i] * n))).toList();
    }

    private JsonArray examples(Study.Sae s, float[] f, int feature) {
        int m = models.get(s.name()).dSae(), n = acts.get(s.name()).tokens();
        TokenTable tt;
        long start;
        try {
            tt = study.tokens(s.model());
            start = study.heldoutStart(s.model());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Integer[] rows = IntStream.range(0, n).boxed().toArray(Integer[]::new);
        java.util.Arrays.sort(rows, (p, q) -> Float.compare(f[q * m + feature], f[p * m + feature]));
        JsonArray out = new JsonArray();
        for (int k = 0; k < Math.min(PER_FEATURE, n) && f[rows[k] * m + feature] > 0; k++) {
            int row = (int) (start + rows[k]);
            if (row >= tt.rows()) break;
            JsonObject e = new JsonObject();
            e.addProperty("context", tt.context(row, RADIUS));
            e.addProperty("token", tt.token[row]);
            e.addProperty("activation", f[rows[k] * m + feature]);
            out.add(e);
        }
        return out;
    }

    JsonArray topFeatures(Study.Sae s, int k) {
        float[] f = latents(s);
        double[] freq = acts.get(s.name()).frequency();
        JsonArray out = new JsonArray();
        List<Integer> chosen = interesting(s, f);
        for (int feature : chosen.subList(0, Math.min(k, chosen.size()))) {
            JsonObject o = new JsonObject();
            o.addProperty("sae", s.name());
            o.addProperty("feature", feature);
            o.addProperty("frequency", freq[feature]);
            JsonArray ex = examples(s, f, feature);
            o.addProperty("max_activation", ex.isEmpty() ? 0 : ex.get(0).getAsJsonObject().get("activation").getAsDouble());
            o.add("examples", ex);
            out.add(o);
        }
        return out;
    }

    /** The {@code k} interesting features of a with the highest decoder cosine to their best match in b. */
    JsonArray matchedPairs(String kind, Study.Sae a, Study.Sae b, int k) {
        float[] fa = latents(a), fb = latents(b);
        CosineMax c = DecoderSimilarity.mmcs(models.get(a.name()), models.get(b.name())).maxima();
        List<Integer> chosen = new ArrayList<>(interesting(a, fa));
        chosen.sort(Comparator.comparingDouble(i -> -c.rowMax()[i]));
        JsonArray out = new JsonArray();
        for (int i : chosen) {
            if (out.size() == k) break;
            JsonArray exA = examples(a, fa, i);
            java.util.Set<String> distinct = new java.util.HashSet<>();
            exA.forEach(e -> distinct.add(e.getAsJsonObject().get("token").getAsString()));
            if (distinct.size() < 3) continue; // one-token features ("," or ")") tell a reader little
            JsonObject o = new JsonObject();
            o.addProperty("kind", kind);
            o.addProperty("a", a.name());
            o.addProperty("b", b.name());
            o.addProperty("feature_a", i);
            o.addProperty("feature_b", c.rowArg()[i]);
            o.addProperty("cosine", c.rowMax()[i]);
            o.add("examples_a", exA);
            o.add("examples_b", examples(b, fb, c.rowArg()[i]));
            out.add(o);
        }
        return out;
    }
}
