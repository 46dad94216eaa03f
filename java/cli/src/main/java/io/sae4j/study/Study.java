package io.sae4j.study;

import com.google.gson.JsonObject;
import io.sae4j.backend.Backend;
import io.sae4j.data.Fingerprint;
import io.sae4j.data.NpyActivationSource;
import io.sae4j.harvest.Corpus;
import io.sae4j.harvest.HarvestModel;
import io.sae4j.harvest.HarvestSpec;
import io.sae4j.harvest.Harvester;
import io.sae4j.harvest.Manifest;
import io.sae4j.harvest.OnnxModelFiles;
import io.sae4j.harvest.TextFileCorpus;
import io.sae4j.harvest.TransformerModel;
import io.sae4j.io.NpyReader;
import io.sae4j.io.SaeLensFormat;
import io.sae4j.sae.SaeConfig;
import io.sae4j.sae.SparseAutoencoder;
import io.sae4j.sae.TrainConfig;
import io.sae4j.sae.Trainer;
import io.sae4j.sae.TrainingRun;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Runs the universality study of a {@link StudyConfig} in a directory: harvests (cached), trains
 * the SAEs of each activation stream in one pass (skipping finished ones), evaluates every SAE on
 * held-out tokens and every comparison, and returns the results object the report is made from.
 * The main model is a bundled one or the config's ONNX file; halves A and B are WordNet's or the
 * config's text file split in two ({@link TextFileCorpus#half}).
 * Layout: {@code acts/<model>-<dataset>/}, {@code saes/<group>/<sae>/}, {@code results.json}.
 */
public final class Study {
    /** Where progress goes: a label and a done/total callback per long stage. */
    public interface Progress {
        void stage(String label, long total, String unit);

        void update(long done);

        void note(String text);

        void end();
    }

    static final int HELDOUT_GAP = 512;
    /** The group (and name suffix) of the ratio sweep trained to the config's matchedL0. */
    static final String MATCHED_GROUP = "matched-l0";

    private final StudyConfig c;
    private final Path out;
    private final Backend be;
    private final Progress progress;
    private final Consumer<String> log;
    private final Map<String, Sae> saes = new LinkedHashMap<>();

    /** One trained SAE and where its data comes from. */
    record Sae(String name, String group, HarvestModel model, int layer, int ratio, long seed, String dataset) {}

    public Study(StudyConfig c, Path out, Backend be, Progress progress, Consumer<String> log) {
        this.c = c;
        this.out = out;
        this.be = be;
        this.progress = progress;
        this.log = log;
    }

    private String name(HarvestModel m, int layer, int ratio, long seed, String dataset) {
        return m.key() + "-L" + layer + "-" + c.site() + "-r" + ratio + "-s" + seed + "-" + dataset;
    }

    private Path acts(HarvestModel m, String dataset) {
        return out.resolve("acts").resolve(m.key() + "-" + dataset);
    }

    public JsonObject run() throws IOException {
        long t0 = System.nanoTime();
        TransformerModel.Site site = TransformerModel.Site.of(c.site());
        TextFileCorpus text = c.text() == null ? null
                : TextFileCorpus.read(Path.of(c.text()), c.textField() != null ? c.textField() : "text");
        HarvestModel main = mainModel(site);
        int smallest = dSae("ratio", c.ratio(), main.dModel()); // each ratio's SAE fits, checked before anything is harvested
        for (int r : c.ratios()) smallest = Math.min(smallest, dSae("ratios", r, main.dModel()));
        if (c.topK() && !be.supports(io.sae4j.backend.Activation.Kind.TOPK)) // before anything is harvested
            throw new IllegalArgumentException("k " + c.k() + ": the " + be.name() + " backend trains no TopK SAEs yet; run the study"
                    + " with --device cpu (or SAE4J_DEVICE=cpu)");
        if (c.auxK() > 0 && !be.supportsAuxK())
            throw new IllegalArgumentException("auxK " + c.auxK() + ": the " + be.name() + " backend has no AuxK yet; run the study"
                    + " with --device cpu (or SAE4J_DEVICE=cpu), or without auxK");
        if (c.topK() ? c.k() > smallest : c.matchedL0() > smallest) // before anything is harvested
            throw new IllegalArgumentException((c.topK() ? "k " + c.k() : "matchedL0 " + c.matchedL0()) + " exceeds the " + smallest
                    + " latents of the smallest ratio");
        Corpus halfA = text == null ? Corpus.bundled("A") : text.half("A"), halfB = text == null ? Corpus.bundled("B") : text.half("B");
        // held-out rows start at the first text boundary after the training rows: up to 512 tokens later
        long harvestTokens = c.trainTokens() + HELDOUT_GAP + c.heldoutTokens();
        log.accept(String.format("disk: up to %.0f MB for activations (twice that briefly while shards are joined)",
                diskEstimate(harvestTokens, main.dModel()) / 1e6));

        // 1. activations
        harvest(new HarvestSpec(main, site, c.layers(), halfA, harvestTokens, c.float16(), HarvestSpec.DEFAULT_SHARD_TOKENS));
        harvest(new HarvestSpec(main, site, List.of(c.layer()), halfB, harvestTokens, c.float16(), HarvestSpec.DEFAULT_SHARD_TOKENS));
        // the second corpus trains one SAE (held-out rows come from half A, as for every SAE)
        long europarlTokens = Math.min(c.trainTokens(), Harvester.EUROPARL_SURELY_AVAILABLE);
        harvest(new HarvestSpec(main, site, List.of(c.layer()), "europarl", europarlTokens, c.float16(),
                HarvestSpec.DEFAULT_SHARD_TOKENS));
        List<TransformerModel> others = c.otherModels().stream().map(TransformerModel::of).toList();
        for (TransformerModel m : others)
            harvest(new HarvestSpec(m, site, List.of(c.layer()), halfA, harvestTokens, c.float16(), HarvestSpec.DEFAULT_SHARD_TOKENS));

        // 2. SAEs: one group (one pass over one stream) per model, layer and dataset
        long s0 = c.seeds().get(0);
        List<Sae> mainGroup = new ArrayList<>();
        for (int r : c.ratios()) mainGroup.add(new Sae(name(main, c.layer(), r, s0, "A"), "main", main, c.layer(), r, s0, "A"));
        for (long s : c.seeds().subList(1, c.seeds().size()))
            mainGroup.add(new Sae(name(main, c.layer(), c.ratio(), s, "A"), "main", main, c.layer(), c.ratio(), s, "A"));
        if (!c.ratios().contains(c.ratio()))
            mainGroup.add(new Sae(name(main, c.layer(), c.ratio(), s0, "A"), "main", main, c.layer(), c.ratio(), s0, "A"));
        train("main", mainGroup);
        if (c.topK()) log.accept("TopK SAEs (k " + c.k() + "): the ratio sweep is at one L0 already; no matched-sparsity sweep");
        else if (c.matchedL0() > 0) { // the sweep again, each SAE's lambda adapted to one L0: comparisons at matched sparsity
            List<Sae> matched = new ArrayList<>();
            for (int r : c.ratios())
                matched.add(new Sae(name(main, c.layer(), r, s0, "A") + "-" + MATCHED_GROUP, MATCHED_GROUP, main, c.layer(), r, s0, "A"));
            train(MATCHED_GROUP, matched);
        }
        for (String dataset : List.of("B", "europarl"))
            train("dataset-" + dataset, List.of(new Sae(name(main, c.layer(), c.ratio(), s0, dataset), "dataset-" + dataset, main,
                    c.layer(), c.ratio(), s0, dataset)));
        for (int l : c.layers())
            if (l != c.layer())
                train("layer-" + l, List.of(new Sae(name(main, l, c.ratio(), s0, "A"), "layer-" + l, main, l, c.ratio(), s0, "A")));
        for (TransformerModel m : others)
            train("model-" + m.key, List.of(new Sae(name(m, c.layer(), c.ratio(), s0, "A"), "model-" + m.key, m, c.layer(), c.ratio(), s0, "A")));

        // 3. evaluation and comparisons
        Evaluation ev = new Evaluation(this);
        JsonObject results = ev.evaluate(main, s0);
        results.addProperty("wall_time_s", (System.nanoTime() - t0) / 1e9);
        return results;
    }

    /** The config's bundled model or ONNX file, its layers checked against those it has (in the graph, for a file). */
    private HarvestModel mainModel(TransformerModel.Site site) throws IOException {
        HarvestModel m = c.onnx() == null ? TransformerModel.of(c.model())
                : OnnxModelFiles.open(Path.of(c.onnx()), Path.of(c.tokenizer()), c.tensor(), site,
                        Runtime.getRuntime().availableProcessors());
        try {
            m.checkLayers(site, c.layers());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("layers " + c.layers() + ": " + e.getMessage(), e);
        }
        return m;
    }

    /**
     * Every SAE starts from its own random weights: the seed is mixed with model, layer, ratio and
     * dataset. (With one seed for all, a 1:1 SAE began as the first rows of the 1:2..1:32 ones and
     * the A/B, layer and model SAEs began identical, which inflated their agreement.) Two SAEs of
     * one stream and ratio differ only by the configured seed.
     */
    static long initSeed(Sae s) {
        String key = s.model().key() + "/" + s.layer() + "/" + s.ratio() + "/" + s.dataset();
        return s.seed() * 0x9E3779B97F4A7C15L ^ (long) key.hashCode() * 0xBF58476D1CE4E5B9L;
    }

    /** d_sae of a ratio (SaeConfig's overflow-safe rule and size limit), or an error naming the config key. */
    private static int dSae(String key, int ratio, int dModel) {
        try {
            return SaeConfig.dSaeFor(ratio, dModel);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + " " + ratio + " with d_model " + dModel + ": " + e.getMessage(), e);
        }
    }

    private void harvest(HarvestSpec spec) throws IOException {
        Path dir = acts(spec.model(), spec.dataset());
        Harvester h = new Harvester(spec, dir);
        log.accept(String.format("harvest %s layers %s dataset %s: %d tokens (%.0f MB) -> %s", spec.model().key(), spec.layers(),
                spec.dataset(), spec.tokens(), h.diskBytes() / 1e6, dir));
        if (java.nio.file.Files.exists(dir.resolve(Manifest.FILE)) && Manifest.read(dir).complete()) {
            h.run(done -> {}, 1); // checks the manifest matches this spec, then returns
            log.accept("harvest " + spec.model().key() + "-" + spec.dataset() + ": already harvested");
            return;
        }
        progress.stage("harvest " + spec.model().key() + "-" + spec.dataset(), spec.tokens(), "tokens");
        try {
            h.run(progress::update, Runtime.getRuntime().availableProcessors());
        } catch (IllegalArgumentException e) { // too few tokens in your text file, say: which config keys asked for them
            String asked = spec.dataset().equals("europarl") ? "trainTokens, at most " + Harvester.EUROPARL_SURELY_AVAILABLE
                    : "trainTokens + " + HELDOUT_GAP + " + heldoutTokens";
            throw new IllegalArgumentException("harvest " + spec.model().key() + "-" + spec.dataset() + " (" + asked + "): "
                    + e.getMessage(), e);
        }
        progress.end();
    }

    private void train(String group, List<Sae> members) throws IOException {
        Sae first = members.get(0);
        int d = first.model().dModel();
        List<String> names = new ArrayList<>();
        List<SaeConfig> cfgs = new ArrayList<>();
        for (Sae s : members) {
            saes.put(s.name(), s);
            names.add(s.name());
            SaeConfig.Builder b = SaeConfig.builder().setDIn(d).setRatio(s.ratio()).optSeed(initSeed(s));
            cfgs.add((c.topK() ? b.optTopK(c.k())
                    : b.optL1Coefficient(c.l1()).optTargetL0(group.equals(MATCHED_GROUP) ? c.matchedL0() : 0)).build());
        }
        // ten or more records per group: the matched sweep adapts its lambda at each
        int logEvery = (int) Math.max(1, Math.min(25, c.steps() / 10));
        TrainConfig tc = TrainConfig.builder().setSteps(c.steps()).optBatchSize(c.batch()).optLr(c.lr()).optLrDecayFraction(c.lrDecay())
                .optLogEvery(logEvery)
                .optCheckpointEvery(logEvery * Math.max(1, 100 / logEvery)).optResampleEvery(c.resampleEvery())
                .optAuxK(c.auxK()).optDeadWindowTokens(c.auxK() > 0 ? c.trainTokens() : TrainConfig.DEFAULT_DEAD_WINDOW).build();
        Path file = Manifest.layerFile(acts(first.model(), first.dataset()), first.layer());
        TrainingRun run = new TrainingRun(out.resolve("saes").resolve(group), names, cfgs, tc,
                out.relativize(file) + " first " + c.trainTokens() + " rows, " + Fingerprint.of(file).id());
        if (group.equals("main") && midStep(tc) > 0) run.snapshotAt(mainMidStep = midStep(tc)); // seed-pair MMCS there: a convergence check
        if (run.finished()) {
            log.accept("train " + group + ": already trained");
            return;
        }
        log.accept("train " + group + ": " + String.join(", ", names) + " (" + c.steps() + " steps x " + c.batch() + " tokens)");
        progress.stage("train " + group, c.steps(), "steps");
        try (NpyActivationSource src = new NpyActivationSource(file, 0, NpyActivationSource.DEFAULT_CHUNK_ROWS, c.trainTokens())) {
            run.run(be, src, new Trainer.Listener() {
                @Override
                public void record(List<Trainer.Record> records) {
                    Trainer.Record r = records.get(0);
                    progress.note(String.format("%s L0 %.1f fvu %.3f", names.get(0), r.l0(), r.fvu()));
                    progress.update(r.step());
                }
            });
        }
        progress.end();
    }

    // ---- accessors for Evaluation ----

    StudyConfig config() { return c; }
    Path out() { return out; }
    Backend backend() { return be; }
    Map<String, Sae> saes() { return saes; }
    void log(String s) { log.accept(s); }

    Path saeDir(Sae s) {
        return out.resolve("saes").resolve(s.group()).resolve(s.name());
    }

    /** The record step nearest 75% of training (0 when there is none before the end), where the convergence check looks. */
    static long midStep(TrainConfig tc) {
        long mid = Math.round(0.75 * tc.steps() / tc.logEvery()) * tc.logEvery();
        return mid > 0 && mid < tc.steps() ? mid : 0;
    }

    private long mainMidStep; // where the main group's SAEs were also written (0: nowhere)

    /** An SAE of group "main" as it was at {@link #midStep} of training, or null when that was not written. */
    SparseAutoencoder loadAtMidStep(Sae s) throws IOException {
        if (mainMidStep == 0) return null;
        Path dir = TrainingRun.snapshotDir(out.resolve("saes").resolve(s.group()), mainMidStep, s.name());
        return java.nio.file.Files.isRegularFile(dir.resolve(SaeLensFormat.CONFIG)) ? SaeLensFormat.read(dir).toModel(be) : null;
    }

    private long diskEstimate(long tokens, int d) {
        long per = c.float16() ? 2 : 4, layers = c.layers().size() + 1 + c.otherModels().size();
        return tokens * layers * d * per;
    }

    /**
     * First held-out row of a model's half-A harvest: the first row at or after trainTokens that
     * starts a new text, so no text has tokens both in training and in the held-out set.
     */
    long heldoutStart(HarvestModel m) throws IOException {
        TokenTable t = tokens(m);
        int r = (int) c.trainTokens();
        while (r < t.rows() && t.text[r] == t.text[(int) c.trainTokens() - 1]) r++;
        if (r + c.heldoutTokens() > t.rows())
            throw new IllegalStateException(m.key() + ": harvest too short for " + c.heldoutTokens() + " held-out tokens after row " + r);
        return r;
    }

    /** The first n held-out rows of a (model, layer) stream of half A (from {@link #heldoutStart}). */
    float[] heldout(HarvestModel m, int layer, int n) throws IOException {
        try (NpyReader r = heldoutReader(m, layer)) {
            float[] x = new float[Math.multiplyExact(n, r.cols())];
            r.read(heldoutStart(m), n, x, 0);
            return x;
        }
    }

    /** The half-A activations of a model's layer, for reading held-out rows in blocks; the caller closes it. */
    NpyReader heldoutReader(HarvestModel m, int layer) throws IOException {
        return NpyReader.open(Manifest.layerFile(acts(m, "A"), layer));
    }

    private final Map<String, TokenTable> tokenTables = new java.util.HashMap<>(); // by model key

    /** tokens.tsv and texts.txt of a model's half-A harvest, for examples (read once). */
    TokenTable tokens(HarvestModel m) throws IOException {
        TokenTable t = tokenTables.get(m.key());
        if (t == null) tokenTables.put(m.key(), t = TokenTable.read(acts(m, "A")));
        return t;
    }

    /** Loads an SAE directory written by {@link #train}. */
    SparseAutoencoder load(Sae s) throws IOException {
        return SaeLensFormat.read(saeDir(s)).toModel(be);
    }

}
