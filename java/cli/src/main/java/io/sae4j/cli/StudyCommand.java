package io.sae4j.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import io.sae4j.backend.Backend;
import io.sae4j.io.SaeLensFormat;
import io.sae4j.report.Report;
import io.sae4j.study.Study;
import io.sae4j.study.StudyConfig;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The main job: harvest, train, compare and report (see {@link Study}). */
@Command(name = "study", mixinStandardHelpOptions = true,
        description = {"Run the SAE universality study on bundled transformers and WordNet text; write report.html.",
                "Or on your own BERT-family ONNX model (--onnx, --tokenizer) and/or your own texts (--text)."})
final class StudyCommand implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    DeviceOption device = new DeviceOption();

    @Option(names = "--config", description = "Study config JSON; keys (missing ones take the defaults): model, site, layer, "
            + "layers, ratios, ratio, seeds, otherModels, trainTokens, heldoutTokens, steps, batch, l1, lr, lrDecay, resampleEvery, matchedL0, float16, "
            + "onnx, tokenizer, tensor, text, textField (paths relative to the file's folder).")
    Path config;

    @Option(names = "--onnx", paramLabel = "MODEL.onnx", description = "Your own BERT-family ONNX export as the main model (config "
            + "key onnx; then otherModels must be []); needs --tokenizer.")
    Path onnx;

    @Option(names = "--tokenizer", paramLabel = "tokenizer.json", description = "The HuggingFace tokenizer.json of --onnx (key tokenizer).")
    Path tokenizer;

    @Option(names = "--tensor", paramLabel = "NAME_OR_TEMPLATE", description = "With --onnx: the tensor to harvest, as for harvest "
            + "(key tensor); default the BERT export's names for the site.")
    String tensor;

    @Option(names = "--text", paramLabel = "FILE", description = "Your own texts instead of WordNet (key text): one document a line, "
            + "or .jsonl; split into halves A and B by alternate documents. Europarl stays the shifted corpus.")
    Path text;

    @Option(names = "--text-field", paramLabel = "FIELD", description = "With a .jsonl --text: the string field holding the document "
            + "(key textField; default text).")
    String textField;

    @Option(names = "--full", description = "Start from the full preset (more tokens, steps and layers; lambda 2.5): hours.")
    boolean full;

    @Option(names = "--out", description = "Output directory (default runs/study-<date>).")
    Path out;

    @Override
    public Integer call() throws Exception {
        StudyConfig c = StudyConfig.read(config, full, ownFiles());
        Path dir = out != null ? out : Path.of("runs", "study-" + LocalDate.now());
        System.err.println("sae4j study -> " + dir + "\n" + c.toJson());
        JsonObject results;
        try (Backend be = device.open()) {
            Study.Progress p = new Study.Progress() {
                Progress bar;

                @Override
                public void stage(String label, long total, String unit) {
                    bar = new Progress(label, total, unit);
                }

                @Override
                public void update(long done) {
                    if (bar != null) bar.update(done);
                }

                @Override
                public void note(String text) {
                    if (bar != null) bar.note(text);
                }

                @Override
                public void end() {
                    if (bar != null) bar.close();
                    bar = null;
                }
            };
            try {
                results = new Study(c, dir, be, p, msg -> System.err.println("sae4j study: " + msg)).run();
            } catch (Exception | Error e) {
                p.end(); // the error goes on a line of its own, not after a half-drawn bar
                throw e;
            }
        }
        SaeLensFormat.writeAtomically(dir.resolve("results.json"),
                new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(results) + "\n");
        Report.write(results, dir);
        System.out.printf(Locale.ROOT, "wrote %s (report.html, results.json, csv/, figures/) in %.0f s%n", dir,
                results.get("wall_time_s").getAsDouble());
        return 0;
    }

    /** The options that override the config's keys for your own model and texts. */
    private JsonObject ownFiles() {
        JsonObject o = new JsonObject();
        if (onnx != null) o.addProperty("onnx", onnx.toString());
        if (tokenizer != null) o.addProperty("tokenizer", tokenizer.toString());
        if (tensor != null) o.addProperty("tensor", tensor);
        if (text != null) o.addProperty("text", text.toString());
        if (textField != null) o.addProperty("textField", textField);
        return o;
    }
}
