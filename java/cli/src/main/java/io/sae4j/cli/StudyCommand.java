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
        description = "Run the SAE universality study on bundled transformers and WordNet text; write report.html.")
final class StudyCommand implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    DeviceOption device = new DeviceOption();

    @Option(names = "--config", description = "Study config JSON; keys (missing ones take the defaults): model, site, layer, "
            + "layers, ratios, ratio, seeds, otherModels, trainTokens, heldoutTokens, steps, batch, l1, lr, float16.")
    Path config;

    @Option(names = "--full", description = "Start from the full preset (more tokens, steps, layers, seeds): hours.")
    boolean full;

    @Option(names = "--out", description = "Output directory (default runs/study-<date>).")
    Path out;

    @Override
    public Integer call() throws Exception {
        StudyConfig c = config != null ? StudyConfig.read(config, full)
                : (full ? StudyConfig.full() : StudyConfig.defaults()).validated("defaults");
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
}
