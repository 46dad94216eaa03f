package io.sae4j.study;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import io.sae4j.harvest.TextFileCorpus;
import io.sae4j.io.JsonNumbers;
import io.sae4j.sae.TrainConfig;
import java.io.IOException;
import java.io.StringReader;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The universality study's settings (a JSON file; missing keys take the defaults below). The main
 * stream is {@code model} at {@code layer}, site {@code site}, WordNet half A: it gets the ratio
 * sweep and a second seed at {@code ratio}; the other streams (half B, the other layers, the other
 * models) get one SAE at {@code ratio}.
 * <p>Your own model and texts: {@code onnx} and {@code tokenizer} make the main model a BERT-family
 * ONNX export (then {@code model} and {@code otherModels}, which name bundled models, are not
 * given); {@code text} replaces WordNet's halves A and B by the file's documents split in two
 * (every other document). Europarl stays the shifted corpus. Null means the bundled one.
 *
 * @param model        main model key (minilm), or null with {@code onnx}
 * @param site         mlp_out or resid
 * @param layer        main layer
 * @param layers       layers for the cross-layer comparison (including {@code layer})
 * @param ratios       the ratio sweep on the main stream
 * @param ratio        the ratio of every other SAE
 * @param seeds        the main stream's seeds at {@code ratio} (first one also for the sweep)
 * @param otherModels  models compared with the main one at {@code layer} (same tokeniser, same d)
 * @param trainTokens  tokens harvested per stream for training
 * @param heldoutTokens tokens after those, for correlations, frequencies and examples
 * @param steps        optimiser steps per SAE group
 * @param batch        tokens per step
 * @param l1           L1 coefficient
 * @param lr           Adam learning rate
 * @param lrDecay      the final fraction of each group's steps over which the learning rate falls linearly towards 0
 * @param resampleEvery steps between resamplings of dead latents, in each group's first half (0 = never)
 * @param matchedL0    when > 0, the ratio sweep is trained a second time with lambda adapted to this L0
 *                     (the comparisons at matched sparsity); 0 leaves it out
 * @param float16      store activations as float16
 * @param onnx         your own BERT-family ONNX model as the main model (a path), or null
 * @param tokenizer    its HuggingFace tokenizer.json, with {@code onnx}
 * @param tensor       with {@code onnx}: the tensor to harvest, as harvest's --tensor (null: the BERT export's names)
 * @param text         your own texts for halves A and B (a path: one document a line, or .jsonl), or null for WordNet
 * @param textField    with a .jsonl {@code text}: the string field holding the document (null: "text")
 * @param k            when > 0, every SAE is TopK with this k (Gao et al. 2024) instead of ReLU with L1: the ratio
 *                     sweep is then at one L0 by construction, so {@code l1} and {@code matchedL0} do not apply
 *                     (no matched sweep is trained)
 * @param auxK         with {@code k}: the AuxK coefficient (Gao et al. 2024; 0 = off), with a latent dead once it has
 *                     not fired in {@code trainTokens} tokens (a pass over the training data)
 */
public record StudyConfig(String model, String site, int layer, List<Integer> layers, List<Integer> ratios, int ratio,
                          List<Long> seeds, List<String> otherModels, long trainTokens, int heldoutTokens, long steps,
                          int batch, double l1, double lr, double lrDecay, long resampleEvery, double matchedL0, boolean float16,
                          String onnx, String tokenizer, String tensor, String text, String textField, int k, double auxK) {
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();
    /** Every key a config file may give. */
    static final List<String> KEYS = Arrays.stream(StudyConfig.class.getRecordComponents()).map(RecordComponent::getName).toList();
    /** More training tokens than any corpus of this tool's scale (2^40): beyond it token sums could overflow. */
    static final long MAX_TOKENS = 1L << 40;
    /** Keys holding paths: relative ones in a config file are relative to its folder. */
    static final List<String> PATHS = List.of("onnx", "tokenizer", "text");

    /** The bundled model and corpus: no onnx, tokenizer, tensor, text or textField. */
    public StudyConfig(String model, String site, int layer, List<Integer> layers, List<Integer> ratios, int ratio,
                       List<Long> seeds, List<String> otherModels, long trainTokens, int heldoutTokens, long steps,
                       int batch, double l1, double lr, double lrDecay, long resampleEvery, double matchedL0, boolean float16) {
        this(model, site, layer, layers, ratios, ratio, seeds, otherModels, trainTokens, heldoutTokens, steps, batch, l1, lr,
                lrDecay, resampleEvery, matchedL0, float16, null, null, null, null, null, 0, 0);
    }

    public static StudyConfig defaults() {
        return new StudyConfig("minilm", "mlp_out", 3, List.of(0, 1, 2, 3), List.of(1, 2, 4, 8, 16, 32), 8,
                List.of(42L, 43L, 44L), List.of("minilm-q", "bge-small"), 100_000, 65_536,
                // 600 steps of 1024 tokens at lambda 1, lr 4e-3: 1.2% of the 1:32 latents dead on held-out tokens at FVU
                // 0.26, where 300 x 2048 at lambda 2.5, lr 2e-3 left 13.7% dead at FVU 0.43, and the whole study is faster
                // (benchmarks/RESULTS.md, "issue 12"); neither has stopped moving
                600, 1024, 1.0, 4e-3, TrainConfig.DEFAULT_LR_DECAY,
                // resampling off: on this study at the earlier defaults (every 25 steps) it left 48.8% of the 1:32 latents
                // dead, not 13.5%
                0, 32, false);
    }

    /** More tokens, steps and layers (0-5): hours, not minutes. */
    public static StudyConfig full() {
        StudyConfig d = defaults();
        return new StudyConfig(d.model, d.site, d.layer, List.of(0, 1, 2, 3, 4, 5), d.ratios, d.ratio,
                // a WordNet half holds about 950k tokens: 800k train + held-out fit
                List.of(42L, 43L, 44L), d.otherModels, 800_000, 65_536, 2000, 4096,
                // lambda 2.5 as before the defaults moved to 1.0: this preset at lambda 1 has not been measured
                2.5, 1e-3, d.lrDecay, 0, d.matchedL0, true);
    }

    /** Reads a config file over the defaults (or the full preset). */
    public static StudyConfig read(Path file, boolean fullPreset) throws IOException {
        return read(file, fullPreset, new JsonObject());
    }

    /**
     * The defaults (or the full preset), then a config file's keys (none when {@code file} is null;
     * its relative paths resolve against its folder), then {@code options} (keys of this record, from
     * the command line). Given onnx, model and otherModels (bundled models) default to none.
     */
    public static StudyConfig read(Path file, boolean fullPreset, JsonObject options) throws IOException {
        String what = file != null ? file.toString() : options.size() == 0 ? "defaults" : "study options";
        try {
            JsonObject given = new JsonObject();
            if (file != null) {
                String text = Files.readString(file, StandardCharsets.UTF_8);
                JsonElement json = JsonParser.parseString(text);
                if (!json.isJsonObject()) throw new IllegalArgumentException(file + ": expected a JSON object");
                rejectRepeatedKeys(text, file);
                Path folder = file.toAbsolutePath().getParent();
                for (var e : json.getAsJsonObject().entrySet()) {
                    if (!KEYS.contains(e.getKey()))
                        throw new IllegalArgumentException(file + ": unknown key '" + e.getKey() + "'; known: " + KEYS);
                    JsonElement v = e.getValue();
                    checkType(e.getKey(), v, file);
                    if (PATHS.contains(e.getKey()) && v.isJsonPrimitive() && !v.getAsString().isBlank())
                        v = new JsonPrimitive(folder.resolve(v.getAsString()).normalize().toString());
                    given.add(e.getKey(), v);
                }
            }
            options.entrySet().forEach(e -> given.add(e.getKey(), e.getValue()));
            if (given.has("k") && given.get("k").isJsonPrimitive() && given.get("k").getAsDouble() > 0)
                for (String unused : List.of("l1", "matchedL0"))
                    if (given.has(unused))
                        throw new IllegalArgumentException(what + ": " + unused + " is for ReLU SAEs; with k (TopK SAEs) it does not apply");
            JsonObject merged = GSON.toJsonTree(fullPreset ? full() : defaults()).getAsJsonObject();
            if (given.has("onnx") && !given.get("onnx").isJsonNull()) { // your own main model: no bundled ones unless given
                merged.remove("model");
                merged.add("otherModels", new JsonArray());
            }
            given.entrySet().forEach(e -> merged.add(e.getKey(), e.getValue()));
            return GSON.fromJson(merged, StudyConfig.class).validated(what);
        } catch (JsonParseException | NumberFormatException | IllegalStateException | InvalidPathException e) {
            // Gson's messages may start with an exception's class name, or give only a position
            String m = String.valueOf(e.getMessage()).replaceFirst("^(\\w+\\.)+\\w+(Exception|Error): ", "");
            throw new IllegalArgumentException(what + ": invalid study config: " + (m.startsWith("at line") || m.startsWith("Use JsonReader")
                    ? "malformed JSON " + m.substring(m.indexOf("at line") < 0 ? 0 : m.indexOf("at line")) : m), e);
        } catch (CharacterCodingException e) { // found by the fuzzer, as the null checks in validated
            throw new IllegalArgumentException(what + ": not UTF-8 text", e);
        }
    }

    /** A key given twice (JSON keeps the last silently). */
    private static void rejectRepeatedKeys(String text, Path file) throws IOException {
        try (JsonReader r = new JsonReader(new StringReader(text))) {
            r.setStrictness(Strictness.LENIENT); // as JsonParser, which has read this text already
            Set<String> seen = new HashSet<>();
            r.beginObject();
            while (r.hasNext()) {
                String name = r.nextName();
                if (!seen.add(name)) throw new IllegalArgumentException(file + ": key '" + name + "' is given twice");
                r.skipValue();
            }
        }
    }

    /** A key's JSON value against its type here: whole numbers where counts are meant (Gson reads 2.5 steps as 2). */
    private static void checkType(String key, JsonElement v, Path file) {
        RecordComponent rc = Arrays.stream(StudyConfig.class.getRecordComponents()).filter(c -> c.getName().equals(key))
                .findFirst().orElseThrow();
        Type t = rc.getGenericType();
        String problem = null;
        if (t == int.class || t == long.class) problem = wholeNumber(v, t == int.class) ? null : "a whole number";
        else if (t == double.class) problem = v.isJsonPrimitive() && v.getAsJsonPrimitive().isNumber() ? null : "a number";
        else if (t == boolean.class) problem = v.isJsonPrimitive() && v.getAsJsonPrimitive().isBoolean() ? null : "true or false";
        else if (t == String.class) problem = v.isJsonNull() || v.isJsonPrimitive() && v.getAsJsonPrimitive().isString() ? null : "a string";
        else if (t instanceof ParameterizedType p) {
            Type e = p.getActualTypeArguments()[0];
            boolean ok = v.isJsonArray();
            if (ok)
                for (JsonElement x : v.getAsJsonArray())
                    ok &= e == String.class ? x.isJsonPrimitive() && x.getAsJsonPrimitive().isString() : wholeNumber(x, e == Integer.class);
            problem = ok ? null : e == String.class ? "a list of strings" : "a list of whole numbers";
        }
        if (problem != null) throw new IllegalArgumentException(file + ": " + key + " must be " + problem + ", got " + v);
    }

    private static boolean wholeNumber(JsonElement v, boolean asInt) {
        return JsonNumbers.wholeNumber(v).stream().anyMatch(x -> !asInt || x == (int) x);
    }

    public StudyConfig validated(String what) {
        if (site == null) throw new IllegalArgumentException(what + ": site must be a string (mlp_out, resid)");
        String[] names = {"layers", "ratios", "seeds", "otherModels"};
        List<?>[] lists = {layers, ratios, seeds, otherModels};
        for (int q = 0; q < names.length; q++) // (List.of's contains(null) throws: a stream asks each element)
            if (lists[q] == null || lists[q].stream().anyMatch(Objects::isNull))
                throw new IllegalArgumentException(what + ": " + names[q] + " must be a list without nulls");
        validateOwnFiles(what);
        // names checked here, before anything is harvested or trained
        try {
            io.sae4j.harvest.TransformerModel.Site.of(site);
            if (model != null) io.sae4j.harvest.TransformerModel.of(model);
            otherModels.forEach(io.sae4j.harvest.TransformerModel::of);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
        }
        if (layers.stream().anyMatch(l -> l < 0) || layer < 0) throw new IllegalArgumentException(what + ": layers must be >= 0");
        if (steps > Long.MAX_VALUE / Math.max(1, batch))
            throw new IllegalArgumentException(what + ": steps x batch (" + steps + " x " + batch + ") overflows a token count");
        if (!layers.contains(layer)) throw new IllegalArgumentException(what + ": layers " + layers + " must include layer " + layer);
        if (layers.stream().distinct().count() != layers.size()) throw new IllegalArgumentException(what + ": layers repeat: " + layers);
        if (otherModels.contains(model) || otherModels.stream().distinct().count() != otherModels.size())
            throw new IllegalArgumentException(what + ": otherModels " + otherModels + " must be distinct and not the main model " + model);
        if (trainTokens > MAX_TOKENS) // (and no sum below overflows)
            throw new IllegalArgumentException(what + ": trainTokens " + trainTokens + " is over " + MAX_TOKENS);
        if (text == null && trainTokens + heldoutTokens > 900_000)
            throw new IllegalArgumentException(what + ": trainTokens + heldoutTokens must stay under 900k (a WordNet half has about 950k tokens)");
        if (ratios.isEmpty() || seeds.isEmpty()) throw new IllegalArgumentException(what + ": ratios and seeds must not be empty");
        if (ratios.stream().anyMatch(r -> r < 1)) throw new IllegalArgumentException(what + ": ratios must be >= 1");
        if (ratio < 1) throw new IllegalArgumentException(what + ": ratio must be >= 1");
        if (trainTokens < batch || heldoutTokens < 2 || steps < 1 || batch < 1)
            throw new IllegalArgumentException(what + ": need trainTokens >= batch >= 1, heldoutTokens >= 2, steps >= 1");
        if (!(l1 >= 0) || !(lr > 0)) throw new IllegalArgumentException(what + ": l1 must be >= 0 and lr > 0");
        if (!(lrDecay >= 0 && lrDecay <= 1)) throw new IllegalArgumentException(what + ": lrDecay must be in [0, 1], got " + lrDecay);
        if (resampleEvery < 0) throw new IllegalArgumentException(what + ": resampleEvery must be >= 0 steps (0 = never)");
        if (k < 0) throw new IllegalArgumentException(what + ": k must be >= 0 (0: ReLU SAEs with L1; > 0: TopK SAEs), got " + k);
        if (!(matchedL0 >= 0) || Double.isInfinite(matchedL0))
            throw new IllegalArgumentException(what + ": matchedL0 must be >= 0 (0 = no matched-sparsity sweep), got " + matchedL0);
        if (!(auxK >= 0) || Double.isInfinite(auxK))
            throw new IllegalArgumentException(what + ": auxK must be a number >= 0 (0 = off), got " + auxK);
        if (auxK > 0 && k == 0)
            throw new IllegalArgumentException(what + ": auxK is TopK training's loss on dead latents: give k too");
        // a latent is dead after trainTokens tokens without firing, and the list is read at the next step
        if (auxK > 0 && (steps - 1) * batch < trainTokens)
            throw new IllegalArgumentException(what + ": with auxK, (steps - 1) x batch (" + (steps - 1) + " x " + batch + ") must"
                    + " reach trainTokens (" + trainTokens + "): no latent counts as dead before a whole pass over the training data");
        return this;
    }

    /** The keys of your own model and texts; each message names the key and its command-line option. */
    private void validateOwnFiles(String what) {
        for (String[] kv : new String[][] {{"onnx", onnx}, {"tokenizer", tokenizer}, {"tensor", tensor}, {"text", text},
                {"textField", textField}})
            if (kv[1] != null && kv[1].isBlank()) throw new IllegalArgumentException(what + ": " + kv[0] + " is empty");
        if (onnx != null) {
            if (model != null)
                throw new IllegalArgumentException(what + ": give model (a bundled model, here " + model + ") or onnx (your own ONNX "
                        + "file, --onnx), not both");
            if (tokenizer == null)
                throw new IllegalArgumentException(what + ": onnx (--onnx) needs tokenizer (--tokenizer), the model's HuggingFace "
                        + "tokenizer.json");
            if (!otherModels.isEmpty())
                throw new IllegalArgumentException(what + ": otherModels " + otherModels + " compares bundled models with the main one;"
                        + " with onnx (your own model) it must be []");
        } else {
            if (model == null)
                throw new IllegalArgumentException(what + ": give model (minilm, minilm-q or bge-small) or onnx (your own ONNX file)");
            if (tokenizer != null || tensor != null)
                throw new IllegalArgumentException(what + ": " + (tokenizer != null ? "tokenizer (--tokenizer)" : "tensor (--tensor)")
                        + " goes with onnx (--onnx, your own model)");
        }
        if (textField != null && (text == null || !TextFileCorpus.isJsonLines(Path.of(text))))
            throw new IllegalArgumentException(what + ": textField (--text-field) goes with a .jsonl text file (text, --text)");
    }

    /** Whether the study trains TopK SAEs ({@code k} > 0). */
    public boolean topK() {
        return k > 0;
    }

    public String toJson() {
        return GSON.toJson(this);
    }
}
