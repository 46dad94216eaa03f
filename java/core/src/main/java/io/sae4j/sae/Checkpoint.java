package io.sae4j.sae;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.sae4j.backend.Backend;
import io.sae4j.io.FormatException;
import io.sae4j.io.Safetensors;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A multi-SAE training run's state, so a killed run resumes where its last checkpoint left off:
 * {@code state.json} (step, the run's identity, each SAE's config and firing history) and one
 * {@code sae-<i>.safetensors} per SAE (flat parameters, Adam moments). Written into
 * {@code checkpoint.tmp/}, which then replaces {@code checkpoint/} by renames: at every instant one
 * complete checkpoint exists ({@code checkpoint/}, or {@code checkpoint.old/} between the renames).
 */
public final class Checkpoint {
    public static final int FORMAT_VERSION = 1;
    // an undefined figure (the FVU of an interval whose batches did not vary) is NaN in state.json
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create();

    private Checkpoint() {}

    /** Saves the trainer's state under {@code runDir}; {@code identity} describes the run's arguments. */
    public static void save(Trainer t, Path runDir, JsonObject identity) throws IOException {
        Path tmp = runDir.resolve("checkpoint.tmp");
        try {
            write(t, runDir, identity, tmp);
        } catch (IOException | RuntimeException e) {
            try {
                deleteTree(tmp); // no half-written checkpoint is left behind
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private static void write(Trainer t, Path runDir, JsonObject identity, Path tmp) throws IOException {
        Path cur = runDir.resolve("checkpoint"), old = runDir.resolve("checkpoint.old");
        deleteTree(tmp);
        Files.createDirectories(tmp);
        JsonObject state = new JsonObject();
        state.addProperty("format_version", FORMAT_VERSION);
        state.addProperty("step", t.step());
        state.add("identity", identity);
        List<Map<String, Object>> saes = new ArrayList<>();
        for (int i = 0; i < t.size(); i++) {
            SparseAutoencoder sae = t.sae(i);
            Trainer.SaeState st = t.state(i);
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("config", sae.config());
            s.put("last_fired", st.lastFired());
            s.put("resampled", st.resampled());
            s.put("l1_factor", st.l1Factor());
            saes.add(s);
            Map<String, Safetensors.Tensor> tensors = new LinkedHashMap<>();
            float[] p = sae.backend().download(sae.parameters());
            tensors.put("parameters", Safetensors.Tensor.of(p, p.length));
            tensors.put("adam_m1", Safetensors.Tensor.of(st.adamM1(), st.adamM1().length));
            tensors.put("adam_m2", Safetensors.Tensor.of(st.adamM2(), st.adamM2().length));
            Safetensors.write(tmp.resolve("sae-" + i + ".safetensors"), tensors);
        }
        state.add("saes", GSON.toJsonTree(saes));
        state.add("last_records", GSON.toJsonTree(t.lastRecords()));
        Files.writeString(tmp.resolve("state.json"), GSON.toJson(state), StandardCharsets.UTF_8);
        if (Files.exists(cur)) {
            deleteTree(old);
            Files.move(cur, old);
        }
        Files.move(tmp, cur);
        deleteTree(old);
    }

    /** The checkpoint directory to resume from, or null: {@code checkpoint/}, else {@code checkpoint.old/}. */
    public static Path find(Path runDir) {
        for (String name : new String[] {"checkpoint", "checkpoint.old"}) {
            Path p = runDir.resolve(name);
            if (Files.isRegularFile(p.resolve("state.json"))) return p;
        }
        return null;
    }

    /** The run identity a checkpoint was saved with. */
    public static JsonObject identity(Path checkpoint) throws IOException {
        return state(checkpoint).getAsJsonObject("identity");
    }

    /** The step a checkpoint was saved at. */
    public static long step(Path checkpoint) throws IOException {
        return state(checkpoint).get("step").getAsLong();
    }

    private static JsonObject state(Path checkpoint) throws IOException {
        Path f = checkpoint.resolve("state.json");
        try {
            JsonObject o = JsonParser.parseString(Files.readString(f, StandardCharsets.UTF_8)).getAsJsonObject();
            if (!o.has("format_version") || o.get("format_version").getAsInt() != FORMAT_VERSION)
                throw new FormatException(f, "unsupported checkpoint format_version " + o.get("format_version"));
            return o;
        } catch (JsonParseException | IllegalStateException e) {
            throw new FormatException(f, "invalid checkpoint state: " + e.getMessage(), e);
        }
    }

    /** Rebuilds the SAEs saved in a checkpoint on the backend, with their parameters. */
    public static List<SparseAutoencoder> loadSaes(Path checkpoint, Backend backend) throws IOException {
        JsonObject state = state(checkpoint);
        List<SparseAutoencoder> out = new ArrayList<>();
        var saes = state.getAsJsonArray("saes");
        for (int i = 0; i < saes.size(); i++) {
            SaeConfig c = GSON.fromJson(saes.get(i).getAsJsonObject().get("config"), SaeConfig.class);
            SparseAutoencoder sae = SparseAutoencoder.initialize(c, backend);
            Path f = checkpoint.resolve("sae-" + i + ".safetensors");
            float[] p = Safetensors.readTensor(f, "parameters").data();
            if (p.length != sae.parameters().length())
                throw new FormatException(f, "parameters hold " + p.length + " floats, config implies " + sae.parameters().length());
            sae.setParameters(p);
            out.add(sae);
        }
        return out;
    }

    /** Restores the optimiser state and step of a trainer built over {@link #loadSaes}'s SAEs. */
    public static void restore(Trainer t, Path checkpoint) throws IOException {
        JsonObject state = state(checkpoint);
        var saes = state.getAsJsonArray("saes");
        if (saes.size() != t.size())
            throw new FormatException(checkpoint.resolve("state.json"), "holds " + saes.size() + " SAEs, trainer has " + t.size());
        List<Trainer.SaeState> states = new ArrayList<>();
        for (int i = 0; i < saes.size(); i++) {
            Path f = checkpoint.resolve("sae-" + i + ".safetensors");
            Map<String, Safetensors.Tensor> ts = Safetensors.read(f).tensors();
            for (String k : new String[] {"adam_m1", "adam_m2"})
                if (!ts.containsKey(k)) throw new FormatException(f, "missing tensor " + k);
            JsonObject sae = saes.get(i).getAsJsonObject();
            // resampled and l1_factor are absent in checkpoints written before resampling and target L0 existed
            states.add(new Trainer.SaeState(ts.get("adam_m1").data(), ts.get("adam_m2").data(),
                    GSON.fromJson(sae.get("last_fired"), long[].class), sae.has("resampled") ? sae.get("resampled").getAsLong() : 0,
                    sae.has("l1_factor") ? sae.get("l1_factor").getAsDouble() : 1));
        }
        Trainer.Record[] records = state.has("last_records")
                ? GSON.fromJson(state.get("last_records"), Trainer.Record[].class) : new Trainer.Record[0];
        try {
            t.restore(state.get("step").getAsLong(), states, List.of(records));
        } catch (IllegalArgumentException | IllegalStateException | UnsupportedOperationException e) {
            throw new FormatException(checkpoint.resolve("state.json"), "does not fit this run: " + e.getMessage(), e);
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }
}
