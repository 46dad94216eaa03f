package io.sae4j.harvest;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.sae4j.io.SaeLensFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * manifest.json of a harvest directory: the spec it was made with, the shards finished so far
 * (texts [firstText, endText) gave {@code tokens} rows), and whether the final files exist.
 * Rewritten atomically after every shard.
 */
public record Manifest(int formatVersion, JsonObject spec, List<ShardInfo> shards, boolean complete,
                       String modelName, int dModel) {
    public static final String FILE = "manifest.json";
    static final int FORMAT_VERSION = 1;
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    public record ShardInfo(int index, int firstText, int endText, long tokens) {}

    static JsonObject identity(HarvestSpec s) {
        JsonObject o = new JsonObject();
        o.addProperty("model", s.model().key());
        o.addProperty("site", s.site().key);
        o.add("layers", GSON.toJsonTree(s.layers()));
        o.addProperty("dataset", s.corpus().key());
        o.addProperty("tokens", s.tokens());
        o.addProperty("dtype", s.float16() ? "float16" : "float32");
        o.addProperty("shard_tokens", s.shardTokens());
        o.addProperty("corpus", s.corpus().description());
        // bundled models and datasets add nothing here, so their manifests stay byte-identical
        s.model().addIdentity(o);
        s.corpus().addIdentity(o);
        return o;
    }

    /** The directory's manifest when it matches {@code spec}, a fresh one when there is none. */
    static Manifest readOrStart(Path dir, HarvestSpec spec) throws IOException {
        JsonObject want = JsonParser.parseString(identity(spec).toString()).getAsJsonObject();
        Path f = dir.resolve(FILE);
        if (!Files.exists(f)) return new Manifest(FORMAT_VERSION, want, List.of(), false, spec.model().displayName(), spec.model().dModel());
        Manifest m = read(dir);
        if (!Objects.equals(m.spec(), want))
            throw new IllegalArgumentException(dir + " holds a different harvest (" + m.spec() + "); use another --out");
        return m;
    }

    public static Manifest read(Path dir) throws IOException {
        Path f = dir.resolve(FILE);
        try {
            Manifest m = GSON.fromJson(Files.readString(f, StandardCharsets.UTF_8), Manifest.class);
            if (m == null || m.formatVersion() != FORMAT_VERSION || m.spec() == null || m.shards() == null)
                throw new IOException(f + ": not a sae4j harvest manifest (format_version " + FORMAT_VERSION + ")");
            return m;
        } catch (JsonParseException e) {
            throw new IOException(f + ": invalid manifest: " + e.getMessage(), e);
        }
    }

    void write(Path dir) throws IOException {
        SaeLensFormat.writeAtomically(dir.resolve(FILE), GSON.toJson(this) + "\n");
    }

    long tokensInShards() {
        return shards.stream().mapToLong(ShardInfo::tokens).sum();
    }

    int nextText() {
        return shards.isEmpty() ? 0 : shards.get(shards.size() - 1).endText();
    }

    Manifest withShard(ShardInfo s) {
        List<ShardInfo> all = new ArrayList<>(shards);
        all.add(s);
        return new Manifest(formatVersion, spec, all, false, modelName, dModel);
    }

    Manifest completed() {
        return new Manifest(formatVersion, spec, shards, true, modelName, dModel);
    }

    /** The activations file of one layer (after completion). */
    public static Path layerFile(Path dir, int layer) {
        return dir.resolve("layer" + layer + ".npy");
    }
}
