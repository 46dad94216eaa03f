package io.sae4j.sae;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import io.sae4j.backend.Backend;
import io.sae4j.data.ActivationSource;
import io.sae4j.io.SaeLensFormat;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * A resumable multi-SAE training run in a directory: trains {@code configs} on one source, appends
 * every record to {@code train_log.csv}, checkpoints atomically (see {@link Checkpoint}) and finally
 * writes each SAE as a SAELens directory {@code <dir>/<name>/}. Started again with the same
 * arguments after a crash, it resumes from the last checkpoint; with different arguments it refuses.
 */
public final class TrainingRun {
    public static final String LOG = "train_log.csv";
    private static final Gson GSON = new Gson();

    private final Path dir;
    private final List<String> names;
    private final List<SaeConfig> configs;
    private final TrainConfig train;
    private final String dataIdentity;
    private final java.util.SortedSet<Long> snapshotSteps = new java.util.TreeSet<>(); // also write the SAEs at these steps

    public TrainingRun(Path dir, List<String> names, List<SaeConfig> configs, TrainConfig train, String dataIdentity) {
        if (names.size() != configs.size() || names.isEmpty())
            throw new IllegalArgumentException("need one name per SAE config, and at least one");
        if (names.stream().distinct().count() != names.size()) throw new IllegalArgumentException("SAE names repeat: " + names);
        this.dir = dir;
        this.names = List.copyOf(names);
        this.configs = List.copyOf(configs);
        this.train = train;
        this.dataIdentity = dataIdentity;
    }

    /**
     * Also writes every SAE as it is after each of these steps (multiples of the log interval; 0 and
     * the last step, whose SAEs are the run's own, are ignored), into {@code <dir>/at-step-<step>/<name>/}:
     * a convergence check compares them with the final ones. Not part of the run's identity (it
     * changes no weights), so a resumed run writes only those after its checkpoint's step.
     */
    public TrainingRun snapshotAt(long... steps) {
        for (long step : steps)
            if (step < 0 || step > train.steps() || (step > 0 && step % train.logEvery() != 0))
                throw new IllegalArgumentException("snapshot step " + step + " must be in 0.." + train.steps() + " and a multiple of the"
                        + " log interval " + train.logEvery());
        for (long step : steps)
            if (step > 0 && step < train.steps()) snapshotSteps.add(step);
        return this;
    }

    private void writeSnapshot(List<SparseAutoencoder> saes, long step) {
        for (int i = 0; i < saes.size(); i++) {
            Path to = snapshotDir(dir, step, names.get(i));
            try {
                SaeLensFormat.write(saes.get(i), to, Map.of("step", step));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(to + ": " + e.getMessage(), e);
            }
        }
    }

    /** Where {@link #snapshotAt} writes an SAE. */
    public static Path snapshotDir(Path runDir, long step, String name) {
        return runDir.resolve("at-step-" + step).resolve(name);
    }

    /**
     * What must match for a checkpoint to be resumed: the SAEs, the training config and the data.
     * Settings added after format 1 are left out at their off value, so runs saved before they
     * existed (which trained with them off) still match.
     */
    JsonObject identity() {
        JsonObject o = new JsonObject();
        o.add("names", GSON.toJsonTree(names));
        com.google.gson.JsonArray saes = GSON.toJsonTree(configs).getAsJsonArray();
        for (var s : saes) {
            dropIfZero(s.getAsJsonObject(), "targetL0");
            dropIfZero(s.getAsJsonObject(), "k");
        }
        if (configs.stream().anyMatch(c -> c.targetL0() > 0)) o.addProperty("lambdaController", Trainer.LAMBDA_CONTROLLER);
        o.add("saes", saes);
        JsonObject t = GSON.toJsonTree(train).getAsJsonObject();
        dropIfZero(t, "resampleEvery");
        if (!train.auxK()) t.remove("auxKLatents"); // changes nothing without AuxK
        dropIfZero(t, "auxKCoefficient");
        dropIfZero(t, "auxKLatents");
        o.add("train", t);
        o.addProperty("data", dataIdentity);
        return o;
    }

    private static void dropIfZero(JsonObject o, String key) {
        if (o.has(key) && o.get(key).getAsDouble() == 0) o.remove(key);
    }

    /**
     * True when this run finished earlier: the final checkpoint was saved by the same arguments and
     * every SAE's directory is complete (its cfg.json, written after the weights, exists). Throws
     * when the directory holds a different run's state.
     */
    public boolean finished() throws IOException {
        Path ckpt = Checkpoint.find(dir);
        if (ckpt != null) requireSameRun(ckpt);
        return ckpt != null && Checkpoint.step(ckpt) == train.steps()
                && names.stream().allMatch(n -> Files.isRegularFile(dir.resolve(n).resolve(SaeLensFormat.CONFIG)));
    }

    /**
     * The step a run of these arguments would resume from (its checkpoint's), or -1 when it starts
     * afresh; throws as {@link #finished} does when the directory holds another run.
     */
    public long resumeStep() throws IOException {
        Path ckpt = Checkpoint.find(dir);
        if (ckpt == null) return -1;
        requireSameRun(ckpt);
        return Checkpoint.step(ckpt);
    }

    /** When the checkpoint {@link #resumeStep} reads was written, or null without one. */
    public java.nio.file.attribute.FileTime checkpointTime() throws IOException {
        Path ckpt = Checkpoint.find(dir);
        return ckpt == null ? null : Files.getLastModifiedTime(ckpt.resolve("state.json"));
    }

    private void requireSameRun(Path ckpt) throws IOException {
        JsonObject saved = Checkpoint.identity(ckpt);
        // compared as parsed JSON, so that number representations do not matter
        JsonObject now = com.google.gson.JsonParser.parseString(identity().toString()).getAsJsonObject();
        if (Objects.equals(saved, now)) return;
        List<String> differ = new ArrayList<>();
        for (String key : now.keySet())
            if (!Objects.equals(saved.get(key), now.get(key))) differ.add(key);
        if (differ.equals(List.of("data")))
            throw new IllegalArgumentException(dir + " was trained on other data (then: " + saved.get("data").getAsString()
                    + "; now: " + dataIdentity + "); nothing was changed: use another output directory or delete it");
        throw new IllegalArgumentException(dir + " holds a checkpoint of a different run (" + String.join(", ", differ)
                + " differ; " + ckpt + "); nothing was changed: use another output directory or delete it");
    }

    /**
     * Trains (or resumes) and writes the SAE directories. {@code listener} sees every record as the
     * CSV does. Returns the last record of each SAE. A run that died after its final checkpoint
     * (while writing the directories) only writes them.
     */
    public List<Trainer.Record> run(Backend backend, ActivationSource source, Trainer.Listener listener) throws IOException {
        Files.createDirectories(dir);
        Path ckpt = Checkpoint.find(dir);
        List<SparseAutoencoder> saes;
        if (ckpt != null) {
            requireSameRun(ckpt);
            saes = Checkpoint.loadSaes(ckpt, backend);
        } else {
            saes = new ArrayList<>();
            for (SaeConfig c : configs) saes.add(SparseAutoencoder.initialize(c, backend));
        }
        List<Trainer.Record> last;
        try (Trainer trainer = new Trainer(saes, train);
             BufferedWriter log = openLog(ckpt != null ? Checkpoint.step(ckpt) : -1)) {
            if (ckpt != null) {
                Checkpoint.restore(trainer, ckpt);
                source.skip(trainer.step(), train.batchSize());
            }
            trainer.run(source, new Trainer.Listener() {
                @Override
                public void record(List<Trainer.Record> records) {
                    try {
                        for (Trainer.Record r : records) log.write(csv(r));
                        log.flush();
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(dir.resolve(LOG) + ": " + e.getMessage(), e);
                    }
                    listener.record(records);
                    long step = records.get(0).step();
                    if (snapshotSteps.contains(step)) writeSnapshot(saes, step);
                }

                @Override
                public void checkpoint(Trainer t) throws IOException {
                    Checkpoint.save(t, dir, identity());
                    listener.checkpoint(t);
                }
            });
            last = trainer.lastRecords();
            for (int i = 0; i < saes.size(); i++) {
                Trainer.Record r = last.get(i);
                Map<String, Object> rec = new LinkedHashMap<>();
                rec.put("name", names.get(i));
                rec.put("data", dataIdentity);
                rec.put("train", train);
                Map<String, Object> fin = new LinkedHashMap<>();
                fin.put("step", r.step());
                fin.put("mse", r.mse());
                fin.put("l0", r.l0());
                fin.put("fvu", Double.isFinite(r.fvu()) ? r.fvu() : null); // undefined when the data did not vary
                fin.put("dead_fraction", r.deadFraction());
                fin.put("resampled", trainer.resampled(i));
                fin.put("l1_coefficient", r.l1Coefficient()); // differs from the config's when it adapted to a target L0
                rec.put("final", fin);
                SaeLensFormat.write(saes.get(i), dir.resolve(names.get(i)), rec);
            }
        } finally {
            saes.forEach(SparseAutoencoder::close);
        }
        return last;
    }

    /**
     * Opens the CSV log: fresh, or when resuming from {@code resumeStep} (>= 0) kept up to that step,
     * dropping rows written after the checkpoint by the run that died (they will be written again).
     */
    private BufferedWriter openLog(long resumeStep) throws IOException {
        Path f = dir.resolve(LOG);
        String header = "step,tokens,sae,name,lr,l1_coefficient,loss,mse,l1,l0,fvu,dead_fraction";
        StringBuilder kept = new StringBuilder(header).append('\n');
        if (resumeStep >= 0 && Files.exists(f))
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                int comma = line.indexOf(',');
                if (comma > 0 && line.substring(0, comma).chars().allMatch(Character::isDigit)
                        && Long.parseLong(line.substring(0, comma)) <= resumeStep)
                    kept.append(line).append('\n');
            }
        SaeLensFormat.writeAtomically(f, kept.toString());
        return Files.newBufferedWriter(f, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    }

    private String csv(Trainer.Record r) {
        return String.format(Locale.ROOT, "%d,%d,%d,%s,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g%n", r.step(), r.tokens(),
                r.sae(), names.get(r.sae()), r.lr(), r.l1Coefficient(), r.loss(), r.mse(), r.l1(), r.l0(), r.fvu(),
                r.deadFraction());
    }
}
