package io.sae4j.study;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The universality study's settings (a JSON file; missing keys take the defaults below). The main
 * stream is {@code model} at {@code layer}, site {@code site}, WordNet half A: it gets the ratio
 * sweep and a second seed at {@code ratio}; the other streams (half B, the other layers, the other
 * models) get one SAE at {@code ratio}.
 *
 * @param model        main model key (minilm)
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
 * @param resampleEvery steps between resamplings of dead latents, in each group's first half (0 = never)
 * @param float16      store activations as float16
 */
public record StudyConfig(String model, String site, int layer, List<Integer> layers, List<Integer> ratios, int ratio,
                          List<Long> seeds, List<String> otherModels, long trainTokens, int heldoutTokens, long steps,
                          int batch, double l1, double lr, long resampleEvery, boolean float16) {
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    public static StudyConfig defaults() {
        return new StudyConfig("minilm", "mlp_out", 3, List.of(0, 1, 2, 3), List.of(1, 2, 4, 8, 16, 32), 8,
                List.of(42L, 43L, 44L), List.of("minilm-q", "bge-small"), 100_000, 65_536, 300, 2048, 2.5, 2e-3,
                // resampling off: on this study (every 25 steps) it left 48.8% of the 1:32 latents dead, not 13.5%
                0, false);
    }

    /** More tokens, steps and seeds: hours, not minutes. */
    public static StudyConfig full() {
        StudyConfig d = defaults();
        return new StudyConfig(d.model, d.site, d.layer, List.of(0, 1, 2, 3, 4, 5), d.ratios, d.ratio,
                // a WordNet half holds about 950k tokens: 800k train + held-out fit
                List.of(42L, 43L, 44L), d.otherModels, 800_000, 65_536, 2000, 4096, d.l1, 1e-3, 0, true);
    }

    /** Reads a config file over the defaults (or the full preset). */
    public static StudyConfig read(Path file, boolean fullPreset) throws IOException {
        StudyConfig base = fullPreset ? full() : defaults();
        try {
            com.google.gson.JsonObject merged = GSON.toJsonTree(base).getAsJsonObject();
            com.google.gson.JsonElement given = com.google.gson.JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
            if (!given.isJsonObject()) throw new IllegalArgumentException(file + ": expected a JSON object");
            for (var e : given.getAsJsonObject().entrySet()) {
                if (!merged.has(e.getKey()))
                    throw new IllegalArgumentException(file + ": unknown key '" + e.getKey() + "'; known: " + merged.keySet());
                merged.add(e.getKey(), e.getValue());
            }
            return GSON.fromJson(merged, StudyConfig.class).validated(file.toString());
        } catch (JsonParseException | NumberFormatException | IllegalStateException e) {
            throw new IllegalArgumentException(file + ": invalid study config: " + e.getMessage(), e);
        }
    }

    public StudyConfig validated(String what) {
        if (!layers.contains(layer)) throw new IllegalArgumentException(what + ": layers " + layers + " must include layer " + layer);
        if (layers.stream().distinct().count() != layers.size()) throw new IllegalArgumentException(what + ": layers repeat: " + layers);
        if (otherModels.contains(model) || otherModels.stream().distinct().count() != otherModels.size())
            throw new IllegalArgumentException(what + ": otherModels " + otherModels + " must be distinct and not the main model " + model);
        if (trainTokens + heldoutTokens > 900_000)
            throw new IllegalArgumentException(what + ": trainTokens + heldoutTokens must stay under 900k (a WordNet half has about 950k tokens)");
        if (ratios.isEmpty() || seeds.isEmpty()) throw new IllegalArgumentException(what + ": ratios and seeds must not be empty");
        if (ratios.stream().anyMatch(r -> r < 1)) throw new IllegalArgumentException(what + ": ratios must be >= 1");
        if (ratio < 1) throw new IllegalArgumentException(what + ": ratio must be >= 1");
        if (trainTokens < batch || heldoutTokens < 2 || steps < 1 || batch < 1)
            throw new IllegalArgumentException(what + ": need trainTokens >= batch >= 1, heldoutTokens >= 2, steps >= 1");
        if (!(l1 >= 0) || !(lr > 0)) throw new IllegalArgumentException(what + ": l1 must be >= 0 and lr > 0");
        if (resampleEvery < 0) throw new IllegalArgumentException(what + ": resampleEvery must be >= 0 steps (0 = never)");
        return this;
    }

    public String toJson() {
        return GSON.toJson(this);
    }
}
