package io.sae4j.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StudyConfigTest {
    @TempDir
    Path tmp;

    @Test
    void aFileOverridesTheDefaults() throws Exception {
        Path f = Files.writeString(tmp.resolve("s.json"), "{\"ratios\": [1, 2], \"steps\": 10, \"layers\": [3, 1], \"lrDecay\": 0.5}");
        StudyConfig c = StudyConfig.read(f, false);
        assertEquals(0.5, c.lrDecay());
        assertEquals(List.of(1, 2), c.ratios());
        assertEquals(10, c.steps());
        assertEquals(StudyConfig.defaults().trainTokens(), c.trainTokens(), "unset keys keep the default");
        assertEquals(StudyConfig.full().trainTokens(), StudyConfig.read(f, true).trainTokens(), "--full changes the base");
        assertTrue(!c.topK() && c.k() == 0, "ReLU SAEs unless k is given");
        StudyConfig topk = StudyConfig.read(Files.writeString(tmp.resolve("k.json"), "{\"k\": 32}"), false);
        assertTrue(topk.topK() && topk.k() == 32);
        Path negative = Files.writeString(tmp.resolve("kn.json"), "{\"k\": -1}");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StudyConfig.read(negative, false)).getMessage()
                .contains("k must be >= 0"));
        Path both = Files.writeString(tmp.resolve("kl.json"), "{\"k\": 32, \"l1\": 2}");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StudyConfig.read(both, false)).getMessage()
                .contains("l1 is for ReLU SAEs"));
        Path auxAlone = Files.writeString(tmp.resolve("ka.json"), "{\"k\": 0, \"auxK\": 0.03125}");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StudyConfig.read(auxAlone, false)).getMessage()
                .contains("auxK is TopK training's loss on dead latents: give k too"));
        assertEquals(0.03125, StudyConfig.read(Files.writeString(tmp.resolve("kx.json"), "{\"k\": 16, \"auxK\": 0.03125}"), false)
                .auxK());
        Path onePass = Files.writeString(tmp.resolve("k1.json"), "{\"k\": 16, \"auxK\": 0.03125, \"steps\": 98, \"batch\": 1024}");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StudyConfig.read(onePass, false)).getMessage()
                .contains("no latent counts as dead before a whole pass over the training data"));
    }

    @Test
    void badConfigsNameTheProblem() throws Exception {
        Path unknown = Files.writeString(tmp.resolve("u.json"), "{\"ratio_list\": [1]}");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StudyConfig.read(unknown, false)).getMessage()
                .contains("unknown key 'ratio_list'"));
        Path layer = Files.writeString(tmp.resolve("l.json"), "{\"layers\": [0, 1], \"layer\": 3}");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StudyConfig.read(layer, false)).getMessage()
                .contains("must include layer 3"));
        Path broken = Files.writeString(tmp.resolve("b.json"), "{\"steps\": ");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StudyConfig.read(broken, false)).getMessage()
                .contains(broken.toString()));
        Path decay = Files.writeString(tmp.resolve("d.json"), "{\"lrDecay\": 1.5}");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StudyConfig.read(decay, false)).getMessage()
                .contains("lrDecay must be in [0, 1], got 1.5"));
        Path type = Files.writeString(tmp.resolve("t.json"), "{\"steps\": \"many\"}");
        assertThrows(IllegalArgumentException.class, () -> StudyConfig.read(type, false));
    }

    @Test
    void ownFilesResolveAgainstTheConfigFolderAndReplaceTheBundledModels() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("project"));
        Path f = Files.writeString(dir.resolve("study.json"),
                "{\"onnx\": \"models/m.onnx\", \"tokenizer\": \"/abs/tokenizer.json\", \"text\": \"corpus.jsonl\", \"textField\": \"body\"}");
        StudyConfig c = StudyConfig.read(f, false);
        assertEquals(dir.resolve("models/m.onnx").toAbsolutePath().toString(), c.onnx(), "relative to the config's folder");
        assertEquals("/abs/tokenizer.json", c.tokenizer());
        assertEquals(dir.resolve("corpus.jsonl").toAbsolutePath().toString(), c.text());
        assertEquals(null, c.model(), "the ONNX file is the main model");
        assertEquals(List.of(), c.otherModels(), "no bundled models to compare with by default");
        assertTrue(!c.toJson().contains("\"model\"") && c.toJson().contains("m.onnx"), c.toJson());
        assertTrue(!StudyConfig.defaults().toJson().contains("onnx"), "the default config's JSON is as before");

        // command-line options override the file's keys; their paths stay as given
        JsonObject options = new JsonObject();
        options.addProperty("onnx", "other.onnx");
        assertEquals("other.onnx", StudyConfig.read(f, false, options).onnx());
        options.addProperty("tokenizer", "t.json");
        StudyConfig cli = StudyConfig.read(null, false, options);
        assertEquals("other.onnx", cli.onnx());
        assertEquals(null, cli.text());
    }

    @Test
    void ownFileKeysThatDoNotGoTogetherAreNamed() throws Exception {
        String[][] cases = {
                {"{\"onnx\": \"m.onnx\"}", "onnx (--onnx) needs tokenizer (--tokenizer)"},
                {"{\"onnx\": \"m.onnx\", \"tokenizer\": \"t.json\", \"otherModels\": [\"minilm\"]}",
                        "otherModels [minilm] compares bundled models", "must be []"},
                {"{\"onnx\": \"m.onnx\", \"tokenizer\": \"t.json\", \"model\": \"bge-small\"}", "or onnx", "not both"},
                {"{\"tokenizer\": \"t.json\"}", "tokenizer (--tokenizer) goes with onnx"},
                {"{\"tensor\": \"x\"}", "tensor (--tensor) goes with onnx"},
                {"{\"text\": \"c.txt\", \"textField\": \"body\"}", "textField (--text-field) goes with a .jsonl"},
                {"{\"onnx\": \"\", \"tokenizer\": \"t.json\"}", "onnx is empty"},
                {"{\"model\": null}", "give model"},
        };
        for (String[] c : cases) {
            Path f = Files.writeString(tmp.resolve("own.json"), c[0]);
            String m = assertThrows(IllegalArgumentException.class, () -> StudyConfig.read(f, false), c[0]).getMessage();
            assertTrue(m.startsWith(f + ": "), m);
            for (int i = 1; i < c.length; i++) assertTrue(m.contains(c[i]), c[0] + " -> " + m);
        }
        // the WordNet size limit does not apply to your own texts
        Path big = Files.writeString(tmp.resolve("big.json"), "{\"text\": \"c.txt\", \"trainTokens\": 2000000}");
        assertEquals(2_000_000, StudyConfig.read(big, false).trainTokens());
    }

    /**
     * A study config under the parser fuzzer: whatever the file holds, reading it gives a config or
     * an IllegalArgumentException naming the file, never another exception.
     */
    @Test
    void mutatedConfigsAreReadOrRefusedNamingTheFile() throws Exception {
        Path f = tmp.resolve("fuzz.json");
        List<byte[]> seeds = List.of(StudyConfig.defaults().toJson().getBytes(java.nio.charset.StandardCharsets.UTF_8),
                "{\"ratios\": [1, 2], \"steps\": 10, \"layers\": [3, 1], \"seeds\": [1, 2], \"matchedL0\": 8}".getBytes(),
                "{\"onnx\": \"m.onnx\", \"tokenizer\": \"t.json\", \"tensor\": \"x{layer}\", \"text\": \"c.jsonl\", \"textField\": \"body\"}"
                        .getBytes());
        long errors = io.sae4j.io.Fuzzer.run("study-config", seeds, f, () -> StudyConfig.read(f, false),
                t -> t instanceof IllegalArgumentException && t.getMessage().startsWith(f.toString()));
        assertTrue(errors < io.sae4j.io.Fuzzer.ITERATIONS, "every mutation was refused: the fuzzer does not get past the syntax");
    }

    /** Names and sizes are checked when the config is read, before anything is harvested. */
    @Test
    void namesAndSizesAreCheckedUpFront() throws Exception {
        for (String[] c : new String[][] {{"{\"site\": \"mlp\"}", "unknown site 'mlp'"},
                {"{\"otherModels\": [\"gpt2\"]}", "unknown model 'gpt2'"}, {"{\"model\": \"gpt2\"}", "unknown model 'gpt2'"},
                {"{\"layers\": [-1, 3]}", "layers must be >= 0"},
                {"{\"steps\": 9223372036854775807, \"batch\": 2048}", "steps x batch (9223372036854775807 x 2048) overflows"},
                {"{\"trainTokens\": 9223372036854775807}", "trainTokens 9223372036854775807 is over"},
                // silently read before: 2.5 steps as 2, the second of two keys, 1e30 as a wrong number
                {"{\"steps\": 2.5}", "steps must be a whole number, got 2.5"}, {"{\"steps\": 1, \"steps\": 2}", "key 'steps' is given twice"},
                {"{\"steps\": 1e30}", "steps must be a whole number"}, {"{\"steps\": \"abc\"}", "steps must be a whole number, got \"abc\""},
                {"{\"ratios\": [1, 2.5]}", "ratios must be a list of whole numbers"}, {"{\"float16\": 1}", "float16 must be true or false"},
                {"{\"steps\": 3} x", "malformed JSON at line 1"}, {"{\"ratios\": [1, 2", "invalid study config: End of input"}}) {
            Path f = Files.writeString(tmp.resolve("c.json"), c[0]);
            String m = assertThrows(IllegalArgumentException.class, () -> StudyConfig.read(f, false)).getMessage();
            assertTrue(m.startsWith(f.toString()) && m.contains(c[1]), c[0] + " -> " + m);
        }
    }

    /** A ratio whose SAE cannot exist is refused naming the key before the study harvests (it overflowed d_sae before). */
    @Test
    void aHugeRatioIsRefusedBeforeAnyWork() throws Exception {
        Path f = Files.writeString(tmp.resolve("r.json"), "{\"ratios\": [1, 134217730]}");
        StudyConfig c = StudyConfig.read(f, false);
        Path out = tmp.resolve("out");
        try (io.sae4j.backend.cpu.CpuBackend be = new io.sae4j.backend.cpu.CpuBackend(1, 0)) {
            String m = assertThrows(IllegalArgumentException.class, () -> new Study(c, out, be, null, s -> {}).run()).getMessage();
            assertTrue(m.startsWith("ratios 134217730 with d_model 384") && m.contains("over the limit"), m);
        }
        assertTrue(!Files.exists(out.resolve("acts")), "nothing harvested");
    }
}
