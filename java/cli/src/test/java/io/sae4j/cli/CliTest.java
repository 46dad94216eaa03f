package io.sae4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.sae4j.io.SaeFile;
import io.sae4j.io.NpyReader;
import io.sae4j.io.NpyWriter;
import io.sae4j.io.SaeLensFormat;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command-line tool end to end: synth, train, compare, info, errors and help. */
class CliTest {
    /** One small synthetic data set and one trained run, shared by the tests that only read them. */
    @TempDir
    static Path shared;

    @TempDir
    Path tmp;

    private static final int D = 16, FEATURES = 32, TOKENS = 20000;
    private static Path acts, run;
    private static Result firstTrain;

    /** Exit status and everything printed: picocli's writers and System.out / System.err. */
    record Result(int code, String out, String err, String stdout, String stderr) {
        String allOut() {
            return out + stdout;
        }

        String allErr() {
            return err + stderr;
        }

        @Override
        public String toString() {
            return "exit " + code + "\n--- out:\n" + allOut() + "\n--- err:\n" + allErr();
        }
    }

    static synchronized Result sae4j(Object... args) {
        String[] a = Arrays.stream(args).map(String::valueOf).toArray(String[]::new);
        StringWriter out = new StringWriter(), err = new StringWriter();
        ByteArrayOutputStream so = new ByteArrayOutputStream(), se = new ByteArrayOutputStream();
        PrintStream oldOut = System.out, oldErr = System.err;
        int code;
        try (PrintStream po = new PrintStream(so, true, StandardCharsets.UTF_8);
             PrintStream pe = new PrintStream(se, true, StandardCharsets.UTF_8)) {
            System.setOut(po);
            System.setErr(pe);
            code = Main.run(a, new PrintWriter(out, true), new PrintWriter(err, true));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new Result(code, out.toString(), err.toString(), so.toString(StandardCharsets.UTF_8),
                se.toString(StandardCharsets.UTF_8));
    }

    @BeforeAll
    static void synthAndTrain() {
        Path data = shared.resolve("data");
        Result s = sae4j("synth", "--d", D, "--features", FEATURES, "--tokens", TOKENS, "--seed", 3, "--out", data);
        assertEquals(0, s.code(), "synth: " + s);
        acts = data.resolve("acts.npy");
        run = shared.resolve("run");
        firstTrain = sae4j("train", "--acts", acts, "--ratios", "1,2", "--steps", 60, "--batch", 256, "--log-every", 20,
                "--checkpoint-every", 20, "--out", run);
    }

    private static JsonObject json(Path f) throws IOException {
        return JsonParser.parseString(Files.readString(f)).getAsJsonObject();
    }

    /** The error stream holds exactly one non-empty line, which contains every part. */
    private static void assertOneLineError(Result r, String... parts) {
        List<String> lines = r.err().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), "one line of error expected: " + r);
        for (String p : parts) assertTrue(lines.get(0).contains(p), "error line should mention '" + p + "': " + r);
    }

    // ---------------------------------------------------------------- synth

    @Test
    void synthWritesTheRequestedShapes() throws IOException {
        try (NpyReader a = NpyReader.open(acts); NpyReader t = NpyReader.open(acts.resolveSibling("truth.npy"))) {
            assertArrayEquals(new long[] {TOKENS, D}, a.shape(), "acts.npy shape (tokens, d)");
            assertEquals("<f4", a.dtype(), "float32 by default");
            assertArrayEquals(new long[] {FEATURES, D}, t.shape(), "truth.npy shape (features, d)");
            float[] f = t.readAll();
            for (int i = 0; i < FEATURES; i++) {
                double ss = 0;
                for (int k = 0; k < D; k++) ss += (double) f[i * D + k] * f[i * D + k];
                assertEquals(1, Math.sqrt(ss), 1e-5, "true feature " + i + " has unit norm");
            }
            float[] x = new float[1000 * D];
            a.read(0, 1000, x, 0);
            double ss = 0;
            for (float v : x) {
                assertTrue(Float.isFinite(v), "finite activations");
                ss += v * v;
            }
            assertTrue(ss / 1000 > 0.1, "tokens carry active features (mean ||x||^2 " + ss / 1000 + ")");
        }
        JsonObject spec = json(acts.resolveSibling("synth.json"));
        assertEquals(D, spec.get("d").getAsInt(), "synth.json records d");
        assertEquals(3, spec.get("seed").getAsLong(), "synth.json records the seed");
    }

    @Test
    void synthIsDeterministicAndSupportsFloat16() throws IOException {
        Path a = tmp.resolve("a"), b = tmp.resolve("b"), c = tmp.resolve("c"), h = tmp.resolve("h");
        for (Path p : List.of(a, b))
            assertEquals(0, sae4j("synth", "--d", 7, "--features", 11, "--tokens", 150, "--seed", 5, "--out", p).code());
        assertEquals(0, sae4j("synth", "--d", 7, "--features", 11, "--tokens", 150, "--seed", 6, "--out", c).code());
        Result r = sae4j("synth", "--d", 7, "--features", 11, "--tokens", 150, "--seed", 5, "--float16", "--noise", 0.01,
                "--correlation", 0.5, "--groups", 3, "--mean-active", 2, "--decay", 0.9, "--out", h);
        assertEquals(0, r.code(), r.toString());
        assertArrayEquals(Files.readAllBytes(a.resolve("acts.npy")), Files.readAllBytes(b.resolve("acts.npy")),
                "same seed, same acts.npy");
        assertFalse(Arrays.equals(Files.readAllBytes(a.resolve("acts.npy")), Files.readAllBytes(c.resolve("acts.npy"))),
                "another seed, other activations");
        try (NpyReader f16 = NpyReader.open(h.resolve("acts.npy"))) {
            assertEquals("<f2", f16.dtype(), "--float16 stores float16");
            assertArrayEquals(new long[] {150, 7}, f16.shape());
        }
        assertTrue(r.allOut().contains("acts.npy"), "synth says what it wrote: " + r);
    }

    @Test
    void synthRejectsBadArguments() {
        Result r = sae4j("synth", "--d", 7, "--features", 11, "--tokens", 100, "--correlation", 1, "--out", tmp.resolve("x"));
        assertEquals(1, r.code(), r.toString());
        assertOneLineError(r, "correlation");
        Result t = sae4j("synth", "--d", 7, "--features", 11, "--tokens", 0, "--out", tmp.resolve("y"));
        assertEquals(1, t.code(), t.toString());
        assertOneLineError(t, "--tokens");
        Result missing = sae4j("synth", "--d", 7, "--tokens", 10, "--out", tmp.resolve("z"));
        assertEquals(2, missing.code(), "a missing required option is a usage error: " + missing);
        assertTrue(missing.err().contains("--features"), "names the missing option: " + missing);
    }

    // ---------------------------------------------------------------- train

    @Test
    void trainWritesSaeLensDirsAndLog() throws IOException {
        assertEquals(0, firstTrain.code(), "train: " + firstTrain);
        for (int ratio : new int[] {1, 2}) {
            Path dir = run.resolve("ratio-" + ratio);
            assertTrue(Files.isRegularFile(dir.resolve(SaeLensFormat.WEIGHTS)), dir + " has the weights");
            assertTrue(Files.isRegularFile(dir.resolve(SaeLensFormat.CONFIG)), dir + " has cfg.json");
            SaeFile f = SaeLensFormat.read(dir);
            assertEquals(D, f.dIn(), "d_in of ratio " + ratio);
            assertEquals(ratio * D, f.dSae(), "d_sae of ratio " + ratio);
            assertEquals("relu", f.architecture());
            for (float v : f.wDec()) assertTrue(Float.isFinite(v), "finite trained weights");
            assertEquals(0.3, f.l1Coefficient(), 1e-12, "default --l1 recorded");
        }
        List<String> log = Files.readAllLines(run.resolve("train_log.csv"));
        assertTrue(log.size() >= 3, "header and rows: " + log);
        String[] header = log.get(0).split(",");
        assertEquals("step", header[0], "CSV header starts with step: " + log.get(0));
        assertTrue(List.of(header).containsAll(List.of("mse", "l0", "fvu", "dead_fraction", "name")),
                "CSV header has the metrics: " + log.get(0));
        Set<String> names = new TreeSet<>();
        long lastStep = 0;
        for (String line : log.subList(1, log.size())) {
            String[] cols = line.split(",");
            assertEquals(header.length, cols.length, "row has as many fields as the header: " + line);
            long step = Long.parseLong(cols[0]);
            assertTrue(step >= 1 && step <= 60, "step in 1..60: " + line);
            lastStep = Math.max(lastStep, step);
            names.add(cols[Arrays.asList(header).indexOf("name")]);
            double mse = Double.parseDouble(cols[Arrays.asList(header).indexOf("mse")]);
            assertTrue(Double.isFinite(mse) && mse >= 0, "finite MSE: " + line);
        }
        assertEquals(Set.of("ratio-1", "ratio-2"), names, "both SAEs logged");
        assertEquals(60, lastStep, "the last step is logged");
        assertEquals(6, log.size() - 1, "steps 20, 40, 60 for two SAEs: " + log);
    }

    @Test
    void trainAgainHasNothingToDo() throws IOException {
        assertEquals(0, firstTrain.code(), "train: " + firstTrain);
        byte[] before = Files.readAllBytes(run.resolve("ratio-2").resolve(SaeLensFormat.WEIGHTS));
        Result again = sae4j("train", "--acts", acts, "--ratios", "1,2", "--steps", 60, "--batch", 256, "--log-every", 20,
                "--checkpoint-every", 20, "--out", run);
        assertEquals(0, again.code(), again.toString());
        assertTrue(again.allOut().contains("nothing to do"), "a finished run is not trained again: " + again);
        assertArrayEquals(before, Files.readAllBytes(run.resolve("ratio-2").resolve(SaeLensFormat.WEIGHTS)),
                "the SAE is left as it was");
    }

    @Test
    void trainWithSeveralSeedsNamesDirectories() {
        Path out = tmp.resolve("seeds");
        Result r = sae4j("train", "--acts", acts, "--ratios", "0.5", "--seeds", "1,2", "--steps", 5, "--batch", 64,
                "--log-every", 5, "--out", out);
        assertEquals(0, r.code(), r.toString());
        assertTrue(Files.isDirectory(out.resolve("ratio-0.5-seed-1")) && Files.isDirectory(out.resolve("ratio-0.5-seed-2")),
                "ratio-0.5-seed-{1,2}: " + r);
    }

    /** --k trains TopK SAEs: saved as SAELens topk with that k, L0 at most k; --l1 beside it is refused. */
    @Test
    void trainTopK() throws IOException {
        Path out = tmp.resolve("topk");
        Result r = sae4j("train", "--acts", acts, "--ratios", "2", "--k", 3, "--steps", 40, "--batch", 128, "--log-every", 20,
                "--out", out);
        assertEquals(0, r.code(), r.toString());
        SaeFile f = SaeLensFormat.read(out.resolve("ratio-2"));
        assertEquals("topk", f.architecture());
        assertEquals(3, f.k());
        for (String row : Files.readAllLines(out.resolve("train_log.csv")).subList(1, 3))
            assertTrue(Double.parseDouble(row.split(",")[9]) <= 3, "L0 <= k: " + row);
        Result both = sae4j("train", "--acts", acts, "--k", 3, "--l1", 0.5, "--steps", 5, "--out", tmp.resolve("topk2"));
        assertEquals(1, both.code(), both.toString());
        assertTrue(both.err().contains("--k trains TopK SAEs, which have no L1 penalty"), both.toString());
        Result auxAlone = sae4j("train", "--acts", acts, "--auxk", 0.03125, "--steps", 5, "--out", tmp.resolve("topk3"));
        assertEquals(1, auxAlone.code(), auxAlone.toString());
        assertTrue(auxAlone.err().contains("--auxk is TopK training's loss on dead latents: give --k too"), auxAlone.toString());
    }

    /** --auxk adds AuxK's loss to TopK's: the log's loss exceeds its MSE once latents count as dead (--dead-window). */
    @Test
    void trainTopKWithAuxK() throws IOException {
        Path out = tmp.resolve("auxk");
        Result r = sae4j("train", "--acts", acts, "--ratios", "8", "--k", 2, "--auxk", 0.03125, "--dead-window", 128,
                "--steps", 40, "--batch", 128, "--log-every", 10, "--out", out);
        assertEquals(0, r.code(), r.toString());
        List<String> rows = Files.readAllLines(out.resolve("train_log.csv"));
        String last = rows.get(rows.size() - 1);
        String[] v = last.split(",");
        assertTrue(Double.parseDouble(v[6]) > Double.parseDouble(v[7]), "loss > mse with dead latents: " + last);
        assertTrue(Double.parseDouble(v[11]) > 0, "some latents dead in a window of one batch: " + last);
    }

    /** --snapshot-at writes the SAEs at those steps beside the final ones; a step off the log grid is refused by name. */
    @Test
    void trainWritesSnapshots() throws IOException {
        Path out = tmp.resolve("snap");
        Result r = sae4j("train", "--acts", acts, "--ratios", "2", "--steps", 30, "--batch", 64, "--log-every", 10,
                "--snapshot-at", "10,20,30", "--out", out);
        assertEquals(0, r.code(), r.toString());
        for (String step : new String[] {"10", "20"})
            assertTrue(Files.exists(out.resolve("at-step-" + step).resolve("ratio-2").resolve("cfg.json")), "snapshot at " + step);
        assertFalse(Files.exists(out.resolve("at-step-30")), "the final SAE is written once, in the run directory");
        Result off = sae4j("train", "--acts", acts, "--ratios", "2", "--steps", 30, "--log-every", 10, "--snapshot-at", 15,
                "--out", tmp.resolve("snap2"));
        assertEquals(1, off.code(), off.toString());
        assertTrue(off.err().contains("--snapshot-at: snapshot step 15 must be in 0..30 and a multiple of the log interval 10"),
                off.toString());
    }

    @Test
    void trainReportsBadData() throws IOException {
        Path missing = tmp.resolve("missing.npy");
        Result r = sae4j("train", "--acts", missing, "--steps", 5, "--out", tmp.resolve("o1"));
        assertEquals(1, r.code(), r.toString());
        assertOneLineError(r, missing.toString());

        Random rnd = new Random(1);
        float[] x = new float[300 * 5];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        x[123 * 5 + 2] = Float.NaN;
        Path nan = tmp.resolve("nan.npy");
        NpyWriter.write(nan, x, 300, 5, false);
        Result n = sae4j("train", "--acts", nan, "--ratios", "1", "--steps", 10, "--batch", 64, "--log-every", 5,
                "--out", tmp.resolve("o2"));
        assertEquals(1, n.code(), n.toString());
        assertOneLineError(n, nan.toString(), "row 123", "column 2");

        Result bad = sae4j("train", "--acts", acts, "--ratios", "1,-2", "--steps", 5, "--out", tmp.resolve("o3"));
        assertEquals(1, bad.code(), bad.toString());
        assertOneLineError(bad, "ratio");
    }

    /** Regenerated activations at the same path and size: neither "already trained" nor a resume. */
    @Test
    void trainNoticesDataRegeneratedAtTheSamePath() throws IOException {
        Random rnd = new Random(5);
        float[] x = new float[400 * 6];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        Path data = tmp.resolve("regen.npy"), out = tmp.resolve("regen-run");
        NpyWriter.write(data, x, 400, 6, false);
        Result first = sae4j("train", "--acts", data, "--ratios", "1", "--steps", 8, "--batch", 50, "--log-every", 4,
                "--checkpoint-every", 4, "--out", out);
        assertEquals(0, first.code(), first.toString());
        byte[] before = Files.readAllBytes(out.resolve("ratio-1").resolve(SaeLensFormat.WEIGHTS));
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian(); // another seed, same shape and size
        NpyWriter.write(data, x, 400, 6, false);
        Result again = sae4j("train", "--acts", data, "--ratios", "1", "--steps", 8, "--batch", 50, "--log-every", 4,
                "--checkpoint-every", 4, "--out", out);
        assertEquals(1, again.code(), again.toString());
        assertOneLineError(again, out.toString(), "trained on other data", "crc32c:");
        assertArrayEquals(before, Files.readAllBytes(out.resolve("ratio-1").resolve(SaeLensFormat.WEIGHTS)),
                "nothing overwritten");
    }

    /** A run that died after its last checkpoint says where it resumes from. */
    @Test
    void trainSaysWhereItResumes() throws IOException {
        Random rnd = new Random(9);
        float[] x = new float[400 * 6];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        Path data = tmp.resolve("resume.npy"), out = tmp.resolve("resume-run");
        NpyWriter.write(data, x, 400, 6, false);
        Object[] args = {"train", "--acts", data, "--ratios", "1", "--steps", 8, "--batch", 50, "--log-every", 4,
            "--checkpoint-every", 4, "--out", out};
        assertEquals(0, sae4j(args).code());
        // as if killed while writing the SAE directories, after the final checkpoint
        try (var files = Files.walk(out.resolve("ratio-1"))) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
        Result again = sae4j(args);
        assertEquals(0, again.code(), again.toString());
        assertTrue(again.allErr().contains("resuming " + out + " from step 8 (checkpoint written at "), again.toString());
        assertTrue(Files.isRegularFile(out.resolve("ratio-1").resolve(SaeLensFormat.CONFIG)), "the SAE is written");
    }

    @Test
    void trainRefusesActivationsThatDoNotVary() throws IOException {
        float[] x = new float[500 * 6];
        Arrays.fill(x, 1.5f);
        Path constant = tmp.resolve("constant.npy");
        NpyWriter.write(constant, x, 500, 6, false);
        Path out = tmp.resolve("const-run");
        Result r = sae4j("train", "--acts", constant, "--ratios", "1", "--steps", 10, "--batch", 64, "--out", out);
        assertEquals(1, r.code(), r.toString());
        assertOneLineError(r, constant.toString(), "do not vary", "FVU is undefined");
        assertFalse(Files.exists(out), "nothing written");
    }

    /** File-system faults: one printable line with the path and the reason. */
    @Test
    void fileErrorsNameThePathAndTheReason() throws IOException {
        Result dir = sae4j("train", "--acts", tmp, "--steps", 5, "--out", tmp.resolve("fs1"));
        assertEquals(1, dir.code(), dir.toString());
        assertOneLineError(dir, tmp.toString(), "is a directory");

        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        Result outFile = sae4j("train", "--acts", acts, "--steps", 5, "--batch", 64, "--out", file);
        assertEquals(1, outFile.code(), outFile.toString());
        assertOneLineError(outFile, "--out", file.toString(), "not a directory");

        byte[] npy = Files.readAllBytes(acts);
        for (int i = 20; i < 40; i++) npy[i] = (byte) (i - 19); // control characters inside the header
        Path corrupt = Files.write(tmp.resolve("corrupt.npy"), npy);
        Result bad = sae4j("train", "--acts", corrupt, "--steps", 5, "--out", tmp.resolve("fs2"));
        assertEquals(1, bad.code(), bad.toString());
        assertOneLineError(bad, corrupt.toString(), "\\x01");
        assertTrue(bad.err().chars().noneMatch(c -> c < 0x20 && c != '\n' && c != '\r'), "no control characters: " + bad);

        Path badJson = Files.writeString(tmp.resolve("bad-config.json"), "{\"steps\": 5,,}");
        Result json = sae4j("study", "--config", badJson, "--out", tmp.resolve("fs3"));
        assertEquals(1, json.code(), json.toString());
        assertOneLineError(json, badJson.toString(), "line 1 column");
        assertFalse(json.err().toLowerCase(java.util.Locale.ROOT).contains("gson"), "no library advice: " + json);

        Path missingDir = tmp.resolve("no-such-dir").resolve("c.json");
        Result noDir = sae4j("compare", run.resolve("ratio-1"), run.resolve("ratio-2"), "--json", missingDir);
        assertEquals(1, noDir.code(), noDir.toString());
        assertOneLineError(noDir, missingDir + ": no such file or directory");
        assertFalse(noDir.err().contains(".tmp"), "the error names the file asked for: " + noDir);
        Path busy = Files.createDirectories(tmp.resolve("busy.json"));
        Files.writeString(busy.resolve("inside"), "x");
        Result toDir = sae4j("compare", run.resolve("ratio-1"), run.resolve("ratio-2"), "--json", busy);
        assertEquals(1, toDir.code(), toDir.toString());
        assertOneLineError(toDir, busy + ": is a directory");
        assertFalse(Files.exists(tmp.resolve("busy.json.tmp")), "no temporary file left behind");
        Path kept = Files.writeString(tmp.resolve("kept.json"), "{}\n");
        Files.setPosixFilePermissions(kept, java.nio.file.attribute.PosixFilePermissions.fromString("r--r--r--"));
        Result readOnly = sae4j("compare", run.resolve("ratio-1"), run.resolve("ratio-2"), "--json", kept);
        assertEquals(1, readOnly.code(), readOnly.toString());
        assertOneLineError(readOnly, kept + ": is read-only, so compare leaves it as it is");
        assertEquals("{}\n", Files.readString(kept), "a read-only result file is not replaced");

        assertEquals("p: no such file or directory",
                Main.fileSystemMessage(new java.nio.file.NoSuchFileException("p")));
        assertEquals("q: permission denied", Main.fileSystemMessage(new java.nio.file.AccessDeniedException("q")));
        assertEquals("r: Read-only file system",
                Main.fileSystemMessage(new java.nio.file.FileSystemException("r", null, "Read-only file system")));
        assertTrue(Main.printable("x".repeat(1000)).endsWith("..."), "long messages are cut");
    }

    @Test
    void synthNamesTheOptionOutOfRange() {
        String[][] cases = {
            {"--d", "0", ">= 1"}, {"--features", "-3", ">= 1"}, {"--mean-active", "99", "(0, --features = 8]"},
            {"--decay", "1.5", "(0, 1]"}, {"--correlation", "1", "[0, 1)"}, {"--groups", "9", "1..--features = 8"},
            {"--noise", "NaN", ">= 0"}, {"--tokens", "0", ">= 1"},
        };
        for (String[] c : cases) {
            Path out = tmp.resolve("synth-" + c[0].substring(2) + "-" + c[1]);
            List<String> args = new java.util.ArrayList<>(List.of("synth", "--d", "4", "--features", "8", "--tokens", "10",
                    "--out", out.toString()));
            int at = args.indexOf(c[0]);
            if (at >= 0) args.set(at + 1, c[1]);
            else args.addAll(List.of(c[0], c[1]));
            Result r = sae4j(args.toArray());
            assertEquals(1, r.code(), String.join(" ", c) + ": " + r);
            assertOneLineError(r, c[0], c[2], c[1]);
            assertFalse(Files.exists(out), "nothing written for " + String.join(" ", c));
        }
    }

    /** Each option out of range: one line naming the option (and the limit), and nothing written. */
    @Test
    void trainNamesTheOptionOutOfRange() {
        String[][] cases = {
            {"--ratios", "134217730", "--ratios", "d_sae 2147483680", "over the limit of 134217727"},
            {"--ratios", "Infinity", "--ratios", "positive number", "Infinity"},
            {"--ratios", "NaN", "--ratios", "positive number", "NaN"},
            {"--ratios", "0.001", "--ratios", "d_sae 0", "least ratio"},
            {"--steps", "-5", "--steps", ">= 1", "-5"},
            {"--lr", "-1", "--lr", "positive", "-1"},
            {"--l1", "NaN", "--l1", ">= 0", "NaN"},
            {"--log-every", "0", "--log-every", ">= 1", "0"},
            {"--checkpoint-every", "-1", "--checkpoint-every", ">= 0", "-1"},
            {"--batch", "100000000", "--batch", "at most 16777215 here", "100000000"},
        };
        for (String[] c : cases) {
            Path out = tmp.resolve("range-" + c[0].substring(2) + "-" + c[1]);
            Result r = c[0].equals("--steps") ? sae4j("train", "--acts", acts, "--batch", 64, "--out", out, c[0], c[1])
                    : c[0].equals("--batch") ? sae4j("train", "--acts", acts, "--steps", 5, "--out", out, c[0], c[1])
                    : sae4j("train", "--acts", acts, "--steps", 5, "--batch", 64, "--out", out, c[0], c[1]);
            assertEquals(1, r.code(), String.join(" ", c) + ": " + r);
            assertOneLineError(r, c[2], c[3], c[4]);
            assertFalse(Files.exists(out), "nothing written for " + String.join(" ", c));
        }
    }

    // ---------------------------------------------------------------- compare

    private static final Set<String> DECODER_KEYS = Set.of("mmcs_ab", "mmcs_ba", "hungarian_mean", "shared_frac", "threshold",
            "pw_mcc", "shared_frac_encdec", "hungarian_certified", "hungarian_gap", "threshold_curve");
    private static final Set<String> ALL_KEYS = union(DECODER_KEYS, Set.of("mmcs_ab_live", "mmcs_ba_live", "corr_ab", "corr_ba",
            "dead_a", "dead_b", "l0_a", "l0_b", "fvu_a", "fvu_b", "tokens"));

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new java.util.HashSet<>(a);
        u.addAll(b);
        return u;
    }

    @Test
    void compareWithActivationsWritesExactlyTheKeys() throws IOException {
        assertEquals(0, firstTrain.code(), "train: " + firstTrain);
        Path f = tmp.resolve("cmp.json");
        Result r = sae4j("compare", run.resolve("ratio-1"), run.resolve("ratio-2"), "--acts", acts, "--tokens", 3000,
                "--json", f);
        assertEquals(0, r.code(), r.toString());
        JsonObject j = json(f);
        assertEquals(ALL_KEYS, j.keySet(), "JSON keys with --acts");
        for (String k : List.of("mmcs_ab", "mmcs_ba", "mmcs_ab_live", "mmcs_ba_live", "hungarian_mean", "pw_mcc", "corr_ab",
                "corr_ba")) {
            double v = j.get(k).getAsDouble();
            assertTrue(v >= -1 - 1e-6 && v <= 1 + 1e-6, k + " is a cosine / correlation: " + v);
        }
        assertTrue(j.get("pw_mcc").getAsDouble() >= j.get("hungarian_mean").getAsDouble() - 1e-6,
                "the |cos| optimum is at least the signed one");
        assertTrue(j.get("hungarian_certified").getAsBoolean(), "matching certified");
        assertEquals(0, j.get("hungarian_gap").getAsDouble(), 0);
        JsonObject curve = j.getAsJsonObject("threshold_curve");
        assertEquals(19, curve.getAsJsonArray("thresholds").size());
        double before = 1;
        for (int i = 0; i < 19; i++) { // fractions fall as the threshold rises; enc+dec never above decoder alone
            double dec = curve.getAsJsonArray("decoder").get(i).getAsDouble();
            double both = curve.getAsJsonArray("shared_encdec").get(i).getAsDouble();
            assertTrue(dec <= before + 1e-12 && both <= dec + 1e-12, "curve at " + i + ": " + dec + ", " + both);
            before = dec;
        }
        double shared = j.get("shared_frac").getAsDouble();
        assertTrue(shared >= 0 && shared <= 1, "shared_frac in [0, 1]: " + shared);
        assertEquals(0.7, j.get("threshold").getAsDouble(), 0, "default threshold");
        assertTrue(j.get("dead_a").getAsInt() >= 0 && j.get("dead_a").getAsInt() <= D, "dead_a in 0..16");
        assertTrue(j.get("dead_b").getAsInt() >= 0 && j.get("dead_b").getAsInt() <= 2 * D, "dead_b in 0..32");
        assertTrue(j.get("l0_a").getAsDouble() >= 0 && j.get("l0_b").getAsDouble() >= 0, "L0 >= 0");
        assertTrue(j.get("fvu_a").getAsDouble() > 0 && j.get("fvu_b").getAsDouble() > 0, "FVU > 0");
        assertTrue(r.allOut().contains("mmcs_ab"), "the table is printed too: " + r);
        assertEquals(3000, j.get("tokens").getAsInt(), "tokens used");

        Path all = tmp.resolve("all.json");
        Result ra = sae4j("compare", run.resolve("ratio-1"), run.resolve("ratio-2"), "--acts", acts, "--tokens", "all", "--json", all);
        assertEquals(0, ra.code(), ra.toString());
        assertTrue(json(all).get("tokens").getAsLong() > 3000, "'all' uses every row of --acts: " + json(all).get("tokens"));
    }

    /**
     * The same SAE written as a sparsify hookpoint directory (encoder.weight = W_enc^T; TopK with
     * k = d_sae is ReLU): info names the format, and compare across the two formats finds them equal.
     */
    @Test
    void compareAcrossFormats() throws IOException {
        assertEquals(0, firstTrain.code(), "train: " + firstTrain);
        SaeFile f = SaeLensFormat.read(run.resolve("ratio-2"));
        int d = f.dIn(), m = f.dSae();
        float[] encoderWeight = new float[m * d];
        for (int k = 0; k < d; k++)
            for (int i = 0; i < m; i++) encoderWeight[i * d + k] = f.wEnc()[k * m + i];
        Path sparsify = Files.createDirectories(tmp.resolve("sparsify-run").resolve("layers.0"));
        java.util.Map<String, io.sae4j.io.Safetensors.Tensor> t = new java.util.LinkedHashMap<>();
        t.put("encoder.weight", io.sae4j.io.Safetensors.Tensor.of(encoderWeight, m, d));
        t.put("encoder.bias", io.sae4j.io.Safetensors.Tensor.of(f.bEnc(), m));
        t.put("W_dec", io.sae4j.io.Safetensors.Tensor.of(f.wDec(), m, d));
        t.put("b_dec", io.sae4j.io.Safetensors.Tensor.of(f.bDec(), d));
        io.sae4j.io.Safetensors.write(sparsify.resolve("sae.safetensors"), t);
        Files.writeString(sparsify.resolve("cfg.json"), "{\"activation\": \"topk\", \"num_latents\": " + m + ", \"k\": " + m
                + ", \"expansion_factor\": 2, \"d_in\": " + d + "}");

        Result info = sae4j("info", sparsify);
        assertEquals(0, info.code(), info.toString());
        assertTrue(info.allOut().contains("sparsify SAE") && info.allOut().contains("runs forward in sae4j: yes"), info.toString());
        Path out = tmp.resolve("cross.json");
        Result r = sae4j("compare", run.resolve("ratio-2"), sparsify, "--acts", acts, "--tokens", 2000, "--json", out);
        assertEquals(0, r.code(), r.toString());
        JsonObject j = json(out);
        assertEquals(1.0, j.get("mmcs_ab").getAsDouble(), 1e-5, "one SAE in two formats: MMCS 1");
        assertEquals(1.0, j.get("corr_ab").getAsDouble(), 1e-4, "and the same activations");
        assertEquals(j.get("l0_a").getAsDouble(), j.get("l0_b").getAsDouble(), 1e-9, "and the same L0");
        assertEquals(j.get("fvu_a").getAsDouble(), j.get("fvu_b").getAsDouble(), 1e-6, "and the same FVU");
    }

    @Test
    void compareWithoutActivationsWritesTheDecoderKeys() throws IOException {
        assertEquals(0, firstTrain.code(), "train: " + firstTrain);
        Path f = tmp.resolve("cmp.json");
        Result r = sae4j("compare", run.resolve("ratio-1"), run.resolve("ratio-2"), "--threshold", 0.5, "--json", f);
        assertEquals(0, r.code(), r.toString());
        JsonObject j = json(f);
        assertEquals(DECODER_KEYS, j.keySet(), "JSON keys without --acts");
        assertEquals(0.5, j.get("threshold").getAsDouble(), 0, "--threshold recorded");

        Path self = tmp.resolve("self.json");
        assertEquals(0, sae4j("compare", run.resolve("ratio-2"), run.resolve("ratio-2"), "--json", self).code());
        JsonObject s = json(self);
        assertEquals(1.0, s.get("mmcs_ab").getAsDouble(), 1e-5, "an SAE against itself: MMCS 1");
        assertEquals(1.0, s.get("hungarian_mean").getAsDouble(), 1e-5, "an SAE against itself: Hungarian mean 1");
        assertEquals(1.0, s.get("shared_frac").getAsDouble(), 0, "an SAE against itself: all shared");
        assertEquals(1.0, s.get("pw_mcc").getAsDouble(), 1e-5, "an SAE against itself: PW-MCC 1");
        assertEquals(1.0, s.get("shared_frac_encdec").getAsDouble(), 0, "an SAE against itself: encoders shared too");
        assertNotEquals(1.0, j.get("mmcs_ab").getAsDouble(), "ratio 1 vs 2 is not the identity");
    }

    @Test
    void compareThreeSaesGivesEveryPairAndTheLatentsMatchedInAll() throws IOException {
        assertEquals(0, firstTrain.code(), "train: " + firstTrain);
        Path f = tmp.resolve("three.json");
        Result r = sae4j("compare", run.resolve("ratio-1"), run.resolve("ratio-2"), run.resolve("ratio-1"), "--json", f);
        assertEquals(0, r.code(), r.toString());
        JsonObject j = json(f);
        assertEquals(Set.of("saes", "threshold", "matched_in_all_frac", "pairs"), j.keySet());
        assertEquals(3, j.getAsJsonArray("pairs").size(), "pairs AB, AC, BC");
        for (var p : j.getAsJsonArray("pairs")) {
            Set<String> keys = new java.util.HashSet<>(DECODER_KEYS);
            keys.addAll(Set.of("a", "b"));
            assertEquals(keys, p.getAsJsonObject().keySet());
        }
        JsonObject ac = j.getAsJsonArray("pairs").get(1).getAsJsonObject(); // ratio-1 against itself
        assertEquals(1.0, ac.get("shared_frac").getAsDouble(), 0);
        JsonObject ab = j.getAsJsonArray("pairs").get(0).getAsJsonObject();
        // matched in all = matched in B (C is A itself), so it equals the pair AB's shared fraction
        assertEquals(ab.get("shared_frac").getAsDouble(), j.get("matched_in_all_frac").getAsDouble(), 1e-12);
        assertTrue(r.allOut().contains("every other SAE"), r.toString());
    }

    @Test
    void compareReportsBadInputs() throws IOException {
        assertEquals(0, firstTrain.code(), "train: " + firstTrain);
        Path nowhere = tmp.resolve("nowhere");
        Result r = sae4j("compare", run.resolve("ratio-1"), nowhere);
        assertEquals(1, r.code(), r.toString());
        assertOneLineError(r, nowhere.toString());

        Path wide = tmp.resolve("wide.npy");
        NpyWriter.write(wide, new float[10 * (D + 1)], 10, D + 1, false);
        Result w = sae4j("compare", run.resolve("ratio-1"), run.resolve("ratio-2"), "--acts", wide);
        assertEquals(1, w.code(), w.toString());
        assertOneLineError(w, wide.toString(), "width");

        Result t = sae4j("compare", run.resolve("ratio-1"), run.resolve("ratio-2"), "--threshold", 1.5);
        assertEquals(1, t.code(), t.toString());
        assertOneLineError(t, "--threshold");

        Result k = sae4j("compare", run.resolve("ratio-1"), run.resolve("ratio-2"), "--acts", acts, "--tokens", "many");
        assertEquals(1, k.code(), k.toString());
        assertOneLineError(k, "--tokens", "'all'");

        Path broken = Files.createDirectories(tmp.resolve("broken"));
        Files.copy(run.resolve("ratio-1").resolve(SaeLensFormat.WEIGHTS), broken.resolve(SaeLensFormat.WEIGHTS));
        Files.writeString(broken.resolve(SaeLensFormat.CONFIG), "{\"d_in\": 16,");
        Result b = sae4j("compare", run.resolve("ratio-1"), broken);
        assertEquals(1, b.code(), b.toString());
        assertOneLineError(b, broken.resolve(SaeLensFormat.CONFIG).toString(), "JSON");
    }

    // ---------------------------------------------------------------- info

    @Test
    void infoDescribesFiles() {
        assertEquals(0, firstTrain.code(), "train: " + firstTrain);
        Result n = sae4j("info", acts);
        assertEquals(0, n.code(), n.toString());
        assertTrue(n.allOut().contains("[" + TOKENS + ", " + D + "]") && n.allOut().contains("<f4"), "npy shape and dtype: " + n);

        Result s = sae4j("info", run.resolve("ratio-2").resolve(SaeLensFormat.WEIGHTS));
        assertEquals(0, s.code(), s.toString());
        assertTrue(s.allOut().contains("W_enc") && s.allOut().contains("[" + D + ", " + 2 * D + "]"),
                "safetensors tensors and shapes: " + s);

        Result d = sae4j("info", run.resolve("ratio-2"));
        assertEquals(0, d.code(), d.toString());
        assertTrue(d.allOut().contains("d_sae " + 2 * D) && d.allOut().contains("relu"), "SAE directory summary: " + d);
    }

    @Test
    void infoReportsBadInputs() throws IOException {
        Path missing = tmp.resolve("missing.npy");
        Result m = sae4j("info", missing);
        assertEquals(1, m.code(), m.toString());
        assertOneLineError(m, missing.toString(), "no such file");

        byte[] bytes = Files.readAllBytes(acts);
        Path truncated = Files.write(tmp.resolve("truncated.npy"), Arrays.copyOf(bytes, bytes.length / 2));
        Result t = sae4j("info", truncated);
        assertEquals(1, t.code(), t.toString());
        assertOneLineError(t, truncated.toString(), "truncated");

        Path garbage = Files.writeString(tmp.resolve("garbage.safetensors"), "this is not safetensors");
        Result g = sae4j("info", garbage);
        assertEquals(1, g.code(), g.toString());
        assertOneLineError(g, garbage.toString());

        Path txt = Files.writeString(tmp.resolve("notes.txt"), "hello");
        Result x = sae4j("info", txt);
        assertEquals(1, x.code(), x.toString());
        assertOneLineError(x, txt.toString());

        Path empty = Files.createDirectories(tmp.resolve("emptydir"));
        Result e = sae4j("info", empty);
        assertEquals(1, e.code(), e.toString());
        assertOneLineError(e, "cfg.json");
    }

    // ---------------------------------------------------------------- usage

    @Test
    void wrongOptionIsAUsageError() {
        // with the required arguments given, so that picocli reports the unknown option itself
        // (given alone, it reports the missing required options first)
        List<List<Object>> commands = List.of(
                List.of("synth", "--d", 4, "--features", 5, "--tokens", 10, "--out", tmp.resolve("s")),
                List.of("train", "--acts", acts, "--out", tmp.resolve("t")),
                List.of("compare", run.resolve("ratio-1"), run.resolve("ratio-2")),
                List.of("info", acts));
        for (List<Object> args : commands) {
            String cmd = (String) args.get(0);
            List<Object> withBad = new java.util.ArrayList<>(args);
            withBad.add("--no-such-option");
            Result r = sae4j(withBad.toArray());
            assertEquals(2, r.code(), cmd + ": an unknown option exits 2: " + r);
            String first = r.err().lines().findFirst().orElse("");
            assertTrue(first.contains("--no-such-option"), cmd + ": the first error line names the option: " + r);
        }
        Result r = sae4j("frobnicate");
        assertNotEquals(0, r.code(), "an unknown command fails: " + r);
        Result t = sae4j("train", "--acts", acts, "--out", tmp.resolve("o"), "--steps", "many");
        assertEquals(2, t.code(), "a non-numeric --steps is a usage error: " + t);
        assertTrue(t.err().contains("--steps"), "names the option: " + t);
    }

    @Test
    void helpWorksForEveryCommand() {
        Result top = sae4j("--help");
        assertEquals(0, top.code(), top.toString());
        for (String cmd : List.of("synth", "train", "compare", "info"))
            assertTrue(top.allOut().contains(cmd), "top-level help lists " + cmd + ": " + top);
        for (String cmd : List.of("synth", "train", "compare", "info")) {
            Result r = sae4j(cmd, "--help");
            assertEquals(0, r.code(), cmd + " --help: " + r);
            assertTrue(r.allOut().contains("Usage:") && r.allOut().contains(cmd), cmd + " --help prints usage: " + r);
            assertTrue(r.allErr().isBlank(), cmd + " --help prints nothing on stderr: " + r);
            Result h = sae4j("help", cmd);
            assertEquals(0, h.code(), "help " + cmd + ": " + h);
            assertTrue(h.allOut().contains("Usage:"), "help " + cmd + " prints usage: " + h);
        }
        Result v = sae4j("--version");
        assertEquals(0, v.code(), v.toString());
        assertTrue(v.allOut().contains("sae4j"), "version: " + v);
        Result none = sae4j();
        assertEquals(0, none.code(), "no arguments prints usage: " + none);
        assertTrue(none.allOut().contains("Usage:"), "no arguments prints usage: " + none);
    }

    @Test
    void trainingAgainWithOtherArgumentsIsRefused() {
        assertEquals(0, firstTrain.code(), "first train: " + firstTrain);
        Result r = sae4j("train", "--acts", acts, "--ratios", "1,2", "--steps", 61, "--batch", 256, "--log-every", 20,
                "--checkpoint-every", 20, "--out", run);
        assertEquals(1, r.code(), r.toString());
        assertOneLineError(r, "different run", run.toString());
    }

    // ---------------------------------------------------------------- devices

    @Test
    void envListsEveryBackendAndWhatAutoPicks() {
        Result r = sae4j("env");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.allOut().contains("cpu: available"), "env shows the CPU backend: " + r);
        assertTrue(r.allOut().contains("cuda: "), "env shows the CUDA backend, available or with its reason: " + r);
        assertTrue(r.allOut().contains("--device auto picks: "), r.toString());
    }

    @Test
    void aDeviceThatCannotRunHereIsOneLineAndAutoFallsBack() {
        io.sae4j.backend.BackendProvider.Availability cuda = io.sae4j.backend.Backends.provider("cuda").probe();
        org.junit.jupiter.api.Assumptions.assumeFalse(cuda.available(), "a CUDA device is present here");
        Result r = sae4j("compare", "--device", "cuda", run.resolve("ratio-1"), run.resolve("ratio-2"));
        assertEquals(1, r.code(), r.toString());
        assertOneLineError(r, "device cuda: not available", cuda.reason());
        Result auto = sae4j("compare", "--device", "auto", run.resolve("ratio-1"), run.resolve("ratio-2"));
        assertEquals(0, auto.code(), auto.toString());
        assertTrue(auto.stderr().contains("cuda not available: " + cuda.reason()), auto.toString());
        assertTrue(auto.stderr().contains("backend cpu"), auto.toString());
        Result bad = sae4j("compare", "--device", "tpu", run.resolve("ratio-1"), run.resolve("ratio-2"));
        assertEquals(1, bad.code(), bad.toString());
        assertOneLineError(bad, "no backend named 'tpu'; expected auto, cuda or cpu");
    }

    @Test
    void synthFileSizeOverflowIsRefused() {
        assertOneLineError(sae4j("synth", "--d", 4, "--features", 8, "--tokens", Long.MAX_VALUE, "--out", tmp.resolve("big")),
                "--tokens x --d", "overflows");
        assertTrue(!Files.exists(tmp.resolve("big")), "nothing written");
    }

    /** synth stopped by TERM (as Ctrl-C or a scheduler would) left acts.npy.tmp behind. */
    @Test
    void interruptedSynthLeavesNoTemporaryFile() throws Exception {
        Path dir = tmp.resolve("interrupted"), partial = dir.resolve("acts.npy.tmp");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "synth", "--d", "64", "--features", "128",
                "--tokens", "1000000000", "--out", dir.toString()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("synth.log").toFile()).start();
        try {
            for (int wait = 0; wait < 600 && !Files.exists(partial); wait++) Thread.sleep(50);
            assertTrue(Files.exists(partial), "synth started writing");
        } finally {
            p.destroy(); // SIGTERM
            p.waitFor();
        }
        assertTrue(!Files.exists(partial) && !Files.exists(dir.resolve("acts.npy")), "no partial or unfinished file; synth said: "
                + Files.readString(tmp.resolve("synth.log")));
    }

    @Test
    void targetL0AboveTheLatentsIsRefused() {
        Result r = sae4j("train", "--acts", acts, "--ratios", "1", "--target-l0", 17, "--steps", 5, "--out", tmp.resolve("t"));
        assertOneLineError(r, "--target-l0 17.0 exceeds the " + D + " latents of ratio 1.0");
    }

    @Test
    void lrDecayShapesTheLoggedLearningRate() throws IOException {
        Path out = tmp.resolve("decay");
        Result r = sae4j("train", "--acts", acts, "--ratios", "1", "--steps", 20, "--batch", 64, "--log-every", 5,
                "--lr", "0.01", "--lr-decay", "0.5", "--out", out);
        assertEquals(0, r.code(), r.toString());
        Map<Long, Double> lr = new TreeMap<>();
        List<String> log = Files.readAllLines(out.resolve("train_log.csv"));
        for (String line : log.subList(1, log.size())) lr.put(Long.parseLong(line.split(",")[0]), Double.parseDouble(line.split(",")[4]));
        // warmup is 5% (1 step); constant to step 10, then linear to 1/11 of the rate at step 20
        assertEquals(0.01, lr.get(10L), 1e-9, log.toString());
        assertEquals(0.01 * 6 / 11, lr.get(15L), 1e-7, log.toString());
        assertEquals(0.01 / 11, lr.get(20L), 1e-7, log.toString());
        assertOneLineError(sae4j("train", "--acts", acts, "--lr-decay", "1.5", "--steps", 5, "--out", tmp.resolve("d2")),
                "--lr-decay must be a fraction of the steps in [0, 1], got 1.5");
    }

    /** Out of memory is one line too (it was a stack trace: an Error passes picocli's exception handler). */
    @Test
    void outOfMemoryIsOneLine() {
        Result r = sae4j("synth", "--d", 4096, "--features", 524_287, "--tokens", 10, "--out", tmp.resolve("oom.npy"));
        assertOneLineError(r, "out of memory");
    }
}
