package io.sae4j.sae;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.sae4j.backend.Backend;
import io.sae4j.io.FormatException;
import io.sae4j.io.JsonNumbers;
import io.sae4j.io.Safetensors;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
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
        return State.read(checkpoint).identity();
    }

    /** The step a checkpoint was saved at. */
    public static long step(Path checkpoint) throws IOException {
        return State.read(checkpoint).step();
    }

    /** Rebuilds the SAEs saved in a checkpoint on the backend, with their parameters. */
    public static List<SparseAutoencoder> loadSaes(Path checkpoint, Backend backend) throws IOException {
        State state = State.read(checkpoint);
        List<SparseAutoencoder> out = new ArrayList<>();
        try {
            for (int i = 0; i < state.saes().size(); i++) {
                SaeConfig c = state.saes().get(i).config();
                Path f = checkpoint.resolve("sae-" + i + ".safetensors");
                float[] p = Safetensors.readTensor(f, "parameters").data();
                // checked before anything is allocated: a damaged config must not ask for gigabytes
                if (p.length != SparseAutoencoder.parameterCount(c))
                    throw new FormatException(f, "parameters hold " + p.length + " floats, the config in " + state.file() + " implies "
                            + SparseAutoencoder.parameterCount(c));
                SparseAutoencoder sae = SparseAutoencoder.initialize(c, backend);
                out.add(sae);
                sae.setParameters(p);
            }
        } catch (IOException | RuntimeException e) {
            for (SparseAutoencoder sae : out) sae.close();
            throw e;
        }
        return out;
    }

    /** Restores the optimiser state and step of a trainer built over {@link #loadSaes}'s SAEs. */
    public static void restore(Trainer t, Path checkpoint) throws IOException {
        State state = State.read(checkpoint);
        if (state.saes().size() != t.size())
            throw new FormatException(state.file(), "holds " + state.saes().size() + " SAEs, trainer has " + t.size());
        List<Trainer.SaeState> states = new ArrayList<>();
        for (int i = 0; i < state.saes().size(); i++) {
            Path f = checkpoint.resolve("sae-" + i + ".safetensors");
            Map<String, Safetensors.Tensor> ts = Safetensors.read(f).tensors();
            for (String k : new String[] {"adam_m1", "adam_m2"})
                if (!ts.containsKey(k)) throw new FormatException(f, "missing tensor " + k);
            SaeEntry sae = state.saes().get(i);
            states.add(new Trainer.SaeState(ts.get("adam_m1").data(), ts.get("adam_m2").data(), sae.lastFired(), sae.resampled(),
                    sae.l1Factor()));
        }
        try {
            t.restore(state.step(), states, List.of(state.records()));
        } catch (IllegalArgumentException | IllegalStateException | UnsupportedOperationException e) {
            throw new FormatException(state.file(), "does not fit this run: " + e.getMessage(), e);
        }
    }

    /** One SAE's entry in state.json. */
    private record SaeEntry(SaeConfig config, long[] lastFired, long resampled, double l1Factor) {}

    /** state.json, read and checked in one place: whatever is wrong in it is a FormatException naming it. */
    private record State(Path file, long step, JsonObject identity, List<SaeEntry> saes, Trainer.Record[] records) {
        static State read(Path checkpoint) throws IOException {
            Path f = checkpoint.resolve("state.json");
            try {
                JsonElement root = JsonParser.parseString(Files.readString(f, StandardCharsets.UTF_8));
                if (!root.isJsonObject()) throw new FormatException(f, "expected a JSON object");
                JsonObject o = root.getAsJsonObject();
                JsonElement version = o.get("format_version");
                if (version == null || !version.isJsonPrimitive() || !version.getAsJsonPrimitive().isNumber()
                        || version.getAsDouble() != FORMAT_VERSION)
                    throw new FormatException(f, "unsupported checkpoint format_version " + version + " (expected " + FORMAT_VERSION + ")");
                long step = wholeNumber(field(o, "step", f), "step", f);
                if (step < 0) throw new FormatException(f, "step " + step + " is negative");
                JsonElement identity = field(o, "identity", f);
                if (!identity.isJsonObject()) throw new FormatException(f, "identity is not an object");
                JsonElement saes = field(o, "saes", f);
                if (!saes.isJsonArray()) throw new FormatException(f, "saes is not a list");
                List<SaeEntry> entries = new ArrayList<>();
                for (JsonElement e : saes.getAsJsonArray()) {
                    if (!e.isJsonObject()) throw new FormatException(f, "an entry of saes is not an object");
                    JsonObject sae = e.getAsJsonObject();
                    SaeConfig config = config(field(sae, "config", f), f);
                    long[] lastFired = GSON.fromJson(field(sae, "last_fired", f), long[].class);
                    if (config == null || lastFired == null) throw new FormatException(f, "an SAE's config or last_fired is null");
                    // resampled and l1_factor are absent in checkpoints written before resampling and target L0 existed
                    entries.add(new SaeEntry(config, lastFired, sae.has("resampled") ? wholeNumber(sae.get("resampled"), "resampled", f) : 0,
                            sae.has("l1_factor") ? sae.get("l1_factor").getAsDouble() : 1));
                }
                Trainer.Record[] records = o.has("last_records") ? GSON.fromJson(o.get("last_records"), Trainer.Record[].class)
                        : new Trainer.Record[0];
                if (records == null || java.util.Arrays.asList(records).contains(null))
                    throw new FormatException(f, "last_records holds a null");
                return new State(f, step, identity.getAsJsonObject(), entries, records);
            } catch (CharacterCodingException e) {
                throw new FormatException(f, "not UTF-8 text", e);
            } catch (JsonParseException | IllegalStateException | UnsupportedOperationException | ClassCastException
                     | IllegalArgumentException e) {
                // wrong JSON types (Gson's getAs* on the wrong kind), or a config its own checks refuse
                throw new FormatException(f, "invalid checkpoint state: " + e.getMessage(), e);
            }
        }

        /** Gson builds the record through its constructor, whose checks it wraps in a bare RuntimeException. */
        private static SaeConfig config(JsonElement e, Path f) throws FormatException {
            try {
                return GSON.fromJson(e, SaeConfig.class);
            } catch (RuntimeException ex) {
                Throwable root = ex;
                while (root.getCause() != null) root = root.getCause();
                throw new FormatException(f, "an SAE's config: " + root.getMessage(), ex);
            }
        }

        /** A whole number that fits a long (see {@link JsonNumbers}: 1.5 is not read as 1). */
        private static long wholeNumber(JsonElement e, String key, Path f) throws FormatException {
            if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber())
                throw new FormatException(f, key + " " + e + " is not a number");
            return JsonNumbers.wholeNumber(e).orElseThrow(
                    () -> new FormatException(f, key + " " + e + " is not a whole number of at most 19 digits"));
        }

        private static JsonElement field(JsonObject o, String key, Path f) throws FormatException {
            JsonElement e = o.get(key);
            if (e == null || e.isJsonNull()) throw new FormatException(f, "missing " + key);
            return e;
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }
}
