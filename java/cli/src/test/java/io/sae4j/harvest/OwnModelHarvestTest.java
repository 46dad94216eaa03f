package io.sae4j.harvest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.sae4j.io.NpyReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Harvesting from the user's own ONNX model, tokenizer.json and text (--onnx, --tokenizer, --text):
 * the bundled quantised MiniLM written to files must give bit for bit what the bundled path gives on
 * the same texts; and every way the files can be wrong ends in one clear line naming the file.
 */
class OwnModelHarvestTest {
    @TempDir
    static Path files;

    @TempDir
    Path tmp;

    static Path onnx, tokenizer, txt, jsonl;
    static List<String> texts;
    static final TransformerModel.Site MLP = TransformerModel.Site.MLP_OUT;
    static final List<Integer> LAYERS = List.of(0, 5);
    static final long TOKENS = 300;

    @BeforeAll
    static void writeFiles() throws Exception {
        onnx = files.resolve("model.onnx");
        tokenizer = files.resolve("tokenizer.json");
        Files.write(onnx, TransformerModel.MINILM_Q.onnxBytes());
        Files.write(tokenizer, TransformerModel.MINILM_Q.tokenizerJson());
        // the first 40 texts of WordNet half A: the bundled dataset A harvest runs the same texts in the same order
        texts = WordNetCorpus.half("A").subList(0, 40);
        txt = files.resolve("corpus.txt");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            lines.add(texts.get(i));
            if (i % 10 == 3) lines.add("   "); // blank lines are skipped
        }
        Files.write(txt, lines, StandardCharsets.UTF_8);
        jsonl = files.resolve("corpus.jsonl");
        List<String> json = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            JsonObject o = new JsonObject();
            o.addProperty("id", i);
            o.addProperty("text", texts.get(i));
            json.add(o.toString());
        }
        Files.write(jsonl, json, StandardCharsets.UTF_8);
    }

    private static OnnxModelFiles own() throws Exception {
        return OnnxModelFiles.open(onnx, tokenizer, null, MLP, 2);
    }

    private Manifest harvest(HarvestModel m, Corpus c, Path dir) throws Exception {
        return new Harvester(new HarvestSpec(m, MLP, LAYERS, c, TOKENS, false, HarvestSpec.DEFAULT_SHARD_TOKENS), dir).run(d -> {}, 2);
    }

    private static float[] layer(Path dir, int l) throws Exception {
        try (NpyReader r = NpyReader.open(Manifest.layerFile(dir, l))) {
            assertArrayEquals(new long[] {TOKENS, 384}, r.shape());
            return r.readAll();
        }
    }

    /** Same layer files (every bit), tokens.tsv and texts.txt. */
    private static void assertSameHarvest(Path expected, Path actual, String what) throws Exception {
        for (int l : LAYERS) {
            float[] a = layer(expected, l), b = layer(actual, l);
            for (int i = 0; i < a.length; i++)
                if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i]))
                    throw new AssertionError(what + ": layer " + l + " row " + i / 384 + " dim " + i % 384 + ": " + a[i] + " vs " + b[i]);
        }
        assertEquals(Files.readString(expected.resolve("tokens.tsv")), Files.readString(actual.resolve("tokens.tsv")), what + ": tokens.tsv");
        assertEquals(Files.readString(expected.resolve("texts.txt")), Files.readString(actual.resolve("texts.txt")), what + ": texts.txt");
    }

    @Test
    void ownFilesGiveExactlyWhatTheBundledModelGives() throws Exception {
        OnnxModelFiles m = own();
        assertEquals(6, m.layers(), "layers read from the graph");
        assertEquals(384, m.dModel(), "d_model from the probe");
        assertEquals(TransformerModel.MINILM_Q.tensorName(MLP, 5), m.tensorName(MLP, 5));
        assertEquals("last_hidden_state", m.tensorName(TransformerModel.Site.RESID, 5));
        assertEquals(TransformerModel.MINILM_Q.tensorName(TransformerModel.Site.RESID, 2), m.tensorName(TransformerModel.Site.RESID, 2));

        TextFileCorpus plain = TextFileCorpus.read(txt, "text"), json = TextFileCorpus.read(jsonl, "text");
        assertEquals(texts, plain.texts(), "blank lines skipped, file order kept");
        assertEquals(texts, json.texts());

        Path own = tmp.resolve("own"), bundledModel = tmp.resolve("bundled-model"), bundled = tmp.resolve("bundled");
        Manifest mo = harvest(m, plain, own);
        harvest(TransformerModel.MINILM_Q, json, bundledModel);
        harvest(TransformerModel.MINILM_Q, Corpus.bundled("A"), bundled);
        assertSameHarvest(bundledModel, own, "own model files vs the bundled model on the same text file");
        // dataset A's first texts are these texts: the same token rows (the int8 model's activations differ slightly, since its
        // dynamic quantisation scales each batch as a whole, and a dataset batches texts by length over a window of 512)
        assertEquals(Files.readString(bundled.resolve("tokens.tsv")), Files.readString(own.resolve("tokens.tsv")), "tokens vs dataset A");
        assertEquals(Files.readString(bundled.resolve("texts.txt")), Files.readString(own.resolve("texts.txt")), "texts vs dataset A");
        double ss = 0;
        for (float v : layer(own, 5)) ss += v * v;
        assertTrue(ss > 0, "activations are not all zero");

        // the manifest says which files made it
        assertTrue(mo.complete());
        JsonObject spec = mo.spec();
        assertEquals("model", spec.get("model").getAsString());
        assertEquals(onnx.toAbsolutePath().normalize().toString(), spec.getAsJsonObject("onnx").get("path").getAsString());
        assertEquals(64, spec.getAsJsonObject("onnx").get("sha256").getAsString().length());
        assertEquals(txt.toAbsolutePath().normalize().toString(), spec.getAsJsonObject("text").get("path").getAsString());
        assertTrue(spec.get("corpus").getAsString().startsWith("text file"), spec.toString());
        assertEquals(384, mo.dModel());

        // run again: reused; the text file changed: refused as a different harvest
        long before = Files.getLastModifiedTime(Manifest.layerFile(own, 0)).toMillis();
        harvest(own(), TextFileCorpus.read(txt, "text"), own);
        assertEquals(before, Files.getLastModifiedTime(Manifest.layerFile(own, 0)).toMillis(), "a complete harvest is reused");
        Path sameName = Files.createDirectories(tmp.resolve("elsewhere")).resolve("corpus.txt");
        Files.copy(txt, sameName);
        Files.writeString(sameName, "One more line.\n", java.nio.file.StandardOpenOption.APPEND);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> harvest(own(), TextFileCorpus.read(sameName, "text"), own));
        assertTrue(e.getMessage().contains("different harvest"), "an edited text file is another harvest: " + e.getMessage());
        Path compact = tmp.resolve("compact-tokenizer.json"); // the same tokenizer in other bytes
        Files.writeString(compact, JsonParser.parseString(Files.readString(tokenizer)).toString());
        assertNotEquals(Manifest.identity(spec(own(), plain)), Manifest.identity(spec(OnnxModelFiles.open(onnx, compact, null, MLP, 2),
                plain)), "another tokenizer file is another harvest");
        assertNotEquals(Manifest.identity(spec(own(), TextFileCorpus.read(txt, "text"))),
                Manifest.identity(spec(TransformerModel.MINILM_Q, TextFileCorpus.read(txt, "text"))), "model files vs bundled");
    }

    private static HarvestSpec spec(HarvestModel m, Corpus c) {
        return new HarvestSpec(m, MLP, LAYERS, c, TOKENS, false, HarvestSpec.DEFAULT_SHARD_TOKENS);
    }

    /** The command line a user types, end to end: the same bits as the library call. */
    @Test
    void theCommandLineHarvestsOwnFiles() throws Exception {
        Path viaCli = tmp.resolve("cli"), direct = tmp.resolve("direct");
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = io.sae4j.cli.Main.run(new String[] {"harvest", "--onnx", onnx.toString(), "--tokenizer", tokenizer.toString(),
                "--text", jsonl.toString(), "--text-field", "text", "--layers", "0,5", "--site", "mlp_out", "--tokens", "" + TOKENS,
                "--out", viaCli.toString()}, new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(0, code, "exit status; stderr: " + err);
        harvest(own(), TextFileCorpus.read(txt, "text"), direct);
        assertSameHarvest(direct, viaCli, "CLI vs library");

        // a mistake on the command line: one line, exit 1
        StringWriter err2 = new StringWriter();
        code = io.sae4j.cli.Main.run(new String[] {"harvest", "--onnx", txt.toString(), "--tokenizer", tokenizer.toString(), "--text",
                txt.toString(), "--out", tmp.resolve("x").toString()}, new PrintWriter(new StringWriter(), true), new PrintWriter(err2, true));
        assertEquals(1, code);
        List<String> lines = err2.toString().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), err2.toString());
        assertClear(lines.get(0), txt, "not an ONNX model");
        for (String[] bad : List.of(new String[] {"--model", "minilm", "--onnx", onnx.toString(), "--tokenizer", tokenizer.toString()},
                new String[] {"--onnx", onnx.toString()}, new String[] {"--tokenizer", tokenizer.toString()},
                new String[] {"--dataset", "A", "--text", txt.toString()}, new String[] {"--text", txt.toString(), "--text-field", "t"})) {
            List<String> args = new ArrayList<>(List.of("harvest", "--out", tmp.resolve("y").toString()));
            args.addAll(List.of(bad));
            StringWriter e = new StringWriter();
            assertEquals(1, io.sae4j.cli.Main.run(args.toArray(String[]::new), new PrintWriter(new StringWriter(), true),
                    new PrintWriter(e, true)), String.join(" ", bad));
            assertTrue(e.toString().contains("--"), e.toString());
        }
        assertFalse(Files.exists(tmp.resolve("y")));
    }

    /** The message names the file and what was expected, and shows nothing of Java or ONNX Runtime. */
    private static void assertClear(String message, Path file, String... parts) {
        assertTrue(message.contains(file.toString()), "names " + file + ": " + message);
        for (String p : parts) assertTrue(message.contains(p), "says '" + p + "': " + message);
        assertFalse(message.contains("ai.onnxruntime") || message.contains("Exception") || message.contains("\n"), message);
    }

    private static String error(Executable e) {
        return assertThrows(IllegalArgumentException.class, e).getMessage();
    }

    @Test
    void aTokenizerWithIdsBeyondTheEmbeddingIsRefused() throws Exception {
        Path big = tmp.resolve("big-tokenizer.json");
        JsonObject t = JsonParser.parseString(Files.readString(tokenizer)).getAsJsonObject();
        JsonObject added = new JsonObject();
        added.addProperty("id", 999999);
        added.addProperty("content", "[HUGE]");
        added.addProperty("special", true);
        t.getAsJsonArray("added_tokens").add(added);
        Files.writeString(big, t.toString());
        String m = error(() -> OnnxModelFiles.open(onnx, big, null, MLP, 2));
        assertClear(m, big, "does not fit", onnx.toString(), "999999", "30522");
    }

    /** Where the embedding table cannot be found in the graph, ONNX Runtime's refusal on the probe says it. */
    @Test
    void aTokenizerThatDoesNotFitAnUnreadableGraphFailsOnTheProbe() throws Exception {
        // input_ids reaches the Gather through an Identity: the table's rows are not determined statically
        Path hidden = tmp.resolve("hidden-embedding.onnx");
        Files.write(hidden, editGraph(Files.readAllBytes(onnx), g -> {
            UnknownFieldSet.Field.Builder nodes = UnknownFieldSet.Field.newBuilder();
            nodes.addLengthDelimited(node("Identity", List.of("input_ids"), List.of("ids_copy")).toByteString());
            for (ByteString n : g.getField(1).getLengthDelimitedList()) {
                UnknownFieldSet node = parse(n);
                List<String> in = strings(node, 1);
                if (strings(node, 4).equals(List.of("Gather")) && in.size() == 2 && in.get(1).equals("input_ids"))
                    node = UnknownFieldSet.newBuilder(node).clearField(1).addField(1, stringField(List.of(in.get(0), "ids_copy"))).build();
                nodes.addLengthDelimited(node.toByteString());
            }
            return UnknownFieldSet.newBuilder(g).clearField(1).addField(1, nodes.build()).build();
        }));
        assertEquals(384, OnnxModelFiles.open(hidden, tokenizer, null, MLP, 2).dModel(), "the edited graph still runs");
        Path shifted = tmp.resolve("shifted-tokenizer.json");
        JsonObject t = JsonParser.parseString(Files.readString(tokenizer)).getAsJsonObject();
        t.getAsJsonObject("model").getAsJsonObject("vocab").addProperty("the", 40000); // the probe text has "the"
        Files.writeString(shifted, t.toString());
        String m = error(() -> OnnxModelFiles.open(hidden, shifted, null, MLP, 2));
        assertClear(m, shifted, "does not fit " + hidden + ": ");
    }

    @Test
    void aGraphWithoutTheInputsListsItsInputs() throws Exception {
        Path renamed = tmp.resolve("renamed-inputs.onnx");
        Files.write(renamed, editGraph(Files.readAllBytes(onnx), g -> {
            UnknownFieldSet.Field.Builder inputs = UnknownFieldSet.Field.newBuilder();
            for (ByteString i : g.getField(11).getLengthDelimitedList()) {
                UnknownFieldSet vi = parse(i);
                String name = strings(vi, 1).get(0);
                inputs.addLengthDelimited(UnknownFieldSet.newBuilder(vi).clearField(1)
                        .addField(1, stringField(List.of(name.equals("input_ids") ? "ids" : name))).build().toByteString());
            }
            return UnknownFieldSet.newBuilder(g).clearField(11).addField(11, inputs.build()).build();
        }));
        assertClear(error(() -> OnnxModelFiles.open(renamed, tokenizer, null, MLP, 2)), renamed, "no input input_ids",
                "[ids, attention_mask, token_type_ids]");
    }

    @Test
    void tensorsAndLayersThatAreNotThereAreNamed() throws Exception {
        String m = error(() -> OnnxModelFiles.open(onnx, tokenizer, "nonsense", MLP, 2));
        assertClear(m, onnx, "has no tensor 'nonsense'", "similar: [");
        m = error(() -> OnnxModelFiles.open(onnx, tokenizer, "/encoder/layer.{layer}/output/dense/Nope_output_0", MLP, 2));
        assertClear(m, onnx, "no tensor matching", "/encoder/layer.0/output/dense/Add_output_0");
        OnnxModelFiles own = own();
        m = error(() -> new HarvestSpec(own, MLP, List.of(0, 7), Corpus.bundled("A"), 100, false, 256));
        assertClear(m, onnx, "--layers: ", "layers 0..5", "got 7");

        // a template: layers found from it; a literal: one layer, a label
        OnnxModelFiles t = OnnxModelFiles.open(onnx, tokenizer, "/encoder/layer.{layer}/attention/output/dense/Add_output_0", MLP, 2);
        assertEquals(6, t.layers());
        assertEquals(384, t.dModel());
        assertEquals("/encoder/layer.3/attention/output/dense/Add_output_0", t.tensorName(MLP, 3));
        String literal = "/encoder/layer.2/intermediate/intermediate_act_fn/Mul_1_output_0";
        OnnxModelFiles l = OnnxModelFiles.open(onnx, tokenizer, literal, MLP, 2);
        assertEquals(1536, l.dModel(), "the MLP's hidden width, probed");
        assertEquals(literal, l.tensorName(MLP, 9));
        m = error(() -> new HarvestSpec(l, MLP, List.of(2, 3), Corpus.bundled("A"), 100, false, 256));
        assertTrue(m.contains("give one layer"), m);
        new HarvestSpec(l, MLP, List.of(2), Corpus.bundled("A"), 100, false, 256);
        m = error(() -> OnnxModelFiles.open(onnx, tokenizer, "/encoder/layer.2/output/LayerNorm/Add_1_output_0_quantized", MLP, 2));
        assertClear(m, onnx, "is not float32");
    }

    @Test
    void filesThatAreNotWhatIsExpectedAreNamed() throws Exception {
        Path notOnnx = tmp.resolve("notes.onnx");
        Files.writeString(notOnnx, "these are my notes, not a model\n");
        assertClear(error(() -> OnnxModelFiles.open(notOnnx, tokenizer, null, MLP, 2)), notOnnx, "not an ONNX model");
        Path missing = tmp.resolve("missing.onnx");
        assertClear(error(() -> OnnxModelFiles.open(missing, tokenizer, null, MLP, 2)), missing, "no such file");
        assertClear(error(() -> OnnxModelFiles.open(onnx, missing, null, MLP, 2)), missing, "no such file");

        Path notTokenizer = tmp.resolve("config.json");
        Files.writeString(notTokenizer, "{\"hidden_size\": 384}");
        assertClear(error(() -> OnnxModelFiles.open(onnx, notTokenizer, null, MLP, 2)), notTokenizer,
                "not a HuggingFace tokenizer.json");
        Files.writeString(notTokenizer, "<html>");
        assertClear(error(() -> OnnxModelFiles.open(onnx, notTokenizer, null, MLP, 2)), notTokenizer,
                "not a HuggingFace tokenizer.json");
        assertClear(error(() -> OnnxModelFiles.open(onnx, onnx, null, MLP, 2)), onnx, "not a HuggingFace tokenizer.json");
    }

    @Test
    void textFilesThatAreNotWhatIsExpectedAreNamed() throws Exception {
        Path bad = tmp.resolve("bad.jsonl");
        Files.write(bad, List.of("{\"text\": \"one\"}", "", "{\"body\": \"two\"}"));
        assertClear(error(() -> TextFileCorpus.read(bad, "text")), bad, bad + ":3: no field 'text'", "[body]");
        Files.write(bad, List.of("{\"text\": \"one\"}", "[\"two\"]"));
        assertClear(error(() -> TextFileCorpus.read(bad, "text")), bad, bad + ":2: not a JSON object");
        Files.write(bad, List.of("{\"text\": 3}"));
        assertClear(error(() -> TextFileCorpus.read(bad, "text")), bad, bad + ":1: field 'text' is not a string");
        Files.write(bad, List.of("{\"text\": \"a\\nb\"}", "{text"));
        assertClear(error(() -> TextFileCorpus.read(bad, "text")), bad, bad + ":2: not a JSON line");
        Files.write(bad, List.of("{\"text\": \"a\\nb\\r\\nc\"}"));
        assertEquals(List.of("a b c"), TextFileCorpus.read(bad, "text").texts(), "a document stays on one line");

        Path empty = tmp.resolve("empty.txt");
        Files.writeString(empty, "");
        assertClear(error(() -> TextFileCorpus.read(empty, "text")), empty, "no text");
        Files.writeString(empty, "\n  \n\t\n");
        assertClear(error(() -> TextFileCorpus.read(empty, "text")), empty, "no text");
        Path latin1 = tmp.resolve("latin1.txt");
        Files.write(latin1, "caf\u00e9 au lait\n".getBytes(StandardCharsets.ISO_8859_1));
        assertClear(error(() -> TextFileCorpus.read(latin1, "text")), latin1, "not UTF-8");
        assertClear(error(() -> TextFileCorpus.read(tmp.resolve("nope.txt"), "text")), tmp.resolve("nope.txt"), "no such file");

        // fewer tokens than asked: refused before any activation is written, with the count
        Path small = tmp.resolve("small.txt");
        Files.write(small, List.of("A short text.", "Another one."));
        Path dir = tmp.resolve("small-acts");
        String m = error(() -> new Harvester(new HarvestSpec(own(), MLP, List.of(0), TextFileCorpus.read(small, "text"), 1000, false,
                256), dir).run(d -> {}, 2));
        assertClear(m, small, "--tokens 1000: ", "has only 7 tokens");
        assertFalse(Files.exists(dir), "nothing left behind");
    }

    // ------------------------------------------------------------ editing a graph (protobuf, no ONNX classes)

    private static byte[] editGraph(byte[] model, UnaryOperator<UnknownFieldSet> edit) throws Exception {
        UnknownFieldSet m = UnknownFieldSet.parseFrom(model);
        UnknownFieldSet g = edit.apply(parse(m.getField(7).getLengthDelimitedList().get(0)));
        return UnknownFieldSet.newBuilder(m).clearField(7)
                .addField(7, UnknownFieldSet.Field.newBuilder().addLengthDelimited(g.toByteString()).build()).build().toByteArray();
    }

    private static UnknownFieldSet parse(ByteString b) {
        try {
            return UnknownFieldSet.parseFrom(b);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> strings(UnknownFieldSet s, int field) {
        return s.getField(field).getLengthDelimitedList().stream().map(ByteString::toStringUtf8).toList();
    }

    private static UnknownFieldSet.Field stringField(List<String> values) {
        UnknownFieldSet.Field.Builder f = UnknownFieldSet.Field.newBuilder();
        for (String v : values) f.addLengthDelimited(ByteString.copyFromUtf8(v));
        return f.build();
    }

    private static UnknownFieldSet node(String op, List<String> in, List<String> out) {
        return UnknownFieldSet.newBuilder().addField(1, stringField(in)).addField(2, stringField(out)).addField(4, stringField(List.of(op)))
                .build();
    }
}
