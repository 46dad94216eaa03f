package io.sae4j.cli;

import static io.sae4j.cli.CliTest.sae4j;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.sae4j.harvest.Manifest;
import io.sae4j.harvest.TransformerModel;
import io.sae4j.harvest.WordNetCorpus;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The study on the user's own ONNX model and texts, as a user runs it: {@code sae4j study --onnx
 * --tokenizer --text --config}, on the bundled int8 MiniLM written to files and 600 WordNet glosses,
 * at TinyStudyTest's sizes; then run again; and each file or key that does not fit, in one line.
 */
class OwnModelStudyTest {
    @TempDir
    static Path files;

    @TempDir
    Path tmp;

    /** A file name with spaces and parentheses: the study's key must still make folder and SAE names. */
    static final String ONNX_NAME = "My MiniLM (int8).onnx", KEY = "My_MiniLM_int8";
    static Path onnx, tokenizer, text, config;
    static List<String> docs;

    @BeforeAll
    static void writeFiles() throws Exception {
        onnx = files.resolve(ONNX_NAME);
        tokenizer = files.resolve("tokenizer.json");
        Files.write(onnx, TransformerModel.MINILM_Q.onnxBytes());
        Files.write(tokenizer, TransformerModel.MINILM_Q.tokenizerJson());
        docs = WordNetCorpus.half("A").subList(0, 600);
        text = Files.write(files.resolve("glosses.txt"), docs, StandardCharsets.UTF_8);
        // TinyStudyTest.TINY's sizes, two seeds
        config = Files.writeString(files.resolve("tiny.json"), """
                {"site": "mlp_out", "layer": 3, "layers": [2, 3], "ratios": [1, 2], "ratio": 2, "seeds": [42, 43],
                 "otherModels": [], "trainTokens": 2048, "heldoutTokens": 512, "steps": 20, "batch": 256, "matchedL0": 0}
                """);
    }

    private static CliTest.Result study(Path out, Object... more) {
        List<Object> args = new ArrayList<>(List.of("study", "--device", "cpu", "--config", config, "--out", out));
        args.addAll(List.of(more));
        return sae4j(args.toArray());
    }

    private static List<String> lines(Path file) throws Exception {
        return Files.readAllLines(file, StandardCharsets.UTF_8);
    }

    @Test
    void theStudyRunsOnOwnModelAndTextsAndResumes() throws Exception {
        Path out = tmp.resolve("study");
        CliTest.Result r = study(out, "--onnx", onnx, "--tokenizer", tokenizer, "--text", text);
        assertEquals(0, r.code(), r.toString());
        assertTrue(Files.exists(out.resolve("report.html")), r.toString());
        JsonObject results = JsonParser.parseString(Files.readString(out.resolve("results.json"))).getAsJsonObject();

        // main r1, r2 and r2 seed 43; half B; Europarl; layer 2: every one of the user's model, named by its key
        List<JsonObject> saes = results.getAsJsonArray("saes").asList().stream().map(JsonElement::getAsJsonObject).toList();
        assertEquals(List.of(KEY + "-L3-mlp_out-r1-s42-A", KEY + "-L3-mlp_out-r2-s42-A", KEY + "-L3-mlp_out-r2-s43-A",
                KEY + "-L3-mlp_out-r2-s42-B", KEY + "-L3-mlp_out-r2-s42-europarl", KEY + "-L2-mlp_out-r2-s42-A"),
                saes.stream().map(s -> s.get("name").getAsString()).toList());
        for (JsonObject s : saes) assertEquals(ONNX_NAME + " (ONNX file)", s.get("model").getAsString(), "display name from the file");
        List<String> datasets = results.getAsJsonArray("comparisons").asList().stream().map(JsonElement::getAsJsonObject)
                .filter(c -> c.get("kind").getAsString().equals("dataset")).map(c -> c.get("b").getAsString()).toList();
        assertEquals(List.of(KEY + "-L3-mlp_out-r2-s42-B", KEY + "-L3-mlp_out-r2-s42-europarl"), datasets,
                "half B of the user's texts, and Europarl, against the main SAE");
        JsonObject cfg = results.getAsJsonObject("config");
        assertEquals(onnx.toString(), cfg.get("onnx").getAsString());
        assertEquals(text.toString(), cfg.get("text").getAsString());
        assertFalse(cfg.has("model"), "no bundled main model: " + cfg);
        assertTrue(Files.readString(out.resolve("report.html")).contains(ONNX_NAME), "the report names the user's model");

        // halves A and B: the file's documents alternately, in file order; the manifest names the files
        Path actsA = out.resolve("acts").resolve(KEY + "-A"), actsB = out.resolve("acts").resolve(KEY + "-B");
        List<String> a = lines(actsA.resolve("texts.txt")), b = lines(actsB.resolve("texts.txt"));
        assertEquals(IntStream.range(0, a.size()).mapToObj(i -> docs.get(2 * i)).toList(), a, "half A: documents 1, 3, 5, ...");
        assertEquals(IntStream.range(0, b.size()).mapToObj(i -> docs.get(2 * i + 1)).toList(), b, "half B: documents 2, 4, 6, ...");
        JsonObject spec = Manifest.read(actsA).spec();
        assertEquals(KEY, spec.get("model").getAsString());
        assertEquals("A", spec.get("dataset").getAsString());
        assertEquals(onnx.toAbsolutePath().normalize().toString(), spec.getAsJsonObject("onnx").get("path").getAsString());
        assertEquals(text.toAbsolutePath().normalize().toString(), spec.getAsJsonObject("text").get("path").getAsString());
        assertTrue(spec.get("corpus").getAsString().contains("half A"), spec.toString());
        assertTrue(Files.exists(Manifest.layerFile(out.resolve("acts").resolve(KEY + "-europarl"), 3)), "Europarl stays the shift corpus");

        // a second run reuses the three harvests and every SAE
        CliTest.Result again = study(out, "--onnx", onnx, "--tokenizer", tokenizer, "--text", text);
        assertEquals(0, again.code(), again.toString());
        List<String> log = again.allErr().lines().toList();
        assertEquals(3, log.stream().filter(l -> l.endsWith(": already harvested")).count(), again.toString());
        assertTrue(log.stream().filter(l -> l.startsWith("sae4j study: train ")).allMatch(l -> l.endsWith("already trained")),
                again.toString());
    }

    /** What does not fit ends in one line naming the key or option, before anything is written. */
    @Test
    void ownFilesThatDoNotFitAreNamedInOneLine() throws Exception {
        Path others = Files.writeString(tmp.resolve("others.json"), "{\"otherModels\": [\"minilm\"]}");
        Path out = tmp.resolve("never");
        Object[][] cases = {
                {new Object[] {"--onnx", onnx}, "onnx (--onnx) needs tokenizer (--tokenizer)"},
                {new Object[] {"--config", others, "--onnx", onnx, "--tokenizer", tokenizer}, "otherModels [minilm]", "must be []"},
                {new Object[] {"--text", tmp.resolve("missing.txt")}, tmp.resolve("missing.txt") + ": no such file (--text)"},
                {new Object[] {"--text", text, "--text-field", "body"}, "textField (--text-field) goes with a .jsonl"},
                {new Object[] {"--onnx", onnx, "--tokenizer", tokenizer, "--config", Files.writeString(tmp.resolve("l.json"),
                        "{\"layers\": [3, 6], \"layer\": 3}")}, "layers [3, 6]: ", "has layers 0..5", "got 6"},
        };
        for (Object[] c : cases) {
            List<Object> args = new ArrayList<>(List.of("study", "--device", "cpu", "--out", out));
            args.addAll(List.of((Object[]) c[0]));
            CliTest.Result r = sae4j(args.toArray());
            assertEquals(1, r.code(), r.toString());
            List<String> err = r.err().lines().filter(l -> !l.isBlank()).toList();
            assertEquals(1, err.size(), r.toString());
            assertTrue(err.get(0).startsWith("sae4j study: error: "), err.get(0));
            for (int i = 1; i < c.length; i++) assertTrue(err.get(0).contains((String) c[i]), "says '" + c[i] + "': " + err.get(0));
            assertFalse(Files.exists(out), "nothing written: " + r);
        }
    }
}
